package flowtable

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWheelBlocks: take returns a slot's entries newest first across
// blocks, and drained blocks are reused instead of growing the pool.
func TestWheelBlocks(t *testing.T) {
	var w wheel
	w.init(0)
	for i := range uint32(3*blockEntries + 5) {
		w.push(3, i)
	}
	w.push(5, 1000)
	blocks := len(w.blocks)
	require.Equal(t, 5, blocks) // 4 for slot 3, 1 for slot 5

	var got []uint32
	buf := make([]uint32, 7)
	for n := w.take(3, buf); n > 0; n = w.take(3, buf) {
		got = append(got, buf[:n]...)
	}
	require.Len(t, got, 3*blockEntries+5)
	for i, idx := range got {
		require.Equal(t, uint32(3*blockEntries+4-i), idx)
	}
	require.Zero(t, w.take(3, buf))

	for i := range uint32(3*blockEntries + 5) { // slot 3's blocks come back
		w.push(9, i)
	}
	require.Equal(t, blocks, len(w.blocks))
	require.Equal(t, 1, w.take(5, buf[:1]))
	require.Equal(t, uint32(1000), buf[0])
}
