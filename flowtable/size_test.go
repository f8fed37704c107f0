package flowtable

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/tap"
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

// TestFlowHot: what a packet of a flow other than TCP reads (the fields
// named here: Table.update, flow.update, udpUpdate, meter, view) and
// writes lies in the first hotBytes of its entry, the part locate
// prefetches for it. The writes are checked by running UDP and ICMP
// packets both ways through a table: the rest of the entry must not move.
func TestFlowHot(t *testing.T) {
	var f flow
	for name, end := range map[string]uintptr{
		"id": unsafe.Offsetof(f.id) + unsafe.Sizeof(f.id), "periodFrom": unsafe.Offsetof(f.periodFrom) + 8,
		"bytes": unsafe.Offsetof(f.bytes) + unsafe.Sizeof(f.bytes), "key": unsafe.Offsetof(f.key) + unsafe.Sizeof(f.key),
		"l7": unsafe.Offsetof(f.l7) + 4, "agg": unsafe.Offsetof(f.agg) + 4,
		"packets": unsafe.Offsetof(f.packets) + unsafe.Sizeof(f.packets), "last": unsafe.Offsetof(f.last) + 4,
		"t0": unsafe.Offsetof(f.t0) + 4, "art": unsafe.Offsetof(f.art) + unsafe.Sizeof(f.art),
		"wslot": unsafe.Offsetof(f.wslot) + 2, "flags": unsafe.Offsetof(f.flags) + 2,
	} {
		if end > hotBytes {
			t.Errorf("%s ends at byte %d, beyond hotBytes %d", name, end, hotBytes)
		}
	}

	tb, err := New(DefaultConfig(), nopMetricsSink{}, 0)
	require.NoError(t, err)
	cold := func() []byte {
		b := unsafe.Slice((*byte)(unsafe.Pointer(&tb.slab[0])), flowSize)
		return append([]byte(nil), b[hotBytes:]...)
	}
	for _, proto := range []uint8{tap.ProtoUDP, tap.ProtoICMP} {
		tb.Flush()
		m := tap.Meta{IPVersion: 4, Proto: proto, Src: trafficCli, Dst: trafficSrv, SrcPort: 5353, DstPort: 53,
			Timestamp: Base, PayloadLen: 40, WireLen: 82}
		tb.Update(&m)
		require.Equal(t, proto, tb.slab[0].key.Proto, "the flow is not in entry 0")
		before := cold()
		for i := range 20 {
			m.Timestamp += 1000
			if i%2 == 1 {
				m.Src, m.Dst, m.SrcPort, m.DstPort = m.Dst, m.Src, m.DstPort, m.SrcPort
			}
			tb.Update(&m)
		}
		require.Equal(t, before, cold(), "proto %d: bytes beyond hotBytes changed", proto)
	}
}
