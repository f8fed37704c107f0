package postgresql_test

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
	"github.com/tapflow/tapflow/dissectors/postgresql"
)

func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct {
		name     string
		payload  []byte
		toServer bool
	}{
		{"msg=query", simpleQ, true},
		{"msg=extended", extended, true},
		{"msg=rows", rowsReply, false},
		{"msg=error", errUndef, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d := postgresql.New()
			m := dissectors.Meta{Proto: 6, ToServer: bc.toServer, PayloadLen: uint32(len(bc.payload))}
			dst := make([]dissectors.Record, 0, 4)
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.payload)))
			for b.Loop() {
				d.Check(bc.payload, &m)
				dst, _ = d.Parse(dst[:0], bc.payload, &m)
			}
		})
	}
	b.Run("pcap=postgres15", func(b *testing.B) {
		pkts := dtest.Read(b, "testdata/postgres15.pcap")
		var n int64
		for _, p := range pkts {
			n += int64(len(p.Payload))
		}
		d := postgresql.New()
		dst := make([]dissectors.Record, 0, 4)
		b.ReportAllocs()
		b.SetBytes(n)
		for b.Loop() {
			for i := range pkts {
				dst, _ = d.Parse(dst[:0], pkts[i].Payload, &pkts[i].Meta)
			}
		}
	})
}

func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	dtest.NoAllocs(t, postgresql.New(), dtest.Read(t, "testdata/postgres15.pcap"))
}
