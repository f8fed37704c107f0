package http

import (
	"bytes"
	"strings"

	"github.com/tapflow/tapflow/dissectors"
)

// Dissector parses HTTP/1.0 and HTTP/1.1 requests and responses (RFC 9112).
// It is stateless: one value serves every flow.
type Dissector struct{}

// New returns the HTTP/1 dissector.
func New() *Dissector { return &Dissector{} }

// Transports implements the engine's transport filter: Check accepts TCP payloads only.
func (*Dissector) Transports() dissectors.Transport { return dissectors.TCP }

// FirstByte implements the engine's first-byte filter: Check needs a status
// line ("HTTP/") or a request line starting with a method it knows.
func (*Dissector) FirstByte(b byte) bool { return strings.IndexByte("HGPDOCT", b) >= 0 }

// Protocol returns dissectors.ProtoHTTP1.
func (*Dissector) Protocol() dissectors.Protocol { return dissectors.ProtoHTTP1 }

// Check reports whether payload starts with an HTTP/1.x request line
// (`METHOD SP request-target SP HTTP/1.x`, RFC 9112 §3, with a known method)
// or status line (`HTTP/1.x SP 3DIGIT`, §4). HTTP runs over TCP only here:
// SSDP's HTTP-over-UDP is not claimed.
func (*Dissector) Check(payload []byte, m *dissectors.Meta) bool {
	if m.Proto != 6 {
		return false
	}
	var s startLine
	return parseStart(payload, &s) == startOK
}

// Parse appends one record per HTTP message that starts in payload: the
// first at offset 0, the next ones after a body whose length is known
// (Content-Length, or chunked chunks that end within the segment), so that
// pipelined requests and responses in one segment give one record each.
// A payload that does not start with a start line continues an earlier
// message (body bytes, headers split over segments): it yields nothing.
// A start line that begins with a method or "HTTP/1." but is cut off or
// broken is ErrShort or ErrMalformed.
func (*Dissector) Parse(dst []dissectors.Record, payload []byte, m *dissectors.Meta) ([]dissectors.Record, error) {
	total := int(m.PayloadLen)
	if total < len(payload) {
		total = len(payload)
	}
	var s startLine
	switch parseStart(payload, &s) {
	case startNone:
		return dst, nil
	case startShort:
		return dst, dissectors.ErrShort
	case startBad:
		return dst, dissectors.ErrMalformed
	}
	off := 0
	for {
		p := payload[off:]
		var h headers
		hdrEnd := h.parse(p, s.lineEnd)
		next := -1 // offset in p of the next message, -1 when unknown
		length := total - off
		if hdrEnd >= 0 {
			if body := bodyLen(&s, &h, p[hdrEnd:]); body >= 0 {
				length = hdrEnd + body
				next = length
			}
		}
		// The next message: after the body, or right after the headers
		// when a response to HEAD announced a Content-Length it does not
		// carry (RFC 9110 §9.3.2).
		var ns startLine
		switch {
		case next < 0:
		case next < len(p) && parseStart(p[next:], &ns) == startOK:
		case next > hdrEnd && hdrEnd < len(p) && parseStart(p[hdrEnd:], &ns) == startOK:
			next, length = hdrEnd, hdrEnd
		default:
			next = -1
		}
		if s.kind == dissectors.Request || s.code >= 200 || s.code == 101 {
			// 1xx interim responses (100 Continue, 103 Early Hints) are not
			// the response: the final one follows and pairs with the request.
			dst = emit(dst, &s, &h, length)
		}
		if next < 0 {
			return dst, nil
		}
		s = ns
		off += next
	}
}

// emit appends the record of one message; length is its byte count.
func emit(dst []dissectors.Record, s *startLine, h *headers, length int) []dissectors.Record {
	dst, r := dissectors.Next(dst)
	r.Protocol = dissectors.ProtoHTTP1
	r.Kind = s.kind
	if length > 0 {
		r.Len = uint32(length)
	}
	r.Set(&r.Version, s.version)
	if s.kind == dissectors.Request {
		r.Set(&r.RequestType, s.method)
		if h.host != nil {
			r.Set(&r.RequestDomain, h.host)
		}
	} else {
		r.HasCode = true
		r.Code = int32(s.code)
		r.Status = StatusOf(s.code)
	}
	SetTrace(r, &h.trace)
	if s.kind == dissectors.Request {
		// The target goes last: it is the field most likely to be cut at
		// the record's text capacity.
		r.Set(&r.Endpoint, Endpoint(s.target))
		r.Set(&r.RequestResource, s.target)
	}
	return dst
}

