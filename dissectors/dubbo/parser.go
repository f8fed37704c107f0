package dubbo

import (
	"encoding/binary"

	"github.com/tapflow/tapflow/dissectors"
)

// Dissector parses the Dubbo 2 protocol ("dubbo://"). It is stateless.
type Dissector struct{}

// New returns a Dubbo dissector.
func New() *Dissector { return &Dissector{} }

// Transports implements the engine's transport filter: Check accepts TCP payloads only.
func (*Dissector) Transports() dissectors.Transport { return dissectors.TCP }

// FirstByte implements the engine's first-byte filter: Check needs the magic 0xdabb.
func (*Dissector) FirstByte(b byte) bool { return b == magic0 }

// Protocol returns dissectors.ProtoDubbo.
func (*Dissector) Protocol() dissectors.Protocol { return dissectors.ProtoDubbo }

// Every message has a 16-byte header, then data length bytes of body
// (https://dubbo.apache.org/en/blog/2018/10/05/introduction-to-the-dubbo-protocol/):
//
//	0        2        3        4                                12                16
//	+--------+--------+--------+--------------------------------+-----------------+
//	| 0xdabb |  flag  | status |      request id (int64)        | data length     |
//	+--------+--------+--------+--------------------------------+-----------------+
//
//	flag: 0x80 request (clear: response), 0x40 two-way (a response is
//	      expected), 0x20 event (heartbeat), bits 0-4 serialization id
//	      (2 hessian2, 6 fastjson…)
//	status (responses): 20 OK, 30 CLIENT_TIMEOUT, 31 SERVER_TIMEOUT,
//	      40 BAD_REQUEST, 50 BAD_RESPONSE, 60 SERVICE_NOT_FOUND,
//	      70 SERVICE_ERROR, 80 SERVER_ERROR, 90 CLIENT_ERROR,
//	      100 SERVER_THREADPOOL_EXHAUSTED_ERROR
//
// A hessian2 request body is: dubbo version, service path, service version,
// method name (strings), parameter types, arguments, attachments. An error
// response's body is the error message (a string).
const (
	magic0, magic1 = 0xda, 0xbb
	headerLen      = 16

	flagRequest = 0x80
	flagTwoWay  = 0x40
	flagEvent   = 0x20
	serialMask  = 0x1f

	serialHessian2 = 2

	statusOK = 20
	// maxData bounds the body length (Dubbo's payload limit is 8 MiB by
	// default and configurable).
	maxData = 1 << 30
)

// knownStatus reports whether s is a response status Dubbo defines.
func knownStatus(s byte) bool {
	switch s {
	case 20, 30, 31, 40, 50, 60, 70, 80, 90, 100:
		return true
	}
	return false
}

// statusOf maps a response status to response_status: OK is ok; the
// client's own failures (CLIENT_TIMEOUT, BAD_REQUEST, CLIENT_ERROR) are
// client errors; the rest (SERVER_TIMEOUT, BAD_RESPONSE,
// SERVICE_NOT_FOUND, SERVICE_ERROR, SERVER_ERROR, thread pool exhausted,
// unknown values) are server errors.
func statusOf(s byte) dissectors.Status {
	switch s {
	case statusOK:
		return dissectors.StatusOK
	case 30, 40, 90:
		return dissectors.StatusClientError
	}
	return dissectors.StatusServerError
}

// header is a decoded message header.
type header struct {
	flag, status byte
	id           uint64
	dataLen      int
}

// readHeader decodes the header at the start of p; ok is false when p does
// not start with one (no magic, or an impossible length).
func readHeader(p []byte) (h header, ok bool) {
	if len(p) < headerLen || p[0] != magic0 || p[1] != magic1 {
		return h, false
	}
	h.flag, h.status = p[2], p[3]
	h.id = binary.BigEndian.Uint64(p[4:12])
	h.dataLen = int(binary.BigEndian.Uint32(p[12:16]))
	return h, h.dataLen <= maxData && h.flag&serialMask != 0
}

// Check reports whether payload starts a Dubbo message: the magic, a
// serialization id, a sane length and, for a response, a known status;
// a hessian2 request's body must start with a string (the dubbo version).
func (*Dissector) Check(p []byte, m *dissectors.Meta) bool {
	if m.Proto != 6 {
		return false
	}
	h, ok := readHeader(p)
	if !ok {
		return false
	}
	if h.flag&flagRequest == 0 {
		return knownStatus(h.status)
	}
	if h.flag&flagEvent != 0 || h.flag&serialMask != serialHessian2 || len(p) == headerLen {
		return true
	}
	_, ok = hstring(p[headerLen:], nil, nil)
	return ok
}

