package http2

import (
	"bytes"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/http"
)

// Dissector parses HTTP/2 in cleartext (h2c, RFC 9113) and gRPC over it.
// It is stateless: one value serves every flow. Records are ProtoHTTP2, or
// ProtoGRPC for gRPC messages (content-type application/grpc…).
type Dissector struct{}

// New returns the HTTP/2 and gRPC dissector.
func New() *Dissector { return &Dissector{} }

// Transports implements the engine's transport filter: Check accepts TCP payloads only.
func (*Dissector) Transports() dissectors.Transport { return dissectors.TCP }

// Protocol returns dissectors.ProtoHTTP2; gRPC records carry ProtoGRPC.
func (*Dissector) Protocol() dissectors.Protocol { return dissectors.ProtoHTTP2 }

// preface is the client connection preface (RFC 9113 §3.4).
var preface = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

// Frame header (RFC 9113 §4.1):
//
//	+-----------------------------------------------+
//	|                 Length (24)                   |
//	+---------------+---------------+---------------+
//	|   Type (8)    |   Flags (8)   |
//	+-+-------------+---------------+-------------------------------+
//	|R|                 Stream Identifier (31)                      |
//	+=+=============================================================+
//	|                   Frame Payload (0...)                      ...
//	+---------------------------------------------------------------+
const frameHeaderLen = 9

// Frame types (RFC 9113 §6) and flags.
const (
	typeData         = 0x0
	typeHeaders      = 0x1
	typePriority     = 0x2
	typeRSTStream    = 0x3
	typeSettings     = 0x4
	typePushPromise  = 0x5
	typePing         = 0x6
	typeGoAway       = 0x7
	typeWindowUpdate = 0x8
	typeContinuation = 0x9

	flagEndStream  = 0x1
	flagAck        = 0x1
	flagEndHeaders = 0x4
	flagPadded     = 0x8
	flagPriority   = 0x20

	defaultMaxFrame = 16384 // SETTINGS_MAX_FRAME_SIZE's initial value
)

type frameHeader struct {
	length uint32
	typ    uint8
	flags  uint8
	stream uint32
	rbit   bool
}

func readFrameHeader(p []byte) frameHeader {
	return frameHeader{
		length: uint32(p[0])<<16 | uint32(p[1])<<8 | uint32(p[2]),
		typ:    p[3],
		flags:  p[4],
		stream: (uint32(p[5])<<24 | uint32(p[6])<<16 | uint32(p[7])<<8 | uint32(p[8])) & 0x7fffffff,
		rbit:   p[5]&0x80 != 0,
	}
}

// allowedFlags are the flags each frame type defines.
var allowedFlags = [...]uint8{
	typeData:         flagEndStream | flagPadded,
	typeHeaders:      flagEndStream | flagEndHeaders | flagPadded | flagPriority,
	typePriority:     0,
	typeRSTStream:    0,
	typeSettings:     flagAck,
	typePushPromise:  flagEndHeaders | flagPadded,
	typePing:         flagAck,
	typeGoAway:       0,
	typeWindowUpdate: 0,
	typeContinuation: flagEndHeaders,
}

// plausible reports whether h can be a frame header that a peer sent: the
// reserved bit clear, the stream identifier and fixed length that the type
// requires (§6). Parse accepts extension types (skipped) and any length;
// strict (Check) also wants a type of RFC 9113, only defined flags and a
// length within the default maximum frame size.
func (h *frameHeader) plausible(strict bool) bool {
	if h.rbit {
		return false
	}
	if h.typ > typeContinuation {
		// ALTSVC (0xa), ORIGIN (0xc), PRIORITY_UPDATE (0x10): ignored
		return !strict && (h.typ == 0xa || h.typ == 0xc || h.typ == 0x10)
	}
	if strict && (h.flags&^allowedFlags[h.typ] != 0 || h.length > defaultMaxFrame) {
		return false
	}
	switch h.typ {
	case typeData, typeHeaders, typeContinuation, typePushPromise:
		return h.stream != 0
	case typePriority:
		return h.stream != 0 && h.length == 5
	case typeRSTStream:
		return h.stream != 0 && h.length == 4
	case typeSettings:
		return h.stream == 0 && h.length%6 == 0 && (h.flags&flagAck == 0 || h.length == 0)
	case typePing:
		return h.stream == 0 && h.length == 8
	case typeGoAway:
		return h.stream == 0 && h.length >= 8
	case typeWindowUpdate:
		return h.length == 4
	}
	return false
}

// fragment returns the header block fragment of a HEADERS frame's payload,
// without padding and priority fields. complete says the payload is all
// there; when it is cut, the padding cannot be told apart and stays.
func fragment(h *frameHeader, body []byte, complete bool) ([]byte, bool) {
	pad := 0
	if h.flags&flagPadded != 0 {
		if len(body) < 1 {
			return nil, false
		}
		pad = int(body[0])
		body = body[1:]
	}
	if h.flags&flagPriority != 0 {
		if len(body) < 5 {
			return nil, false
		}
		body = body[5:]
	}
	if complete {
		if pad > len(body) {
			return nil, false
		}
		body = body[:len(body)-pad]
	}
	return body, true
}