// StatusOf maps an HTTP status code to response_status: 4xx client error,
// 5xx server error, anything else OK.
func StatusOf(code int) dissectors.Status {
	switch {
	case code >= 400 && code < 500:
		return dissectors.StatusClientError
	case code >= 500 && code < 600:
		return dissectors.StatusServerError
	}
	return dissectors.StatusOK
}

// startLine is a parsed request line or status line; the slices alias the
// payload.
type startLine struct {
	kind    dissectors.Kind
	method  []byte
	target  []byte
	version []byte // "1.0" or "1.1"
	code    int
	lineEnd int // offset after the line's LF, or len(payload) when cut
}

// parseStart results.
const (
	startOK    = iota
	startNone  // not a start line
	startShort // a start line cut before its version
	startBad   // starts like a start line but is not one
)

var httpPrefix = []byte("HTTP/1.")

// parseStart parses the request line or status line at the start of p.
//
//	request-line = method SP request-target SP HTTP-version CRLF
//	status-line  = HTTP-version SP status-code SP [ reason-phrase ] CRLF
func parseStart(p []byte, s *startLine) int {
	if len(p) >= 5 && p[0] == 'H' && p[1] == 'T' && p[2] == 'T' && p[3] == 'P' && p[4] == '/' {
		return parseStatus(p, s)
	}
	sp := bytes.IndexByte(p[:min(len(p), 8)], ' ')
	if sp < 0 || !isMethod(p[:sp]) {
		return startNone
	}
	*s = startLine{kind: dissectors.Request, method: p[:sp]}
	rest := p[sp+1:]
	i := 0
	for i < len(rest) && rest[i] > ' ' && rest[i] < 0x7f {
		i++
	}
	if i == len(rest) {
		return startShort
	}
	if i == 0 || rest[i] != ' ' {
		return startBad
	}
	s.target = rest[:i]
	v := rest[i+1:]
	if len(v) < len(httpPrefix)+1 {
		if bytes.HasPrefix(httpPrefix, v) {
			return startShort
		}
		return startBad
	}
	if !bytes.HasPrefix(v, httpPrefix) || (v[7] != '0' && v[7] != '1') {
		return startBad
	}
	s.version = v[5:8]
	return lineEnd(p, sp+1+i+1+8, s)
}

