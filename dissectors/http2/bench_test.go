package http2_test

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/http2"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func BenchmarkParse(b *testing.B) {
	for _, bc := range http2.BenchPayloads {
		b.Run(bc.Name, func(b *testing.B) {
			d := http2.New()
			m := &dissectors.Meta{Proto: 6, ClientPort: 40000, ServerPort: 7070, ToServer: bc.ToServer, PayloadLen: uint32(len(bc.Payload))}
			dst := make([]dissectors.Record, 0, 8)
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.Payload)))
			for b.Loop() {
				d.Check(bc.Payload, m)
				dst, _ = d.Parse(dst[:0], bc.Payload, m)
			}
		})
	}
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
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	pkts := dtest.Read(t, "testdata/grpc.pcap")
	pkts = append(pkts, dtest.Read(t, "testdata/h2c.pcap")...)
	dtest.NoAllocs(t, http2.New(), pkts)
}