// Parse appends a record per request or response that starts in payload;
// heartbeat events yield none. A payload that does not start with the
// magic continues an earlier message's body and yields nothing.
func (*Dissector) Parse(dst []dissectors.Record, p []byte, _ *dissectors.Meta) ([]dissectors.Record, error) {
	orig := len(dst)
	for off := 0; off < len(p); {
		q := p[off:]
		if len(q) < headerLen {
			if off == 0 && q[0] == magic0 && (len(q) == 1 || q[1] == magic1) {
				return dst[:orig], dissectors.ErrShort
			}
			break // a header cut by the segment end, or a continuation
		}
		h, ok := readHeader(q)
		if !ok {
			if off == 0 && q[0] == magic0 && q[1] == magic1 {
				return dst[:orig], dissectors.ErrMalformed
			}
			break
		}
		total := headerLen + h.dataLen
		body := q[headerLen:min(len(q), total)]
		if h.flag&flagEvent == 0 {
			var r *dissectors.Record
			dst, r = dissectors.Next(dst)
			r.Protocol = dissectors.ProtoDubbo
			r.HasKey, r.Key = true, h.id
			r.Len = uint32(total)
			if h.flag&flagRequest != 0 {
				r.Kind = dissectors.Session // one-way: no response comes
				if h.flag&flagTwoWay != 0 {
					r.Kind = dissectors.Request
				}
				if h.flag&serialMask == serialHessian2 {
					request(r, body)
				}
			} else {
				r.Kind = dissectors.Response
				r.HasCode, r.Code = true, int32(h.status)
				r.Status = statusOf(h.status)
				if h.status != statusOK && h.flag&serialMask == serialHessian2 {
					hstring(body, r, &r.Exception)
				}
			}
		}
		off += total
	}
	return dst, nil
}

// request fills a hessian2 request's fields: version (the dubbo version),
// request_resource (the service path), request_type (the method name) and
// endpoint "<service>/<method>", as DeepFlow does. A body cut by the
// segment end fills what it holds.
func request(r *dissectors.Record, b []byte) {
	b, ok := hstring(b, r, &r.Version)
	if !ok {
		return
	}
	if b, ok = hstring(b, r, &r.RequestResource); !ok {
		return
	}
	if b, ok = hstring(b, nil, nil); !ok { // service version
		return
	}
	if _, ok = hstring(b, r, &r.RequestType); !ok || r.RequestType.Len() == 0 {
		return
	}
	r.Copy(&r.Endpoint, r, r.RequestResource)
	r.Append(&r.Endpoint, slash)
	r.Append(&r.Endpoint, r.Bytes(r.RequestType))
}

var slash = []byte{'/'}

// hstring reads a hessian2 string at the start of b (Hessian 2.0
// serialization §4.12: 0x00-0x1f compact, 0x30-0x33 medium, 'S' final and
// 'R' non-final 16-bit-length chunks, 'N' null) and, if r is not nil,
// sets field f to it. Lengths count UTF-16 characters, read here from the
// UTF-8 lead bytes. ok is false when b does not start with a string or the
// string runs past b (f then holds the part seen).
func hstring(b []byte, r *dissectors.Record, f *dissectors.Text) (rest []byte, ok bool) {
	first := true
	for {
		if len(b) == 0 {
			return nil, false
		}
		var n int
		final := true
		switch c := b[0]; {
		case c <= 0x1f:
			n, b = int(c), b[1:]
		case c >= 0x30 && c <= 0x33:
			if len(b) < 2 {
				return nil, false
			}
			n, b = int(c-0x30)<<8|int(b[1]), b[2:]
		case c == 'S' || c == 'R':
			if len(b) < 3 {
				return nil, false
			}
			n, b, final = int(binary.BigEndian.Uint16(b[1:3])), b[3:], c == 'S'
		case c == 'N' && first: // null: an empty field
			return b[1:], true
		default:
			return nil, false
		}
		size, whole := utf8Len(b, n)
		if r != nil {
			if first {
				r.Set(f, b[:size])
			} else {
				r.Append(f, b[:size])
			}
		}
		if !whole {
			return nil, false
		}
		b, first = b[size:], false
		if final {
			return b, true
		}
	}
}

// utf8Len returns how many bytes of b hold n characters (a character
// outside the BMP counts as two, as hessian's UTF-16 length does), clipped
// to b; whole is false when b ends first.
func utf8Len(b []byte, n int) (size int, whole bool) {
	for n > 0 {
		if size >= len(b) {
			return len(b), false
		}
		c := b[size]
		switch {
		case c < 0x80:
			size++
		case c < 0xe0:
			size += 2
		case c < 0xf0:
			size += 3
		default:
			size += 4
			n-- // a surrogate pair
		}
		n--
	}
	if size > len(b) {
		return len(b), false
	}
	return size, true
}
