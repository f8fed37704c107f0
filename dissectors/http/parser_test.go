package http

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dissectors"
)

// rec is the expected content of one record.
type rec struct {
	kind                            dissectors.Kind
	code                            int32 // 0: no code
	status                          dissectors.Status
	len                             uint32
	version, method, domain         string
	resource, endpoint, trace, span string
}

func got(r *dissectors.Record) rec {
	g := rec{kind: r.Kind, status: r.Status, len: r.Len,
		version: r.String(r.Version), method: r.String(r.RequestType), domain: r.String(r.RequestDomain),
		resource: r.String(r.RequestResource), endpoint: r.String(r.Endpoint),
		trace: r.String(r.TraceID), span: r.String(r.SpanID)}
	if r.HasCode {
		g.code = r.Code
	}
	return g
}

func meta(toServer bool, n int) *dissectors.Meta {
	return &dissectors.Meta{Proto: 6, ClientPort: 40000, ServerPort: 80, ToServer: toServer, PayloadLen: uint32(n)}
}

const (
	getReq = "GET /api/v1/users/42?verbose=1 HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: curl/8\r\n" +
		"traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n"
	postReq = "POST /api/v1/items HTTP/1.1\r\nhost: shop.example\r\nContent-Length: 5\r\n\r\nhello"
	okResp  = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
	sw8     = "1-YTljNGU3ZjJiMWQwNGUzYzhmNmE1YjJjMWQwZTlmOGEuMTAxLjE3MDAwMDAwMDAwMDAwMDAx-" +
		"NWUwZjNjMmExYjlkNGM4ZS4xMDEuMTcwMDAwMDAwMDAwMDAwMDI=-3-ZnJvbnRlbmQ=-ZnJvbnRlbmQtN2Q5ZkAxMC4wLjAuNQ==-" +
		"L2FwaS92MS9pdGVtcw==-MTI3LjAuMC4xOjE4MDgw"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name     string
		payload  string
		toServer bool
		want     []rec
		err      error
	}{
		{name: "get with traceparent", payload: getReq, toServer: true, want: []rec{{
			kind: dissectors.Request, len: uint32(len(getReq)), version: "1.1", method: "GET", domain: "shop.example",
			resource: "/api/v1/users/42?verbose=1", endpoint: "/api/v1",
			trace: "0af7651916cd43dd8448eb211c80319c", span: "b7ad6b7169203331"}}},
		{name: "sw8", payload: "POST /a HTTP/1.1\r\nSW8: " + sw8 + "\r\nContent-Length: 3\r\n\r\nabc", toServer: true, want: []rec{{
			kind: dissectors.Request, len: uint32(len("POST /a HTTP/1.1\r\nSW8: " + sw8 + "\r\nContent-Length: 3\r\n\r\nabc")),
			version: "1.1", method: "POST", resource: "/a", endpoint: "/a",
			trace: "a9c4e7f2b1d04e3c8f6a5b2c1d0e9f8a.101.17000000000000001", span: "5e0f3c2a1b9d4c8e.101.17000000000000002-3"}}},
		{name: "traceparent wins over sw8 and x-request-id", payload: "GET / HTTP/1.1\r\nx-request-id: rid\r\nsw8: " + sw8 +
			"\r\nTraceparent: 00-aaaa-bbbb-01\r\n\r\n", toServer: true, want: []rec{{
			kind: dissectors.Request, len: 74 + uint32(len(sw8)), version: "1.1", method: "GET", resource: "/", endpoint: "/",
			trace: "aaaa", span: "bbbb"}}},
		{name: "b3 single", payload: "DELETE /x/y/z HTTP/1.1\r\nb3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90\r\n\r\n",
			toServer: true, want: []rec{{kind: dissectors.Request, len: 100, version: "1.1", method: "DELETE",
				resource: "/x/y/z", endpoint: "/x/y", trace: "80f198ee56343ba864fe8b2a57d3eff7", span: "e457b5a2e4d86bd1"}}},
		{name: "b3 sampling only falls back to x-request-id", payload: "GET /q HTTP/1.1\r\nb3: 1\r\nX-Request-ID: 7f3c\r\n\r\n",
			toServer: true, want: []rec{{kind: dissectors.Request, len: 46, version: "1.1", method: "GET",
				resource: "/q", endpoint: "/q", trace: "7f3c"}}},
		{name: "b3 multi", payload: "GET /q HTTP/1.1\r\nX-B3-SpanId: a2fb4a1d1a96d312\r\nX-B3-TraceId: 463ac35c9f6413ad48485a3953bb6124\r\n\r\n",
			toServer: true, want: []rec{{kind: dissectors.Request, len: 98, version: "1.1", method: "GET",
				resource: "/q", endpoint: "/q", trace: "463ac35c9f6413ad48485a3953bb6124", span: "a2fb4a1d1a96d312"}}},
		{name: "uber-trace-id", payload: "GET /q HTTP/1.1\r\nuber-trace-id: 5af7183fb1d4cf5f:6f1b2c:0:1\r\n\r\n",
			toServer: true, want: []rec{{kind: dissectors.Request, len: 63, version: "1.1", method: "GET",
				resource: "/q", endpoint: "/q", trace: "5af7183fb1d4cf5f", span: "6f1b2c"}}},
		{name: "http/1.0 absolute-form", payload: "GET http://proxy.example/a/b/c?x HTTP/1.0\r\n\r\n", toServer: true, want: []rec{{
			kind: dissectors.Request, len: 45, version: "1.0", method: "GET", resource: "http://proxy.example/a/b/c?x", endpoint: "/a/b"}}},
		{name: "connect authority", payload: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", toServer: true, want: []rec{{
			kind: dissectors.Request, len: 59, version: "1.1", method: "CONNECT", domain: "example.com:443", resource: "example.com:443"}}},
		{name: "response 200", payload: okResp, want: []rec{{kind: dissectors.Response, code: 200, len: uint32(len(okResp)), version: "1.1"}}},
		{name: "response 404", payload: "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found", want: []rec{{
			kind: dissectors.Response, code: 404, status: dissectors.StatusClientError, len: 54, version: "1.1"}}},
		{name: "response 503 http/1.0 no length", payload: "HTTP/1.0 503 Service Unavailable\r\n\r\nbusy", want: []rec{{
			kind: dissectors.Response, code: 503, status: dissectors.StatusServerError, len: 40, version: "1.0"}}},
		{name: "content-length beyond the segment", payload: "HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n<html>", want: []rec{{
			kind: dissectors.Response, code: 200, len: 10042, version: "1.1"}}},
		{name: "status line without reason", payload: "HTTP/1.1 204\r\n\r\n", want: []rec{{
			kind: dissectors.Response, code: 204, len: 16, version: "1.1"}}},
		{name: "headers split over segments", payload: "HTTP/1.0 200 OK\r\n", want: []rec{{
			kind: dissectors.Response, code: 200, len: 17, version: "1.0"}}},
		{name: "pipelined requests", payload: getReq + postReq + "HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n", toServer: true, want: []rec{
			{kind: dissectors.Request, len: uint32(len(getReq)), version: "1.1", method: "GET", domain: "shop.example",
				resource: "/api/v1/users/42?verbose=1", endpoint: "/api/v1",
				trace: "0af7651916cd43dd8448eb211c80319c", span: "b7ad6b7169203331"},
			{kind: dissectors.Request, len: uint32(len(postReq)), version: "1.1", method: "POST", domain: "shop.example",
				resource: "/api/v1/items", endpoint: "/api/v1"},
			{kind: dissectors.Request, len: 29, version: "1.1", method: "HEAD", domain: "h", resource: "/h", endpoint: "/h"}}},
		{name: "pipelined responses with 100-continue and chunked", payload: "HTTP/1.1 100 Continue\r\n\r\n" +
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n" +
			"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n", want: []rec{
			{kind: dissectors.Response, code: 200, len: 82, version: "1.1"},
			{kind: dissectors.Response, code: 500, status: dissectors.StatusServerError, len: 57, version: "1.1"}}},
		{name: "head response then next response", payload: "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n" +
			"HTTP/1.1 301 Moved Permanently\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n", want: []rec{
			{kind: dissectors.Response, code: 200, len: 40, version: "1.1"},
			{kind: dissectors.Response, code: 301, len: 67, version: "1.1"}}},
		{name: "chunked request continuing", toServer: true, payload: "POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\nabc",
			want: []rec{{kind: dissectors.Request, len: 58, version: "1.1", method: "POST", resource: "/up", endpoint: "/up"}}},
		{name: "chunked body continuing", payload: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\nabc", want: []rec{
			{kind: dissectors.Response, code: 200, len: 56, version: "1.1"}}},
		{name: "body segment", payload: "{\"id\":42,\"name\":\"alice\"}", want: nil},
		{name: "http/2 preface is not http/1", payload: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", toServer: true, want: nil},
		{name: "rtsp", payload: "DESCRIBE rtsp://cam/stream RTSP/1.0\r\nCSeq: 1\r\n\r\n", toServer: true, want: nil},
		{name: "empty", payload: "", want: nil},
		{name: "request line cut", payload: "GET /very/long/path", toServer: true, err: dissectors.ErrShort},
		{name: "version cut", payload: "GET / HTT", toServer: true, err: dissectors.ErrShort},
		{name: "status cut", payload: "HTTP/1.1 2", err: dissectors.ErrShort},
		{name: "not http version", payload: "GET / HTTP/2.0\r\n\r\n", toServer: true, err: dissectors.ErrMalformed},
		{name: "bad status", payload: "HTTP/1.1 2x0 OK\r\n\r\n", err: dissectors.ErrMalformed},
		{name: "http/0.9 request", payload: "GET /\r\n", toServer: true, err: dissectors.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pre [1]dissectors.Record
			pre[0].SetString(&pre[0].RequestType, "keep")
			dst := pre[:1:1]
			out, err := New().Parse(dst, []byte(tc.payload), meta(tc.toServer, len(tc.payload)))
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				require.Len(t, out, 1)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "keep", out[0].String(out[0].RequestType))
			var g []rec
			for i := range out[1:] {
				require.Equal(t, dissectors.ProtoHTTP1, out[1+i].Protocol)
				g = append(g, got(&out[1+i]))
			}
			require.Equal(t, tc.want, g)
		})
	}
}

