package http

import (
	"bytes"

	"github.com/tapflow/tapflow/dissectors"
)

// Trace context headers, in the order SetTrace prefers them for trace_id
// (DeepFlow's default order puts W3C first, then SkyWalking; B3, Jaeger and
// x-request-id follow as fallbacks).
const (
	TraceParent    = iota // traceparent: 00-<trace-id>-<parent-id>-<flags> (W3C Trace Context §3.2)
	TraceSW8              // sw8: 1-<b64 trace id>-<b64 segment id>-<span id>-<b64 service>-… (SkyWalking Cross Process Propagation Headers Protocol v3)
	TraceB3               // b3: <trace id>-<span id>[-<sampled>[-<parent span id>]] (openzipkin/b3-propagation, single header)
	TraceB3TraceID        // X-B3-TraceId (B3 multi-header)
	TraceB3SpanID         // X-B3-SpanId (B3 multi-header)
	TraceUber             // uber-trace-id: <trace id>:<span id>:<parent id>:<flags> (Jaeger)
	TraceRequestID        // x-request-id: trace_id only when no other trace header is present
	NumTrace
)

// TraceValues holds the values of the trace headers of one message, indexed
// by the Trace* constants; nil when absent. The slices alias the caller's
// buffers.
type TraceValues [NumTrace][]byte

// TraceHeader returns the Trace* index of a header name given in lower case
// (HTTP/2 names are lower case on the wire; HTTP/1 callers lower-case first),
// or -1 when the header carries no trace context.
func TraceHeader(lower []byte) int {
	switch string(lower) { // a switch on string(b) does not allocate
	case "traceparent":
		return TraceParent
	case "sw8":
		return TraceSW8
	case "b3":
		return TraceB3
	case "x-b3-traceid":
		return TraceB3TraceID
	case "x-b3-spanid":
		return TraceB3SpanID
	case "uber-trace-id":
		return TraceUber
	case "x-request-id":
		return TraceRequestID
	}
	return -1
}

// SetTrace fills r.TraceID and r.SpanID from the first trace header of v that
// parses, in Trace* order: traceparent (trace id, parent id), sw8 (the
// base64-decoded trace id; span id = decoded segment id + "-" + span id, as
// DeepFlow builds it), b3 (trace id, span id), X-B3-TraceId/X-B3-SpanId,
// uber-trace-id (trace id, span id), and x-request-id (trace id only).
func SetTrace(r *dissectors.Record, v *TraceValues) {
	if f := v[TraceParent]; f != nil {
		// version "-" trace-id "-" parent-id "-" flags
		_, rest, ok1 := cut(f, '-')
		trace, rest, ok2 := cut(rest, '-')
		span, _, _ := cut(rest, '-')
		if ok1 && ok2 && len(trace) > 0 && len(span) > 0 {
			r.Set(&r.TraceID, trace)
			r.Set(&r.SpanID, span)
			return
		}
	}
	if f := v[TraceSW8]; f != nil && setSW8(r, f) {
		return
	}
	if f := v[TraceB3]; f != nil {
		trace, rest, ok := cut(f, '-')
		span, _, _ := cut(rest, '-')
		if ok && len(trace) > 1 && len(span) > 0 { // a lone "0"/"1"/"d" is a sampling decision
			r.Set(&r.TraceID, trace)
			r.Set(&r.SpanID, span)
			return
		}
	}
	if f := v[TraceB3TraceID]; len(f) > 0 {
		r.Set(&r.TraceID, f)
		if s := v[TraceB3SpanID]; len(s) > 0 {
			r.Set(&r.SpanID, s)
		}
		return
	}
	if f := v[TraceUber]; f != nil {
		trace, rest, ok := cut(f, ':')
		span, _, _ := cut(rest, ':')
		if ok && len(trace) > 0 && len(span) > 0 {
			r.Set(&r.TraceID, trace)
			r.Set(&r.SpanID, span)
			return
		}
	}
	if f := v[TraceRequestID]; len(f) > 0 {
		r.Set(&r.TraceID, f)
	}
}

// setSW8 parses a SkyWalking v3 header: sample-traceId-segmentId-spanId-
// service-instance-endpoint-target, the ids base64 (standard alphabet).
func setSW8(r *dissectors.Record, f []byte) bool {
	_, rest, ok1 := cut(f, '-')
	trace, rest, ok2 := cut(rest, '-')
	seg, rest, ok3 := cut(rest, '-')
	span, _, _ := cut(rest, '-')
	if !ok1 || !ok2 || !ok3 || len(trace) == 0 || len(seg) == 0 {
		return false
	}
	var buf [96]byte
	n, ok := decodeBase64(buf[:], trace)
	if !ok || n == 0 {
		return false
	}
	r.Set(&r.TraceID, buf[:n])
	if n, ok = decodeBase64(buf[:], seg); ok && n > 0 {
		r.Set(&r.SpanID, buf[:n])
	} else {
		r.Set(&r.SpanID, seg)
	}
	r.Append(&r.SpanID, dash)
	r.Append(&r.SpanID, span)
	return true
}

var dash = []byte{'-'}

// cut splits s around the first sep byte, as bytes.Cut does for a
// one-byte separator.
func cut(s []byte, sep byte) (before, after []byte, found bool) {
	if i := bytes.IndexByte(s, sep); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, nil, false
}

// b64 maps a base64 character (standard or URL alphabet) to its value, 0xff
// when invalid.
var b64 = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(std); i++ {
		t[std[i]] = byte(i)
	}
	t['-'], t['_'] = 62, 63
	return t
}()

// decodeBase64 decodes src (padded or not) into dst, stopping when dst is
// full. It reports false on a character outside the alphabet.
func decodeBase64(dst, src []byte) (int, bool) {
	for len(src) > 0 && src[len(src)-1] == '=' {
		src = src[:len(src)-1]
	}
	n := 0
	var acc uint32
	bits := 0
	for _, c := range src {
		v := b64[c]
		if v == 0xff {
			return n, false
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 8 {
			bits -= 8
			if n == len(dst) {
				return n, true
			}
			dst[n] = byte(acc >> bits)
			n++
		}
	}
	return n, true
}

// Endpoint returns DeepFlow's endpoint for a request target: the path's
// first two segments without query or fragment (`/a/b/c?x` → `/a/b`,
// `/a` → `/a`). An absolute-form target (`http://host/a/b/c`) is reduced to
// its path first. It returns nil for targets that are not paths (`*`, a
// CONNECT authority). The result aliases path.
func Endpoint(path []byte) []byte {
	if i := bytes.Index(path, schemeSep); i > 0 && i <= 5 {
		rest := path[i+3:]
		j := bytes.IndexByte(rest, '/')
		if j < 0 {
			return slash
		}
		path = rest[j:]
	}
	if len(path) == 0 || path[0] != '/' {
		return nil
	}
	slashes := 0
	for i, c := range path {
		switch c {
		case '?', '#':
			return path[:i]
		case '/':
			slashes++
			if slashes == 3 {
				return path[:i]
			}
		}
	}
	return path
}

var (
	schemeSep = []byte("://")
	slash     = []byte{'/'}
)
