package tap

import "errors"

// Decode errors. Each is a drop reason; DropReason maps them to a label.
var (
	ErrShortFrame     = errors.New("tap: frame shorter than its link header")
	ErrUnknownLink    = errors.New("tap: unsupported link type")
	ErrNotIP          = errors.New("tap: not an IP packet")
	ErrShortIP        = errors.New("tap: truncated IP header")
	ErrBadIP          = errors.New("tap: malformed IP header")
	ErrShortL4        = errors.New("tap: truncated transport header")
	ErrTooManyHeaders = errors.New("tap: too many nested headers")
)

// Drop reasons as exported in metrics, indexed by Reason.
const (
	ReasonShortFrame = iota
	ReasonUnknownLink
	ReasonNotIP
	ReasonShortIP
	ReasonBadIP
	ReasonShortL4
	ReasonTooManyHeaders
	ReasonOther
	NumReasons
)

// ReasonNames are the metric label values for each reason.
var ReasonNames = [NumReasons]string{
	"short_frame", "unknown_link", "not_ip", "short_ip", "bad_ip", "short_l4", "too_many_headers", "other",
}

// Reason maps a Decode error to its index in ReasonNames.
func Reason(err error) int {
	switch err {
	case ErrShortFrame:
		return ReasonShortFrame
	case ErrUnknownLink:
		return ReasonUnknownLink
	case ErrNotIP:
		return ReasonNotIP
	case ErrShortIP:
		return ReasonShortIP
	case ErrBadIP:
		return ReasonBadIP
	case ErrShortL4:
		return ReasonShortL4
	case ErrTooManyHeaders:
		return ReasonTooManyHeaders
	}
	return ReasonOther
}
