package engine

import (
	"net/netip"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/registry"
	"github.com/tapflow/tapflow/flowtable"
	"github.com/tapflow/tapflow/tap"
)

// claimAll claims every payload; declared and firstX declare what their
// names say, as the real dissectors do with Transports and FirstByte.
type claimAll struct{ tr dissectors.Transport }

func (claimAll) Protocol() dissectors.Protocol           { return dissectors.ProtoHTTP1 }
func (claimAll) Check(p []byte, m *dissectors.Meta) bool { return true }
func (claimAll) Parse(dst []dissectors.Record, p []byte, m *dissectors.Meta) ([]dissectors.Record, error) {
	return dst, nil
}

type declared struct{ claimAll }

func (d declared) Transports() dissectors.Transport { return d.tr }

type firstX struct{ declared }

func (firstX) FirstByte(b byte) bool { return b == 'x' }

func TestSniffTable(t *testing.T) {
	tcp, udp, any := declared{claimAll{dissectors.TCP}}, declared{claimAll{dissectors.UDP}}, claimAll{}
	both := declared{claimAll{dissectors.TCP | dissectors.UDP}}
	x := firstX{tcp}
	st := newSniffTable([]dissectors.Dissector{tcp, udp, any, both, x})
	require.Equal(t, []uint8{0, 2, 3, 4}, st.lookup(6, []byte("x1")))
	require.Equal(t, []uint8{0, 2, 3}, st.lookup(6, []byte("y")))
	require.Equal(t, []uint8{1, 2, 3}, st.lookup(17, []byte("x")))
	require.Equal(t, []uint8{0, 2, 3, 4}, st.lookup(6, nil),
		"an empty payload is offered to every dissector of its transport")
	require.Len(t, st.lookup(1, []byte("y")), 4, "another IP protocol is offered to every dissector but by first byte")
	// Each distinct list is kept once: another protocol's 'x' (all five)
	// and other bytes (all but x), TCP's 'x' (also an empty TCP payload's)
	// and other bytes, and UDP's (x is TCP-only).
	require.Equal(t, st.first[dissectors.TCP]['y'], st.first[dissectors.TCP][0])
	require.Len(t, st.lists, 5)

	// The shipped dissectors: DNS is the one UDP dissector, and TLS's
	// application data (0x17) skips the seven that look at the first byte.
	all := registry.All()
	st = newSniffTable(all)
	require.Len(t, st.lookup(6, nil), len(all))
	for i, d := range st.lookup(6, nil) {
		require.Equal(t, uint8(i), d, "sniff order kept")
	}
	udpList := st.lookup(17, []byte{0x17})
	require.Len(t, udpList, 1)
	require.Equal(t, dissectors.ProtoDNS, all[udpList[0]].Protocol())
	require.Len(t, st.lookup(6, []byte{0x17}), len(all)-7)
	var names []dissectors.Protocol
	for _, d := range st.lookup(6, []byte("GET / HTTP/1.1")) {
		names = append(names, all[d].Protocol())
	}
	require.Contains(t, names, dissectors.ProtoHTTP1)
	require.Contains(t, names, dissectors.ProtoRedis, "an inline Redis command starts with a letter too")
	require.NotContains(t, names, dissectors.ProtoTLS)
}

type nopSink struct{}

func (nopSink) WriteL7([]dissectors.Log)          {}
func (nopSink) WriteFlows([]flowtable.FlowRecord) {}

// TestSniffFilters sends UDP payloads through a flow table into engines
// whose one dissector claims everything: it claims the flow only when it
// declares nothing that rules the payload out.
func TestSniffFilters(t *testing.T) {
	for _, tc := range []struct {
		d       dissectors.Dissector
		payload string
		want    uint64
	}{
		{declared{claimAll{dissectors.TCP}}, "payload", 0},
		{declared{claimAll{dissectors.UDP}}, "payload", 1},
		{claimAll{}, "payload", 1},
		{firstX{declared{claimAll{dissectors.UDP}}}, "payload", 0},
		{firstX{declared{claimAll{dissectors.UDP}}}, "xpayload", 1},
	} {
		fc := flowtable.DefaultConfig()
		fc.Capacity = 64
		tab, err := flowtable.New(fc, nopSink{}, 0)
		require.NoError(t, err)
		e, err := New(DefaultConfig(), []dissectors.Dissector{tc.d}, nopSink{})
		require.NoError(t, err)
		tab.SetPayloadHandler(e)
		m := tap.Meta{Timestamp: 1_700_000_000_000_000, WireLen: 100, IPVersion: 4, Proto: tap.ProtoUDP,
			SrcPort: 40000, DstPort: 5353, Payload: []byte(tc.payload), PayloadLen: uint32(len(tc.payload))}
		m.Src, m.Dst = netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
		for range 3 {
			m.Timestamp += 1000
			tab.Update(&m)
		}
		require.Equal(t, tc.want, e.Stats().Identified, "%T %q", tc.d, tc.payload)
		require.NotZero(t, e.Stats().Payloads)
	}
}

// TestSniffTableSize bounds what the sniff table keeps of every engine:
// make bench's memory-per-flow figure at 10,000 flows includes it, and
// 18 KiB of sniff lists once took that figure from 254.9 to 257.8 B (goal
// ≤ 256).
func TestSniffTableSize(t *testing.T) {
	const budget = 2 << 10
	st := newSniffTable(registry.All())
	n := int(unsafe.Sizeof(*st)) + cap(st.lists)*int(unsafe.Sizeof(st.lists[0]))
	for _, l := range st.lists {
		n += cap(l)
	}
	t.Logf("%d distinct lists, %d bytes", len(st.lists), n)
	require.Less(t, n, budget)
}
