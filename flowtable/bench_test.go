package flowtable

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tapflow/tapflow/tap"
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

// BenchmarkUpdateBatchRandom feeds UpdateBatch packets of many live flows
// in random order, as a busy mirror port brings them: nearly every lookup
// misses the cache, which UpdateBatch's pipeline is there to hide.
func BenchmarkUpdateBatchRandom(b *testing.B) {
	for _, flows := range []int{10_000, 500_000} {
		b.Run(fmt.Sprintf("flows=%d", flows), func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Capacity = 2 * flows
			tb, err := New(cfg, nopSink{}, 0)
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			order := make([]uint32, 1<<20)
			for i := range order {
				order[i] = uint32(rng.IntN(flows))
			}
			const batch = 2 * PrefetchBatch
			ms := make([]tap.Meta, batch)
			now := Base
			next := 0
			fill := func(flow func(int) uint32) {
				for i := range ms {
					f := flow(i)
					ms[i] = tap.Meta{IPVersion: 4, Proto: tap.ProtoUDP, Src: trafficCli, Dst: trafficSrv,
						SrcPort: uint16(1024 + f%60000), DstPort: 53, TapPort: f / 60000,
						Timestamp: now, PayloadLen: 40, WireLen: 82}
				}
				now++ // a µs a batch: no flow times out however long the run
			}
			var done int
			for base := 0; base < flows; base += batch { // every flow once
				fill(func(i int) uint32 { return uint32(min(base+i, flows-1)) })
				tb.UpdateBatch(ms, &done)
			}
			b.ReportAllocs()
			for b.Loop() {
				fill(func(i int) uint32 { return order[(next+i)&(len(order)-1)] })
				next += batch
				tb.UpdateBatch(ms, &done)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/packet")
			if s := tb.Stats(); s.Active != uint64(flows) {
				b.Fatalf("%d flows active, want %d", s.Active, flows)
			}
		})
	}
}