// Check reports whether payload is HTTP/2: the client preface, or (a capture
// that starts mid-connection) complete, well-formed frames up to a HEADERS
// frame whose block decodes to a request (:method) or response (:status).
// TLS records and other binary protocols fail the frame header rules.
func (*Dissector) Check(payload []byte, m *dissectors.Meta) bool {
	if m.Proto != 6 {
		return false
	}
	if bytes.HasPrefix(payload, preface) {
		return true
	}
	p := payload
	var d dynTable
	for len(p) >= frameHeaderLen {
		h := readFrameHeader(p)
		if !h.plausible(true) || int(h.length) > len(p)-frameHeaderLen {
			return false
		}
		body := p[frameHeaderLen : frameHeaderLen+int(h.length)]
		p = p[frameHeaderLen+int(h.length):]
		if h.typ != typeHeaders {
			continue
		}
		frag, ok := fragment(&h, body, true)
		if !ok {
			return false
		}
		var b block
		// Without END_HEADERS the fragment may end inside a field.
		if !b.decode(frag, &d) && h.flags&flagEndHeaders != 0 {
			return false
		}
		if b.has[fMethod] || b.has[fStatus] {
			return true
		}
	}
	return false
}

// Parse walks the frames of payload and appends a record per HEADERS frame
// (with its CONTINUATION frames in the same segment) that opens a request
// (:method) or a response (:status), and for gRPC trailers (grpc-status
// without :status). Records carry the stream identifier as Key. A payload
// that does not start with a frame header (the rest of a frame begun in an
// earlier segment) yields nothing; so does a frame sequence that stops
// being plausible, after the records before it.
func (*Dissector) Parse(dst []dissectors.Record, payload []byte, m *dissectors.Meta) ([]dissectors.Record, error) {
	p := payload
	if bytes.HasPrefix(p, preface) {
		p = p[len(preface):]
	}
	var s segment
	s.start = len(dst)
	for len(p) >= frameHeaderLen {
		h := readFrameHeader(p)
		if !h.plausible(false) {
			break
		}
		end := frameHeaderLen + int(h.length)
		complete := end <= len(p)
		body := p[frameHeaderLen:min(end, len(p))]
		switch h.typ {
		case typeHeaders:
			dst = s.headers(dst, &h, body, complete, p[min(end, len(p)):])
		case typeData:
			s.data(dst, h.stream, h.length)
		}
		if !complete {
			break
		}
		p = p[end:]
	}
	return dst, nil
}

// segment is Parse's state over one payload.
type segment struct {
	start int // index in dst of the first record of this payload
	// counting lists the records whose Len still grows by the DATA frames
	// of their stream (no content-length).
	counting [8]struct {
		stream uint32
		rec    int
	}
	ncounting int
	dyn       dynTable
}

// data adds a DATA frame's length to its stream's record.
func (s *segment) data(dst []dissectors.Record, stream, length uint32) {
	for i := range s.counting[:s.ncounting] {
		if c := s.counting[i]; c.stream == stream {
			dst[c.rec].Len += length
		}
	}
}

// headers handles a HEADERS frame: it gathers the CONTINUATION frames that
// follow in rest, decodes the block and appends its record, if any.
func (s *segment) headers(dst []dissectors.Record, h *frameHeader, body []byte, complete bool, rest []byte) []dissectors.Record {
	frag, ok := fragment(h, body, complete)
	if !ok {
		return dst
	}
	blockLen := h.length
	var b block
	if h.flags&flagEndHeaders != 0 || !complete {
		b.partial = !b.decode(frag, &s.dyn)
	} else {
		// The block continues in CONTINUATION frames (§6.10): join the
		// fragments that are in this segment.
		var buf [4096]byte
		n := copy(buf[:], frag)
		for len(rest) >= frameHeaderLen {
			c := readFrameHeader(rest)
			if c.typ != typeContinuation || c.stream != h.stream {
				break
			}
			blockLen += c.length
			e := min(frameHeaderLen+int(c.length), len(rest))
			n += copy(buf[n:], rest[frameHeaderLen:e])
			if c.flags&flagEndHeaders != 0 {
				break
			}
			rest = rest[e:]
		}
		b.partial = !b.decode(buf[:n], &s.dyn)
	}
	return s.emit(dst, h, &b, blockLen)
}

var applicationGRPC = []byte("application/grpc")

