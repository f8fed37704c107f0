package dissectors

import "errors"

// Parse errors. They are sentinels so the per-packet path never builds one.
var (
	// ErrShort: the payload ends inside a header the protocol needs.
	ErrShort = errors.New("dissectors: payload ends inside a message header")
	// ErrMalformed: the payload does not follow the protocol.
	ErrMalformed = errors.New("dissectors: malformed message")
)
