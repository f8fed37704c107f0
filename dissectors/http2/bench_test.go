package http2_test

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/http2"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func BenchmarkParse(b *testing.B) {
	var cases []dtest.Case
	for _, p := range http2.BenchPayloads {
		cases = append(cases, dtest.Case{Name: p.Name, Payload: p.Payload, ToServer: p.ToServer})
	}
	dtest.BenchCases(b, http2.New(), dissectors.Meta{Proto: 6, ClientPort: 40000, ServerPort: 7070}, cases)
}

func BenchmarkHuffmanDecode(b *testing.B) {
	src := http2.HuffEncode("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36")
	var buf [256]byte
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		http2.HuffDecode(buf[:], src)
	}
}

func TestNoAllocs(t *testing.T) {
	pkts := dtest.Read(t, "testdata/grpc.pcap")
	pkts = append(pkts, dtest.Read(t, "testdata/h2c.pcap")...)
	dtest.NoAllocs(t, http2.New(), pkts)
}