// emit appends the record of a decoded header block.
func (s *segment) emit(dst []dissectors.Record, h *frameHeader, b *block, blockLen uint32) []dissectors.Record {
	grpc := b.has[fContentType] && bytes.HasPrefix(b.get(fContentType), applicationGRPC)
	contentLength := int64(-1)
	if b.has[fContentLength] {
		contentLength = http.ParseUint(b.get(fContentLength))
	}
	var r *dissectors.Record
	switch {
	case b.has[fMethod]:
		method, path := b.get(fMethod), b.get(fPath)
		if !grpc && !b.has[fContentType] && (b.dynamic || b.partial) && looksGRPC(method, path) {
			// Mid-connection, content-type is usually a dynamic-table
			// reference (or in the part of the block the segment cut);
			// a POST to /pkg.Service/Method is gRPC's shape.
			grpc = true
		}
		dst, r = dissectors.Next(dst)
		r.Kind = dissectors.Request
		r.Set(&r.RequestType, method)
		if b.has[fAuthority] {
			r.Set(&r.RequestDomain, b.get(fAuthority))
		} else if b.has[fHost] {
			r.Set(&r.RequestDomain, b.get(fHost))
		}
		setTrace(r, b)
		if grpc {
			r.Set(&r.Endpoint, path)
			r.Set(&r.RequestResource, service(path))
		} else {
			r.Set(&r.Endpoint, http.Endpoint(path))
			r.Set(&r.RequestResource, path)
		}
	case b.has[fStatus]:
		dst, r = dissectors.Next(dst)
		r.Kind = dissectors.Response
		if code := http.ParseUint(b.get(fStatus)); code >= 0 {
			r.HasCode = true
			r.Code = int32(code)
			r.Status = http.StatusOf(int(code))
		}
		setTrace(r, b)
		if b.has[fGRPCStatus] { // a trailers-only response (gRPC over HTTP2 spec)
			grpc = true
			setGRPCStatus(r, b)
		}
	case b.has[fGRPCStatus]:
		// gRPC trailers: the call's status. Update the response of the
		// stream when it started in this segment, else report it as a
		// response of its own.
		for i := len(dst) - 1; i >= s.start; i-- {
			if o := &dst[i]; o.Kind == dissectors.Response && o.Key == uint64(h.stream) {
				o.Protocol = dissectors.ProtoGRPC
				o.Len += blockLen
				setGRPCStatus(o, b)
				return dst
			}
		}
		dst, r = dissectors.Next(dst)
		r.Kind = dissectors.Response
		grpc = true
		setTrace(r, b)
		setGRPCStatus(r, b)
	default:
		return dst // trailers of a request or of a plain HTTP response
	}
	r.Protocol = dissectors.ProtoHTTP2
	if grpc {
		r.Protocol = dissectors.ProtoGRPC
	}
	r.HasKey = true
	r.Key = uint64(h.stream)
	r.SetString(&r.Version, "2")
	r.Len = blockLen
	if contentLength >= 0 && contentLength < 1<<31 {
		r.Len += uint32(contentLength)
	} else if s.ncounting < len(s.counting) {
		s.counting[s.ncounting].stream = h.stream
		s.counting[s.ncounting].rec = len(dst) - 1
		s.ncounting++
	}
	return dst
}

// setGRPCStatus sets the response code from grpc-status: non-zero is a
// server error as DeepFlow counts it; grpc-message is the exception.
func setGRPCStatus(r *dissectors.Record, b *block) {
	code := http.ParseUint(b.get(fGRPCStatus))
	if code < 0 || code > 1<<16 {
		return
	}
	r.HasCode = true
	r.Code = int32(code)
	r.Status = dissectors.StatusOK
	if code != 0 {
		r.Status = dissectors.StatusServerError
		if b.has[fGRPCMessage] && r.Exception.Len() == 0 {
			r.Set(&r.Exception, b.get(fGRPCMessage))
		}
	}
}

func setTrace(r *dissectors.Record, b *block) {
	var tv http.TraceValues
	for i := range tv {
		if f := uint8(fTrace + i); b.has[f] {
			tv[i] = b.get(f)
		}
	}
	http.SetTrace(r, &tv)
}

// service returns the gRPC service of a path /pkg.Service/Method.
func service(path []byte) []byte {
	if len(path) > 1 && path[0] == '/' {
		if i := bytes.IndexByte(path[1:], '/'); i > 0 {
			return path[1 : 1+i]
		}
	}
	return path
}

// looksGRPC reports a POST to /<pkg>.<Service>/<Method>: a dotted service
// and an upper-case method name, as protobuf names them.
func looksGRPC(method, path []byte) bool {
	if string(method) != "POST" || len(path) < 4 || path[0] != '/' {
		return false
	}
	i := bytes.IndexByte(path[1:], '/') + 1
	if i <= 1 || i+1 >= len(path) || bytes.IndexByte(path[1:i], '.') < 0 {
		return false
	}
	m := path[i+1:]
	return m[0] >= 'A' && m[0] <= 'Z' && bytes.IndexByte(m, '/') < 0 && bytes.IndexByte(m, '?') < 0
}
