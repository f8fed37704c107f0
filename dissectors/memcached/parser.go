package memcached

import (
	"github.com/tapflow/tapflow/dissectors"
)

// Dissector parses memcached's text and binary protocols. It is stateless.
type Dissector struct{}

// New returns a memcached dissector.
func New() *Dissector { return &Dissector{} }

// Transports implements the engine's transport filter: Check accepts TCP payloads only.
func (*Dissector) Transports() dissectors.Transport { return dissectors.TCP }

// FirstByte implements the engine's first-byte filter: Check needs a binary
// magic (0x80, 0x81) or a text line, every byte of which is printable
// (printable allows bytes above 0x7f).
func (*Dissector) FirstByte(b byte) bool { return b >= 0x20 && b != 0x7f }

// Protocol returns dissectors.ProtoMemcached.
func (*Dissector) Protocol() dissectors.Protocol { return dissectors.ProtoMemcached }

// defaultPort is memcached's registered port, used only as a tie-breaker
// for commands and replies that other text protocols share.
const defaultPort = 11211

// Check reports whether payload starts a memcached request or response.
// Binary packets are recognised by their 24-byte header (magic, known
// opcode, consistent lengths). Text is recognised by commands and replies
// found only in memcached (storage commands with their numeric arguments,
// gat, VALUE/STAT lines, STORED, NOT_STORED…); the commands and replies
// other text protocols share (get, delete, END, OK…) count only on port
// 11211.
func (*Dissector) Check(p []byte, m *dissectors.Meta) bool {
	if m.Proto != 6 || len(p) == 0 {
		return false
	}
	switch p[0] {
	case magicRequest, magicResponse:
		return checkBinary(p)
	}
	onPort := m.ServerPort == defaultPort
	if m.ToServer {
		return checkTextRequest(p, onPort)
	}
	return checkTextResponse(p, onPort)
}

// Parse appends a record per request or response that starts in payload.
func (*Dissector) Parse(dst []dissectors.Record, p []byte, m *dissectors.Meta) ([]dissectors.Record, error) {
	if len(p) == 0 {
		return dst, nil
	}
	if p[0] == magicRequest || p[0] == magicResponse {
		return parseBinary(dst, p, m)
	}
	if m.ToServer {
		return parseTextRequests(dst, p, m)
	}
	return parseTextResponses(dst, p, m), nil
}

// msgLen is the length to report for a message that runs from off to the
// end of the captured payload: the wire length when the capture cut it.
func msgLen(p []byte, off int, m *dissectors.Meta) uint32 {
	if int(m.PayloadLen) > len(p) {
		return m.PayloadLen - uint32(off)
	}
	return uint32(len(p) - off)
}
