package flowtable

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/tap"
)

// TestUpdateBatchSameAsUpdate feeds one packet stream to a table packet by
// packet and to another in batches of every size around the look-ahead:
// the records must be the same, in the same order. The streams cover
// handshakes and request rounds over many connections (forced reports),
// and one-packet UDP flows that time out and are evicted from a small table.
func TestUpdateBatchSameAsUpdate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flows int
		churn bool
		n     int
	}{
		{"tcp rounds", 3000, false, 200_000},
		{"udp churn", 0, true, 50_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Capacity = 2048
			run := func(batch int) ([]FlowRecord, Stats) {
				sink := &collect{}
				tb, err := New(cfg, sink, 0)
				require.NoError(t, err)
				g := newTraffic(tc.flows, tc.churn)
				ms := make([]tap.Meta, 0, batch)
				for range tc.n {
					ms = append(ms, *g.next())
					if len(ms) == batch {
						done := -1
						tb.UpdateBatch(ms, &done)
						require.Equal(t, len(ms), done)
						ms = ms[:0]
					}
				}
				for i := range ms {
					tb.Update(&ms[i])
				}
				tb.Flush()
				return sink.recs, tb.Stats()
			}
			want, wantStats := run(1)
			require.NotEmpty(t, want)
			if tc.churn {
				require.NotZero(t, wantStats.Evicted)
			} else {
				require.NotZero(t, wantStats.Forced)
			}
			for _, batch := range []int{2, PrefetchBatch - 1, PrefetchBatch, PrefetchBatch + 1, 256} {
				got, stats := run(batch)
				require.Equal(t, wantStats, stats, "batch %d", batch)
				require.Equal(t, len(want), len(got), "batch %d", batch)
				for i := range want {
					require.Equal(t, want[i], got[i], "batch %d, record %d", batch, i)
				}
			}
		})
	}
}

// TestUpdateBatchAllocs: the batched path allocates nothing either.
func TestUpdateBatchAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	cfg := DefaultConfig()
	cfg.Capacity, cfg.BatchSize = 4096, 64
	tb, err := New(cfg, nopSink{}, 0)
	require.NoError(t, err)
	g := newTraffic(0, true)
	ms := make([]tap.Meta, 64)
	fill := func() {
		for i := range ms {
			ms[i] = *g.next()
		}
	}
	var done int
	for range 5000 { // warm
		fill()
		tb.UpdateBatch(ms, &done)
	}
	allocs := testing.AllocsPerRun(2000, func() {
		fill()
		tb.UpdateBatch(ms, &done)
	})
	require.Zero(t, allocs)
	require.NotZero(t, tb.Stats().Evicted)
}
