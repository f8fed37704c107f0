package http_test

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/http"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func BenchmarkParse(b *testing.B) {
	browserReq := "GET /api/v1/users/42?verbose=1&fields=name,email HTTP/1.1\r\nHost: shop.example.com\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n" +
		"Accept: application/json, text/plain, */*\r\nAccept-Language: en-US,en;q=0.9\r\nAccept-Encoding: gzip, deflate\r\n" +
		"Cookie: session=8f14e45fceea167a5a36dedd4bea2543; theme=dark\r\n" +
		"traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n"
	resp := "HTTP/1.1 200 OK\r\nDate: Tue, 25 Nov 2025 18:39:18 GMT\r\nContent-Type: application/json\r\n" +
		"Content-Length: 24\r\nCache-Control: no-cache\r\n\r\n{\"id\":42,\"name\":\"alice\"}"
	dtest.BenchCases(b, http.New(), dissectors.Meta{Proto: 6, ClientPort: 40000, ServerPort: 80}, []dtest.Case{
		{Name: "msg=request", Payload: []byte(browserReq), ToServer: true},
		{Name: "msg=response", Payload: []byte(resp)},
		{Name: "msg=sw8", Payload: []byte("POST /a HTTP/1.1\r\nHost: h\r\nsw8: " + http.SW8 + "\r\nContent-Length: 3\r\n\r\nabc"), ToServer: true},
		{Name: "msg=pipelined3", Payload: []byte(http.GetReq + http.PostReq + http.GetReq), ToServer: true},
		{Name: "msg=body", Payload: []byte(`{"id":42,"name":"alice","email":"alice@example.com"}`)},
	})
}

func TestNoAllocs(t *testing.T) {
	pkts := dtest.Read(t, "testdata/http1_errors_trace.pcap")
	pkts = append(pkts, dtest.Read(t, dtest.Shared(t, "ndpi", "http_on_sip_port.pcap"))...)
	dtest.NoAllocs(t, http.New(), pkts)
}