func parseStatus(p []byte, s *startLine) int {
	// "HTTP/1.x SP DDD"
	if len(p) < 12 {
		if len(p) < len(httpPrefix) {
			return startNone // "HTTP/" alone may be body text
		}
		if !bytes.HasPrefix(p, httpPrefix) {
			return startNone
		}
		return startShort
	}
	if !bytes.HasPrefix(p, httpPrefix) || (p[7] != '0' && p[7] != '1') || p[8] != ' ' {
		return startNone
	}
	code := 0
	for _, c := range p[9:12] {
		if c < '0' || c > '9' {
			return startBad
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 {
		return startBad
	}
	*s = startLine{kind: dissectors.Response, version: p[5:8], code: code}
	return lineEnd(p, 12, s)
}

// lineEnd checks that the start line's fixed part ending at i is followed by
// the end of the line (a reason phrase for a status line) and records where
// the next line starts.
func lineEnd(p []byte, i int, s *startLine) int {
	if i < len(p) {
		switch p[i] {
		case '\r', '\n':
		case ' ':
			if s.kind == dissectors.Request {
				return startBad
			}
		default:
			return startBad
		}
	}
	nl := bytes.IndexByte(p[i:], '\n')
	if nl < 0 {
		s.lineEnd = len(p)
	} else {
		s.lineEnd = i + nl + 1
	}
	return startOK
}

// isMethod reports whether m is one of the RFC 9110 §9 methods or PATCH
// (RFC 5789).
func isMethod(m []byte) bool {
	switch string(m) {
	// A method added here needs its first letter in FirstByte.
	case "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE":
		return true
	}
	return false
}

// headers holds the header fields the dissector uses; slices alias the
// payload.
type headers struct {
	host          []byte
	contentLength int64 // -1 when absent or invalid
	chunked       bool
	trace         TraceValues
}

// parse reads header lines from p[i:] and returns the offset after the
// empty line that ends them, or -1 when the segment ends first (the rest
// arrives in the next segment and is not parsed).
func (h *headers) parse(p []byte, i int) int {
	h.contentLength = -1
	var lower [20]byte
	for i < len(p) {
		nl := bytes.IndexByte(p[i:], '\n')
		if nl < 0 {
			return -1
		}
		line := p[i : i+nl]
		i += nl + 1
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) == 0 {
			return i
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || colon >= len(lower) || usedNameLens&(1<<colon) == 0 {
			continue // obs-fold continuation, junk, or a name we do not use
		}
		name := lower[:colon]
		for j, c := range line[:colon] {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			name[j] = c
		}
		value := line[colon+1:]
		switch string(name) {
		case "host":
			if h.host == nil {
				h.host = trimSpace(value)
			}
		case "content-length":
			if h.contentLength < 0 {
				h.contentLength = ParseUint(trimSpace(value))
			}
		case "transfer-encoding":
			// chunked is the last coding when present (RFC 9112 §6.1).
			value = trimSpace(value)
			h.chunked = len(value) >= 7 && bytes.EqualFold(value[len(value)-7:], chunkedToken)
		default:
			if t := TraceHeader(name); t >= 0 && h.trace[t] == nil {
				h.trace[t] = trimSpace(value)
			}
		}
	}
	return -1
}

var chunkedToken = []byte("chunked")

// usedNameLens has bit n set when a header name of length n is one parse
// looks at: host 4, content-length 14, transfer-encoding 17, and the trace
// headers b3 2, sw8 3, traceparent and x-b3-spanid 11, x-b3-traceid and
// x-request-id 12, uber-trace-id 13.
const usedNameLens = 1<<2 | 1<<3 | 1<<4 | 1<<11 | 1<<12 | 1<<13 | 1<<14 | 1<<17

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// ParseUint parses a decimal header value (Content-Length, a status),
// -1 when it is not one; HTTP/2 shares it.
func ParseUint(b []byte) int64 {
	if len(b) == 0 || len(b) > 15 {
		return -1
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// bodyLen returns the length of the body that follows the headers (RFC 9112
// §6.3), or -1 when it is not known from this segment: a response delimited
// by the connection's close, or chunks that continue past the segment.
func bodyLen(s *startLine, h *headers, body []byte) int {
	if s.kind == dissectors.Response && (s.code < 200 || s.code == 204 || s.code == 304) {
		return 0
	}
	if h.chunked {
		return chunkedLen(body)
	}
	if h.contentLength >= 0 {
		if h.contentLength > 1<<31 {
			return -1
		}
		return int(h.contentLength)
	}
	if s.kind == dissectors.Request {
		return 0 // a request without Content-Length or chunking has no body (§6.3 point 6)
	}
	return -1 // a response delimited by the connection's close
}

// chunkedLen returns the length of a chunked body (chunks, last chunk,
// trailers, final CRLF) when it ends within b, else -1.
//
//	chunked-body = *chunk last-chunk trailer-section CRLF
//	chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
func chunkedLen(b []byte) int {
	i := 0
	for {
		nl := bytes.IndexByte(b[i:], '\n')
		if nl < 0 {
			return -1
		}
		size, digits := 0, 0
		for _, c := range b[i : i+nl] {
			var v int
			switch {
			case '0' <= c && c <= '9':
				v = int(c - '0')
			case 'a' <= c && c <= 'f':
				v = int(c-'a') + 10
			case 'A' <= c && c <= 'F':
				v = int(c-'A') + 10
			default:
				v = -1
			}
			if v < 0 {
				break
			}
			size = size<<4 | v
			digits++
			if digits > 7 {
				return -1
			}
		}
		if digits == 0 {
			return -1
		}
		i += nl + 1
		if size == 0 {
			// trailer fields, then the empty line
			for {
				nl := bytes.IndexByte(b[i:], '\n')
				if nl < 0 {
					return -1
				}
				empty := nl == 0 || (nl == 1 && b[i] == '\r')
				i += nl + 1
				if empty {
					return i
				}
			}
		}
		i += size
		if i >= len(b) {
			return -1
		}
		if b[i] == '\r' {
			i++
		}
		if i >= len(b) || b[i] != '\n' {
			return -1
		}
		i++
	}
}
