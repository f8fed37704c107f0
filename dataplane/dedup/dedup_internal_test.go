package dedup

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGrowKeepsEveryEntry: doubling moves every entry, live or stale, to the
// bucket its key selects in the bigger table, and loses none, even from
// full buckets.
func TestGrowKeepsEveryEntry(t *testing.T) {
	cfg := DefaultConfig()
	f, err := New(cfg)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range f.buckets {
		for j := range rng.IntN(bucketSize + 1) { // empty to full buckets
			k := rng.Uint64()<<12 | uint64(i) // a key of bucket i
			f.buckets[i][j] = entry{key: k, ts: rng.Int64()}
		}
	}
	snapshot := func() map[entry]bool {
		m := map[entry]bool{}
		for i, b := range f.buckets {
			for _, e := range b {
				if e.key != 0 {
					require.Equal(t, uint64(i), e.key&f.mask, "entry in its bucket")
					require.False(t, m[e], "entry twice")
					m[e] = true
				}
			}
		}
		return m
	}
	want := snapshot()
	for f.stats.Size < uint64(cfg.Capacity) {
		size := f.stats.Size
		f.grow()
		require.Equal(t, 2*size, f.stats.Size)
		require.Equal(t, want, snapshot())
	}
	require.Equal(t, uint64(4), f.stats.Grown)
}