func TestPayloadLenBeyondCapture(t *testing.T) {
	// The capture cut the frame: Len is the payload length per the IP header.
	p := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	out, err := New().Parse(nil, []byte(p), &dissectors.Meta{Proto: 6, PayloadLen: 1400})
	require.NoError(t, err)
	require.Len(t, out, 1)
	require.EqualValues(t, 1400, out[0].Len)
}

func TestCheck(t *testing.T) {
	d := New()
	for _, tc := range []struct {
		payload string
		proto   uint8
		want    bool
	}{
		{getReq, 6, true},
		{postReq, 6, true},
		{okResp, 6, true},
		{"OPTIONS * HTTP/1.1\r\n\r\n", 6, true},
		{"PATCH /x HTTP/1.1\r\n", 6, true},
		{"TRACE / HTTP/1.0\n\n", 6, true},
		{"HTTP/1.0 200 OK\r\n", 6, true},
		{okResp, 17, false}, // SSDP answers look like HTTP but run over UDP
		{"M-SEARCH * HTTP/1.1\r\n", 6, false},
		{"GET / HTTP/2.0\r\n", 6, false},
		{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 6, false},
		{"SIP/2.0 200 OK\r\n", 6, false},
		{"RTSP/1.0 200 OK\r\n", 6, false},
		{"INVITE sip:bob@example.com SIP/2.0\r\n", 6, false},
		{"GET /", 6, false},
		{"get / HTTP/1.1\r\n", 6, false},
		{"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 6, false},
		{"", 6, false},
	} {
		require.Equal(t, tc.want, d.Check([]byte(tc.payload), &dissectors.Meta{Proto: tc.proto}), "%q", tc.payload)
	}
}

func TestEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"/a/b/c?x":                "/a/b",
		"/a":                      "/a",
		"/a?x=1/2/3":              "/a",
		"/":                       "/",
		"/a/b/":                   "/a/b",
		"/a/b#frag":               "/a/b",
		"http://h.example/a/b/c":  "/a/b",
		"https://h.example":       "/",
		"*":                       "",
		"example.com:443":         "",
		"/api/v1/users/42?full=1": "/api/v1",
	} {
		require.Equal(t, want, string(Endpoint([]byte(in))), in)
	}
}

func TestDecodeBase64(t *testing.T) {
	var buf [8]byte
	n, ok := decodeBase64(buf[:], []byte("aGVsbG8="))
	require.True(t, ok)
	require.Equal(t, "hello", string(buf[:n]))
	n, ok = decodeBase64(buf[:], []byte("aGVsbG8"))
	require.True(t, ok)
	require.Equal(t, "hello", string(buf[:n]))
	_, ok = decodeBase64(buf[:], []byte("a*b"))
	require.False(t, ok)
	n, ok = decodeBase64(buf[:4], []byte("aGVsbG8gd29ybGQ="))
	require.True(t, ok)
	require.Equal(t, "hell", string(buf[:n]))
}
