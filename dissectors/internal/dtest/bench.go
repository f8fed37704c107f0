package dtest

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapflow/tapflow/dissectors"
)

// Case is one payload of a benchmark table.
type Case struct {
	Name     string // the sub-benchmark, e.g. "msg=query"
	Payload  []byte
	ToServer bool
	Proto    uint8 // IP protocol; 0: the template Meta's
}

// BenchCases runs a sub-benchmark per case that times Check and Parse on
// its payload, as the engine handles a flow's first packet. m is the
// template Meta: each case sets ToServer and PayloadLen (and Proto).
func BenchCases(b *testing.B, d dissectors.Dissector, m dissectors.Meta, cases []Case) {
	bench(b, d, m, cases, true, true)
}

// BenchParse is BenchCases timing Parse alone.
func BenchParse(b *testing.B, d dissectors.Dissector, m dissectors.Meta, cases []Case) {
	bench(b, d, m, cases, false, true)
}

// BenchCheck is BenchCases timing Check alone.
func BenchCheck(b *testing.B, d dissectors.Dissector, m dissectors.Meta, cases []Case) {
	bench(b, d, m, cases, true, false)
}

func bench(b *testing.B, d dissectors.Dissector, tmpl dissectors.Meta, cases []Case, check, parse bool) {
	for _, c := range cases {
		b.Run(c.Name, func(b *testing.B) {
			m := tmpl
			m.ToServer, m.PayloadLen = c.ToServer, uint32(len(c.Payload))
			if c.Proto != 0 {
				m.Proto = c.Proto
			}
			dst := make([]dissectors.Record, 0, 8)
			b.ReportAllocs()
			b.SetBytes(int64(len(c.Payload)))
			for b.Loop() {
				if check {
					d.Check(c.Payload, &m)
				}
				if parse {
					dst, _ = d.Parse(dst[:0], c.Payload, &m)
				}
			}
		})
	}
}

// BenchPcap runs the sub-benchmark "pcap=<file name without extension>"
// that times Parse over every payload packet of the capture at path, as
// the engine handles flows already identified.
func BenchPcap(b *testing.B, d dissectors.Dissector, path string) {
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	b.Run("pcap="+name, func(b *testing.B) {
		pkts := Read(b, path)
		var n int64
		for _, p := range pkts {
			n += int64(len(p.Payload))
		}
		dst := make([]dissectors.Record, 0, 8)
		b.ReportAllocs()
		b.SetBytes(n)
		for b.Loop() {
			for i := range pkts {
				dst, _ = d.Parse(dst[:0], pkts[i].Payload, &pkts[i].Meta)
			}
		}
	})
}
