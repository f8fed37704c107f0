package flowtable

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// TestFlowSize keeps the per-flow memory goal (architecture §9: ≤ 256 bytes
// per active flow including the index) visible: the slab entry (which holds
// the L7 stage's word), the index's share at the default capacity and the
// timing wheel's entry, reserved per flow.
func TestFlowSize(t *testing.T) {
	size := unsafe.Sizeof(flow{})
	cfg := DefaultConfig()
	cfg.Capacity = 1 << 16
	tb, err := New(cfg, nopSink{}, 0)
	require.NoError(t, err)
	indexPerFlow := float64(len(tb.index)*4) / float64(len(tb.slab))
	wheelPerFlow := float64(cap(tb.wheel.blocks)) * float64(unsafe.Sizeof(wblock{})) / float64(len(tb.slab))
	t.Logf("sizeof(flow) = %d bytes; index %.1f bytes/flow at capacity %d; wheel %.1f; total %.1f bytes/flow",
		size, indexPerFlow, len(tb.slab), wheelPerFlow, float64(size)+indexPerFlow+wheelPerFlow)
	require.LessOrEqual(t, size, uintptr(240))
	require.LessOrEqual(t, float64(size)+indexPerFlow+wheelPerFlow, 256.0)
}

type nopSink struct{}

func (nopSink) WriteFlows([]FlowRecord) {}

// nopMetricsSink also takes aggregates, which turns aggregation on.
type nopMetricsSink struct{ nopSink }

func (nopMetricsSink) WriteMetrics([]MetricRow) {}
