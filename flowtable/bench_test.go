package flowtable

import (
	"fmt"
	"testing"
)

// BenchmarkUpdate measures Table.Update per packet: TCP connections doing
// request/response rounds with every metric computed, and UDP flow churn
// (creation, timeout, eviction, reports, tunnel interning).
func BenchmarkUpdate(b *testing.B) {
	for _, bc := range []struct {
		flows int
		churn bool
	}{{1, false}, {1_000, false}, {100_000, false}, {0, true}} {
		name := fmt.Sprintf("kind=tcp,flows=%d", bc.flows)
		if bc.churn {
			name = "kind=udp-churn"
		}
		b.Run(name, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Capacity = 1 << 17
			tb, err := New(cfg, nopSink{}, 0)
			if err != nil {
				b.Fatal(err)
			}
			g := newTraffic(bc.flows, bc.churn)
			for range 3 * max(bc.flows, 1) { // handshakes
				tb.Update(g.next())
			}
			var bytes int64
			for range 1000 {
				bytes += int64(g.next().WireLen)
			}
			b.SetBytes(bytes / 1000)
			b.ReportAllocs()
			for b.Loop() {
				tb.Update(g.next())
			}
			b.ReportMetric(float64(tb.Stats().Reports), "reports")
		})
	}
}
