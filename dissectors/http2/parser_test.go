package http2

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dissectors"
)

// HPACK and frame builders for hand-made payloads.

func hpackInt(first byte, prefix uint, v int) []byte {
	max := 1<<prefix - 1
	if v < max {
		return []byte{first | byte(v)}
	}
	out := []byte{first | byte(max)}
	v -= max
	for v >= 128 {
		out = append(out, byte(v%128)|0x80)
		v /= 128
	}
	return append(out, byte(v))
}

func hpackStr(s string, huff bool) []byte {
	if huff {
		h := huffEncode(s)
		return append(hpackInt(0x80, 7, len(h)), h...)
	}
	return append(hpackInt(0, 7, len(s)), s...)
}

// indexed is an indexed header field.
func indexed(i int) []byte { return hpackInt(0x80, 7, i) }

// literal is a literal without indexing with a new name.
func literal(name, value string) []byte {
	return append(append([]byte{0}, hpackStr(name, false)...), hpackStr(value, false)...)
}

// literalHuff is a literal with incremental indexing, new name, both
// Huffman-coded.
func literalHuff(name, value string) []byte {
	return append(append([]byte{0x40}, hpackStr(name, true)...), hpackStr(value, true)...)
}

// literalName is a literal without indexing with an indexed name.
func literalName(i int, value string) []byte {
	return append(hpackInt(0, 4, i), hpackStr(value, false)...)
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func frame(typ, flags uint8, stream uint32, payload []byte) []byte {
	n := len(payload)
	return append([]byte{byte(n >> 16), byte(n >> 8), byte(n), typ, flags,
		byte(stream >> 24), byte(stream >> 16), byte(stream >> 8), byte(stream)}, payload...)
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

var (
	settings = frame(typeSettings, 0, 0, []byte{0, 3, 0, 0, 0, 100, 0, 4, 0, 0x10, 0, 0})
	// RFC 7541 C.4.1 and C.4.2: GET http://www.example.com/, then a
	// second request whose :authority is dynamic index 62.
	c41 = unhex("828684418cf1e3c2e5f23a6ba0ab90f4ff")
	c42 = unhex("828684be5886a8eb10649cbf")

	grpcReq = cat(indexed(3), indexed(6), literalName(4, "/shop.v1.Orders/Create"), literalName(1, "orders:7070"),
		literalName(31, "application/grpc"), literal("te", "trailers"),
		literal("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
	grpcResp     = cat(indexed(8), literalName(31, "application/grpc+proto"))
	grpcTrailers = cat(literal("grpc-status", "14"), literal("grpc-message", "upstream connect error"))
	grpcMsg      = []byte{0, 0, 0, 0, 3, 0x0a, 0x01, 0x41}
)

type rec struct {
	kind     dissectors.Kind
	proto    dissectors.Protocol
	key      uint64
	code     int32 // -1: none
	status   dissectors.Status
	len      uint32
	method   string
	domain   string
	resource string
	endpoint string
	trace    string
	span     string
	exc      string
}

func got(r *dissectors.Record) rec {
	g := rec{kind: r.Kind, proto: r.Protocol, key: r.Key, code: -1, status: r.Status, len: r.Len,
		method: r.String(r.RequestType), domain: r.String(r.RequestDomain), resource: r.String(r.RequestResource),
		endpoint: r.String(r.Endpoint), trace: r.String(r.TraceID), span: r.String(r.SpanID), exc: r.String(r.Exception)}
	if r.HasCode {
		g.code = r.Code
	}
	return g
}

func meta(toServer bool, n int) *dissectors.Meta {
	return &dissectors.Meta{Proto: 6, ClientPort: 40000, ServerPort: 7070, ToServer: toServer, PayloadLen: uint32(n)}
}

func TestParse(t *testing.T) {
	getWWW := rec{kind: dissectors.Request, proto: dissectors.ProtoHTTP2, key: 1, code: -1, len: uint32(len(c41)),
		method: "GET", domain: "www.example.com", resource: "/", endpoint: "/"}
	grpcReqRec := rec{kind: dissectors.Request, proto: dissectors.ProtoGRPC, key: 1, code: -1, len: uint32(len(grpcReq)),
		method: "POST", domain: "orders:7070", resource: "shop.v1.Orders", endpoint: "/shop.v1.Orders/Create",
		trace: "4bf92f3577b34da6a3ce929d0e0e4736", span: "00f067aa0ba902b7"}
	for _, tc := range []struct {
		name     string
		payload  []byte
		toServer bool
		want     []rec
	}{
		{name: "preface settings headers", toServer: true,
			payload: cat(preface, settings, frame(typeHeaders, flagEndHeaders|flagEndStream, 1, c41)),
			want:    []rec{getWWW}},
		{name: "dynamic entry from the same segment", toServer: true,
			payload: cat(frame(typeHeaders, flagEndHeaders|flagEndStream, 1, c41), frame(typeHeaders, flagEndHeaders|flagEndStream, 3, c42)),
			want: []rec{getWWW, {kind: dissectors.Request, proto: dissectors.ProtoHTTP2, key: 3, code: -1, len: uint32(len(c42)),
				method: "GET", domain: "www.example.com", resource: "/", endpoint: "/"}}},
		{name: "dynamic entry from an earlier segment is unknown", toServer: true,
			payload: frame(typeHeaders, flagEndHeaders|flagEndStream, 3, c42),
			want: []rec{{kind: dissectors.Request, proto: dissectors.ProtoHTTP2, key: 3, code: -1, len: uint32(len(c42)),
				method: "GET", resource: "/", endpoint: "/"}}},
		{name: "huffman literals and b3", toServer: true,
			payload: frame(typeHeaders, flagEndHeaders, 5, cat(indexed(3), literalHuff(":path", "/api/v1/items/9?x=1"),
				literalHuff(":authority", "shop.example"), literalName(28, "12"),
				literalHuff("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1"))),
			want: []rec{{kind: dissectors.Request, proto: dissectors.ProtoHTTP2, key: 5, code: -1, len: 0, // len set below
				method: "POST", domain: "shop.example", resource: "/api/v1/items/9?x=1", endpoint: "/api/v1",
				trace: "80f198ee56343ba864fe8b2a57d3eff7", span: "e457b5a2e4d86bd1"}}},
		{name: "response 404 with data", payload: cat(frame(typeHeaders, flagEndHeaders, 1, cat(indexed(13), literalName(31, "text/plain"))),
			frame(typeData, flagEndStream, 1, []byte("not found"))),
			want: []rec{{kind: dissectors.Response, proto: dissectors.ProtoHTTP2, key: 1, code: 404, status: dissectors.StatusClientError,
				len: 14 + 9}}},
		{name: "response 503", payload: frame(typeHeaders, flagEndHeaders|flagEndStream, 7, literalName(8, "503")),
			want: []rec{{kind: dissectors.Response, proto: dissectors.ProtoHTTP2, key: 7, code: 503, status: dissectors.StatusServerError, len: 5}}},
		{name: "grpc request with message", toServer: true,
			payload: cat(frame(typeHeaders, flagEndHeaders, 1, grpcReq), frame(typeData, flagEndStream, 1, grpcMsg)),
			want:    []rec{func() rec { r := grpcReqRec; r.len += uint32(len(grpcMsg)); return r }()}},
		{name: "grpc response and trailers in one segment",
			payload: cat(frame(typeWindowUpdate, 0, 0, []byte{0, 0, 0, 8}), frame(typeHeaders, flagEndHeaders, 1, grpcResp),
				frame(typeData, 0, 1, grpcMsg), frame(typeHeaders, flagEndHeaders|flagEndStream, 1, grpcTrailers)),
			want: []rec{{kind: dissectors.Response, proto: dissectors.ProtoGRPC, key: 1, code: 14, status: dissectors.StatusServerError,
				len: uint32(len(grpcResp) + len(grpcMsg) + len(grpcTrailers)), exc: "upstream connect error"}}},
		{name: "grpc trailers alone",
			payload: frame(typeHeaders, flagEndHeaders|flagEndStream, 9, cat(literal("grpc-status", "0"), literal("grpc-message", ""))),
			want:    []rec{{kind: dissectors.Response, proto: dissectors.ProtoGRPC, key: 9, code: 0, len: 30}}},
		{name: "grpc trailers-only response",
			payload: frame(typeHeaders, flagEndHeaders|flagEndStream, 3, cat(grpcResp, literal("grpc-status", "12"),
				literal("grpc-message", "unknown method"))),
			want: []rec{{kind: dissectors.Response, proto: dissectors.ProtoGRPC, key: 3, code: 12, status: dissectors.StatusServerError,
				len: uint32(len(grpcResp)) + 45, exc: "unknown method"}}},
		{name: "request trailers yield nothing", toServer: true,
			payload: frame(typeHeaders, flagEndHeaders|flagEndStream, 1, literal("x-checksum", "abc")), want: nil},
		{name: "continuation", toServer: true,
			payload: cat(frame(typeHeaders, 0, 1, grpcReq[:20]), frame(typeContinuation, 0, 1, grpcReq[20:40]),
				frame(typeContinuation, flagEndHeaders, 1, grpcReq[40:])),
			want: []rec{grpcReqRec}},
		{name: "padded with priority", toServer: true,
			payload: frame(typeHeaders, flagEndHeaders|flagPadded|flagPriority, 1, cat([]byte{4, 0, 0, 0, 0, 16}, c41, []byte{0, 0, 0, 0})),
			want:    []rec{func() rec { r := getWWW; r.len = uint32(len(c41) + 10); return r }()}},
		{name: "headers cut by the segment end", toServer: true,
			payload: frame(typeHeaders, flagEndHeaders, 1, grpcReq)[:9+40],
			want: []rec{{kind: dissectors.Request, proto: dissectors.ProtoGRPC, key: 1, code: -1, len: uint32(len(grpcReq)),
				method: "POST", domain: "orders:7070", resource: "shop.v1.Orders", endpoint: "/shop.v1.Orders/Create"}}},
		{name: "mid-connection grpc by path shape", toServer: true,
			payload: frame(typeHeaders, flagEndHeaders, 11, cat(indexed(3), indexed(70), literalName(4, "/shop.v1.Orders/Get"), indexed(66))),
			want: []rec{{kind: dissectors.Request, proto: dissectors.ProtoGRPC, key: 11, code: -1, len: 24,
				method: "POST", resource: "shop.v1.Orders", endpoint: "/shop.v1.Orders/Get"}}},
		{name: "mid-connection rest post stays http2", toServer: true,
			payload: frame(typeHeaders, flagEndHeaders, 11, cat(indexed(3), indexed(70), literalName(4, "/api/items"))),
			want: []rec{{kind: dissectors.Request, proto: dissectors.ProtoHTTP2, key: 11, code: -1, len: 14,
				method: "POST", resource: "/api/items", endpoint: "/api/items"}}},
		{name: "data continuing a frame", payload: []byte("\x7b\x22id\x22:42,\x22name\x22:\x22alice\x22}"), want: nil},
		{name: "preface only", toServer: true, payload: preface, want: nil},
		{name: "settings ping goaway", payload: cat(settings, frame(typePing, 0, 0, make([]byte, 8)), frame(typeGoAway, 0, 0, make([]byte, 8))), want: nil},
		{name: "bad hpack", toServer: true, payload: frame(typeHeaders, flagEndHeaders, 1, []byte{0x80}), want: nil},
		{name: "empty", payload: nil, want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pre [1]dissectors.Record
			pre[0].SetString(&pre[0].RequestType, "keep")
			out, err := New().Parse(pre[:1:1], tc.payload, meta(tc.toServer, len(tc.payload)))
			require.NoError(t, err)
			require.Equal(t, "keep", out[0].String(out[0].RequestType))
			var g []rec
			for i := range out[1:] {
				r := &out[1+i]
				require.True(t, r.HasKey)
				require.Equal(t, "2", r.String(r.Version))
				g = append(g, got(r))
			}
			if tc.name == "huffman literals and b3" {
				tc.want[0].len = uint32(len(tc.payload) - 9 + 12)
			}
			require.Equal(t, tc.want, g)
		})
	}
}

func TestCheck(t *testing.T) {
	d := New()
	for _, tc := range []struct {
		name    string
		payload []byte
		proto   uint8
		want    bool
	}{
		{"preface", cat(preface, settings), 6, true},
		{"preface over udp", cat(preface, settings), 17, false},
		{"mid-connection request", cat(frame(typeWindowUpdate, 0, 0, []byte{0, 0, 1, 0}), frame(typeHeaders, flagEndHeaders, 13, grpcReq)), 6, true},
		{"mid-connection response", frame(typeHeaders, flagEndHeaders, 13, grpcResp), 6, true},
		{"mid-connection dynamic refs", frame(typeHeaders, flagEndHeaders, 13, cat(indexed(3), indexed(70), indexed(64))), 6, true},
		{"settings only", settings, 6, false},
		{"trailers only", frame(typeHeaders, flagEndHeaders|flagEndStream, 1, grpcTrailers), 6, false},
		{"data only", frame(typeData, 0, 1, grpcMsg), 6, false},
		{"headers on stream 0", frame(typeHeaders, flagEndHeaders, 0, c41), 6, false},
		{"undefined flag", frame(typeHeaders, flagEndHeaders|0x40, 1, c41), 6, false},
		{"frame cut", frame(typeHeaders, flagEndHeaders, 1, c41)[:15], 6, false},
		{"bad hpack", frame(typeHeaders, flagEndHeaders, 1, []byte{0x80}), 6, false},
		{"settings with bad length", frame(typeSettings, 0, 0, []byte{0, 3, 0}), 6, false},
		{"tls client hello", unhex("160301020001000001fc0303a1b2c3d4e5f60718293a4b5c6d7e8f"), 6, false},
		{"tls application data", unhex("17030300450000000000000001a1b2c3d4e5f60718293a4b5c6d7e8f"), 6, false},
		{"http/1", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 6, false},
		{"mysql greeting", unhex("4a0000000a382e302e3333000800000034"), 6, false},
		{"kafka request", unhex("0000001f00120003000000010009636f6e73756d6572"), 6, false},
		{"zeros", make([]byte, 64), 6, false},
		{"empty", nil, 6, false},
	} {
		require.Equal(t, tc.want, d.Check(tc.payload, &dissectors.Meta{Proto: tc.proto}), tc.name)
	}
}

func TestService(t *testing.T) {
	for in, want := range map[string]string{
		"/pkg.Service/Method": "pkg.Service",
		"/Service/Method":     "Service",
		"/":                   "/",
		"/only":               "/only",
		"":                    "",
	} {
		require.Equal(t, want, string(service([]byte(in))), in)
	}
}

func TestReadInt(t *testing.T) {
	// RFC 7541 C.1: 10 in a 5-bit prefix, 1337 in a 5-bit prefix, 42 in 8 bits.
	v, rest, ok := readInt([]byte{0x0a, 0xff}, 5)
	require.True(t, ok)
	require.EqualValues(t, 10, v)
	require.Equal(t, []byte{0xff}, rest)
	v, _, ok = readInt([]byte{0x1f, 0x9a, 0x0a}, 5)
	require.True(t, ok)
	require.EqualValues(t, 1337, v)
	v, _, ok = readInt([]byte{0x2a}, 8)
	require.True(t, ok)
	require.EqualValues(t, 42, v)
	_, _, ok = readInt([]byte{0x1f, 0x9a}, 5) // cut
	require.False(t, ok)
	_, _, ok = readInt([]byte{0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 5) // too large
	require.False(t, ok)
}
