package flowtable

import (
	"fmt"
	"testing"
)

// BenchmarkUpdate measures Table.Update per packet: TCP connections doing
// request/response rounds with every metric computed, and UDP flow churn
// (creation, timeout, eviction, reports, tunnel interning); with metrics=on
// the sink is a MetricsSink, so the 1 s and 1 m aggregates are computed and
// emitted too (the difference is what aggregation costs).
func BenchmarkUpdate(b *testing.B) {
	for _, bc := range []struct {
		flows   int
		churn   bool
		metrics bool
	}{
		{1, false, false}, {1, false, true}, {1_000, false, false}, {1_000, false, true},
		{100_000, false, false}, {100_000, false, true}, {0, true, false}, {0, true, true},
	} {
		name := fmt.Sprintf("kind=tcp,flows=%d", bc.flows)
		if bc.churn {
			name = "kind=udp-churn"
		}
		var sink Sink = nopSink{}
		name += ",metrics=off"
		if bc.metrics {
			sink = nopMetricsSink{}
			name = name[:len(name)-3] + "on"
		}
		b.Run(name, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Capacity = 1 << 17
			tb, err := New(cfg, sink, 0)
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
			b.ReportMetric(float64(tb.Stats().MetricRows), "metric-rows")
		})
	}
}
