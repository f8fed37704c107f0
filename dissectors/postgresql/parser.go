package postgresql

import (
	"github.com/tapflow/tapflow/dissectors"
)

// Dissector parses the PostgreSQL frontend/backend protocol version 3. It
// is stateless: one value serves every flow of a worker.
type Dissector struct{}

// New returns the PostgreSQL dissector.
func New() *Dissector { return &Dissector{} }

// Transports implements the engine's transport filter: Check accepts TCP payloads only.
func (*Dissector) Transports() dissectors.Transport { return dissectors.TCP }

// FirstByte implements the engine's first-byte filter: Check needs a
// startup-phase message (length first, below 16 MiB) or a frontend message
// type.
func (*Dissector) FirstByte(b byte) bool { return b == 0 || frontendNames[b] != "" }

// Protocol returns dissectors.ProtoPostgreSQL.
func (*Dissector) Protocol() dissectors.Protocol { return dissectors.ProtoPostgreSQL }

// Message layout (PostgreSQL docs, "Message Formats"):
//
//	0      1                 5
//	+------+-----------------+----------------------------+
//	| type | length uint32BE | body (length - 4 bytes)    |
//	+------+-----------------+----------------------------+
//	length counts itself but not the type byte.
//
// The frontend's first messages have no type byte: StartupMessage
// (length, protocol 3.0, parameters), SSLRequest, GSSENCRequest and
// CancelRequest (length, a magic code).
const (
	headerLen = 5
	// maxMessageLen bounds a length field: the server's default limit for
	// a message is 1 GB.
	maxMessageLen = 1 << 30
)

// Codes of the untyped startup-phase messages.
const (
	codeProtocol3 = 196608   // 3.0: StartupMessage
	codeCancel    = 80877102 // CancelRequest
	codeSSL       = 80877103 // SSLRequest
	codeGSSENC    = 80877104 // GSSENCRequest
)

// frontendNames gives request_type for the frontend message types, named as
// DeepFlow names them; "" marks a byte that is not a frontend type.
var frontendNames = [256]string{
	'Q': "simple query",
	'P': "parse",
	'B': "bind",
	'E': "execute",
	'D': "describe",
	'C': "close",
	'S': "sync",
	'H': "flush",
	'F': "function call",
	'X': "terminate",
	'd': "copy data",
	'c': "copy done",
	'f': "copy fail",
	'p': "authentication",
}

