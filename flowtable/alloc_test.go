package flowtable

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestUpdateAllocs: the per-packet path allocates nothing, including flow
// creation, timeouts, eviction, forced reports, record emission, tunnel
// interning and (with a MetricsSink) the 1 s and 1 m aggregates and their
// emission, once the table is warm.
func TestUpdateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	for _, tc := range []struct {
		name    string
		flows   int
		churn   bool
		metrics bool
	}{
		{"tcp", 512, false, false}, {"udp churn", 0, true, false},
		{"tcp metrics", 512, false, true}, {"udp churn metrics", 0, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Capacity, cfg.BatchSize = 4096, 64
			var sink Sink = nopSink{}
			if tc.metrics {
				sink = nopMetricsSink{}
			}
			tb, err := New(cfg, sink, 0)
			require.NoError(t, err)
			g := newTraffic(tc.flows, tc.churn)
			if tc.churn && tc.metrics {
				g.step = 20 // seconds go by: aggregates are emitted
			}
			for range 200_000 { // warm: maps and slices at their working size
				tb.Update(g.next())
			}
			allocs := testing.AllocsPerRun(100_000, func() { tb.Update(g.next()) })
			require.Zero(t, allocs)
			st := tb.Stats()
			if tc.churn {
				require.NotZero(t, st.Evicted)
			}
			require.NotZero(t, st.Reports)
			if tc.metrics {
				require.NotZero(t, st.MetricRows)
			}
		})
	}
}
