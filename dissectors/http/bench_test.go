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
	for _, bc := range []struct {
		name, payload string
		toServer      bool
	}{
		{"msg=request", browserReq, true},
		{"msg=response", resp, false},
		{"msg=sw8", "POST /a HTTP/1.1\r\nHost: h\r\nsw8: " + http.SW8 + "\r\nContent-Length: 3\r\n\r\nabc", true},
		{"msg=pipelined3", http.GetReq + http.PostReq + http.GetReq, true},
		{"msg=body", `{"id":42,"name":"alice","email":"alice@example.com"}`, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d := http.New()
			p := []byte(bc.payload)
			m := &dissectors.Meta{Proto: 6, ClientPort: 40000, ServerPort: 80, ToServer: bc.toServer, PayloadLen: uint32(len(p))}
			dst := make([]dissectors.Record, 0, 8)
			b.ReportAllocs()
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				d.Check(p, m)
				dst, _ = d.Parse(dst[:0], p, m)
			}
		})
	}
}

func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	pkts := dtest.Read(t, "testdata/http1_errors_trace.pcap")
	pkts = append(pkts, dtest.Read(t, dtest.Shared(t, "ndpi", "http_on_sip_port.pcap"))...)
	dtest.NoAllocs(t, http.New(), pkts)
}