// backendTypes marks the backend message types; the value is the exact
// length a fixed-size message has (0: variable).
var backendTypes = [256]struct {
	ok    bool
	fixed uint32
}{
	'R': {ok: true}, // Authentication*
	'K': {ok: true, fixed: 12},
	'S': {ok: true}, // ParameterStatus
	'Z': {ok: true, fixed: 5},
	'T': {ok: true}, // RowDescription
	'D': {ok: true}, // DataRow
	'C': {ok: true}, // CommandComplete
	'E': {ok: true}, // ErrorResponse
	'N': {ok: true}, // NoticeResponse
	'I': {ok: true, fixed: 4},
	'1': {ok: true, fixed: 4},
	'2': {ok: true, fixed: 4},
	'3': {ok: true, fixed: 4},
	'n': {ok: true, fixed: 4},
	's': {ok: true, fixed: 4},
	't': {ok: true}, // ParameterDescription
	'A': {ok: true}, // NotificationResponse
	'G': {ok: true}, // CopyInResponse
	'H': {ok: true}, // CopyOutResponse
	'W': {ok: true}, // CopyBothResponse
	'd': {ok: true}, // CopyData
	'c': {ok: true, fixed: 4},
	'V': {ok: true}, // FunctionCallResponse
	'v': {ok: true}, // NegotiateProtocolVersion
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// Check reports whether payload is a frontend's first message: a
// StartupMessage, SSLRequest, GSSENCRequest or CancelRequest whose length
// is the payload's, or a chain of complete frontend messages that covers
// the payload exactly and holds a Query with text or a Parse.
func (*Dissector) Check(payload []byte, m *dissectors.Meta) bool {
	if m.Proto != 6 || len(payload) < 8 {
		return false
	}
	if payload[0] == 0 {
		n, code := be32(payload), be32(payload[4:])
		switch code {
		case codeSSL, codeGSSENC:
			return n == 8 && len(payload) == 8
		case codeCancel:
			return n == 16 && len(payload) == 16
		case codeProtocol3:
			// parameters: NUL-terminated names and values, then a NUL;
			// "user" is required.
			return int(n) == len(payload) && n < 10000 && payload[n-1] == 0 && payload[8] >= 'a' && payload[8] <= 'z'
		}
		return false
	}
	query := false
	for pos := 0; pos < len(payload); {
		if len(payload)-pos < headerLen {
			return false
		}
		t, n := payload[pos], be32(payload[pos+1:])
		if frontendNames[t] == "" || n < 4 || uint64(n) > uint64(len(payload)-pos-1) {
			return false
		}
		body := payload[pos+headerLen : pos+1+int(n)]
		switch t {
		case 'Q':
			if len(body) < 2 || body[len(body)-1] != 0 || body[0] < 0x20 {
				return false
			}
			query = true
		case 'P':
			i := indexNUL(body)
			if i < 0 || i+1 >= len(body) || indexNUL(body[i+1:]) < 0 {
				return false
			}
			query = true
		}
		pos += 1 + int(n)
	}
	return query
}

func indexNUL(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

// Parse appends the requests (frontend) or responses (backend) that start
// in payload; see doc.go for how messages group into records.
func (d *Dissector) Parse(dst []dissectors.Record, payload []byte, m *dissectors.Meta) ([]dissectors.Record, error) {
	if m.ToServer {
		return parseFrontend(dst, payload, m)
	}
	return parseBackend(dst, payload, m)
}

// parseFrontend appends one Request per Query message and one per
// extended-query batch: the messages up to a Sync (or the segment's end)
// that include a Parse, Bind, Execute, Describe, Close or FunctionCall.
// The batch is named after its first such message and its resource is the
// SQL of its Parse messages, joined with "; ". Terminate is a Session.
// Startup-phase messages, passwords, Sync/Flush alone and COPY data yield
// nothing.
func parseFrontend(dst []dissectors.Record, p []byte, m *dissectors.Meta) ([]dissectors.Record, error) {
	orig := len(dst)
	if len(p) == 0 {
		return dst, nil
	}
	if p[0] == 0 {
		return dst, nil // a startup-phase message or a continuation
	}
	batch := -1 // index in dst of the open extended-query batch
	for pos := 0; pos < len(p); {
		if len(p)-pos < headerLen {
			if pos == 0 {
				return dst[:orig], dissectors.ErrShort
			}
			break
		}
		t, n := p[pos], be32(p[pos+1:])
		if frontendNames[t] == "" || n < 4 || n > maxMessageLen {
			if pos == 0 {
				return dst, nil // the rest of a message that began earlier
			}
			break
		}
		size := 1 + int(n)
		body := p[pos+headerLen : min(pos+size, len(p))]
		switch t {
		case 'Q':
			batch = -1
			var r *dissectors.Record
			dst, r = dissectors.Next(dst)
			r.Protocol = dissectors.ProtoPostgreSQL
			r.Kind = dissectors.Request
			r.Len = uint32(size)
			r.SetString(&r.RequestType, frontendNames[t])
			r.Set(&r.RequestResource, cstring(body))
		case 'X':
			batch = -1
			var r *dissectors.Record
			dst, r = dissectors.Next(dst)
			r.Protocol = dissectors.ProtoPostgreSQL
			r.Kind = dissectors.Session
			r.Len = uint32(size)
			r.SetString(&r.RequestType, frontendNames[t])
		case 'P', 'B', 'E', 'D', 'C', 'F':
			if batch < 0 {
				var r *dissectors.Record
				dst, r = dissectors.Next(dst)
				r.Protocol = dissectors.ProtoPostgreSQL
				r.Kind = dissectors.Request
				r.SetString(&r.RequestType, frontendNames[t])
				batch = len(dst) - 1
			}
			r := &dst[batch]
			r.Len += uint32(size)
			if t == 'P' {
				// Parse: statement name, query, parameter types.
				if i := indexNUL(body); i >= 0 {
					appendSQL(r, cstring(body[i+1:]))
				}
			}
		case 'S':
			if batch >= 0 {
				dst[batch].Len += uint32(size)
				batch = -1
			}
		case 'H':
			if batch >= 0 {
				dst[batch].Len += uint32(size)
			}
		}
		pos += size
	}
	return dst, nil
}

// appendSQL adds a Parse's query to the batch's resource, after "; " when
// the batch has one already.
func appendSQL(r *dissectors.Record, sql []byte) {
	if r.RequestResource.Len() == 0 {
		r.Set(&r.RequestResource, sql)
		return
	}
	r.Append(&r.RequestResource, sqlSeparator)
	r.Append(&r.RequestResource, sql)
}

var sqlSeparator = []byte("; ")

// cstring returns b up to its first NUL (all of b when it is cut before).
func cstring(b []byte) []byte {
	if i := indexNUL(b); i >= 0 {
		return b[:i]
	}
	return b
}

// parseBackend appends one Response per reply that starts in payload. A
// reply runs to ReadyForQuery ('Z'); it starts at the first message that
// is not asynchronous (NoticeResponse, ParameterStatus,
// NotificationResponse), not part of the startup (Authentication,
// BackendKeyData, NegotiateProtocolVersion) and not a ReadyForQuery
// alone. A segment starting with DataRow or CopyData continues a reply
// from an earlier segment: its messages up to the next 'Z' yield nothing.
// An ErrorResponse anywhere in a reply this segment started makes it an
// error; its status comes from the SQLSTATE class.
func parseBackend(dst []dissectors.Record, p []byte, m *dissectors.Meta) ([]dissectors.Record, error) {
	orig := len(dst)
	if len(p) == 1 && (p[0] == 'S' || p[0] == 'N' || p[0] == 'G') {
		return dst, nil // the one-byte answer to SSLRequest / GSSENCRequest
	}
	const (
		idle = iota // between replies
		cont        // in a reply that began in an earlier segment
		open        // in a reply this segment started: dst[cur]
	)
	state, cur := idle, -1
	for pos := 0; pos < len(p); {
		if len(p)-pos < headerLen {
			if pos == 0 {
				return dst[:orig], dissectors.ErrShort
			}
			break
		}
		t, n := p[pos], be32(p[pos+1:])
		bt := backendTypes[t]
		if !bt.ok || n < 4 || n > maxMessageLen || (bt.fixed != 0 && n != bt.fixed) {
			if pos == 0 {
				return dst, nil // the rest of a message that began earlier
			}
			break
		}
		size := 1 + int(n)
		body := p[pos+headerLen : min(pos+size, len(p))]
		if state == open {
			dst[cur].Len += uint32(size)
		}
		switch t {
		case 'N', 'S', 'A', 'R', 'K', 'v':
			// asynchronous or startup messages: neither start nor end a
			// reply.
		case 'Z':
			state = idle
		case 'D', 'd':
			if state == idle && pos == 0 {
				state = cont
			}
		default:
			if state == idle {
				var r *dissectors.Record
				dst, r = dissectors.Next(dst)
				r.Protocol = dissectors.ProtoPostgreSQL
				r.Kind = dissectors.Response
				r.Status = dissectors.StatusOK
				r.Len = uint32(size)
				state, cur = open, len(dst)-1
			}
			if t == 'E' && state == open && dst[cur].Status == dissectors.StatusOK {
				setError(&dst[cur], body)
			}
		}
		pos += size
	}
	return dst, nil
}

// setError fills r from an ErrorResponse body: fields of a type byte and a
// NUL-terminated string, ended by a NUL. 'C' is the SQLSTATE, 'M' the
// message (response_exception). Class 42 (syntax error or access rule
// violation: undefined table, column, function…) is the client's fault;
// every other class is a server error.
func setError(r *dissectors.Record, body []byte) {
	r.Status = dissectors.StatusServerError
	for len(body) > 0 && body[0] != 0 {
		f := body[0]
		v := body[1:]
		end := indexNUL(v)
		if end < 0 {
			end = len(v)
		}
		switch f {
		case 'C':
			if end >= 2 && v[0] == '4' && v[1] == '2' {
				r.Status = dissectors.StatusClientError
			}
		case 'M':
			r.Set(&r.Exception, v[:end])
		}
		if end == len(v) {
			break
		}
		body = v[end+1:]
	}
}
