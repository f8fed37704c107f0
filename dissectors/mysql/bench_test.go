package mysql_test

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
	"github.com/tapflow/tapflow/dissectors/mysql"
)

func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct {
		name     string
		payload  []byte
		toServer bool
	}{
		{"msg=query", query, true},
		{"msg=login", handshake, true},
		{"msg=error", errSyntax, false},
		{"msg=resultset", resultSet, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d := mysql.New()
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
	b.Run("pcap=mariadb", func(b *testing.B) {
		pkts := dtest.Read(b, "testdata/mariadb.pcap")
		var n int64
		for _, p := range pkts {
			n += int64(len(p.Payload))
		}
		d := mysql.New()
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
	dtest.NoAllocs(t, mysql.New(), dtest.Read(t, "testdata/mariadb.pcap"))
}
