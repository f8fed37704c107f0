package engine

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/registry"
	"github.com/tapflow/tapflow/flowtable"
	"github.com/tapflow/tapflow/tap"
)

// claimAll claims every payload of any transport; its Transports, when
// set, is what it declares.
type claimAll struct{ tr dissectors.Transport }

func (claimAll) Protocol() dissectors.Protocol           { return dissectors.ProtoHTTP1 }
func (claimAll) Check(p []byte, m *dissectors.Meta) bool { return true }
func (claimAll) Parse(dst []dissectors.Record, p []byte, m *dissectors.Meta) ([]dissectors.Record, error) {
	return dst, nil
}

type declared struct{ claimAll }

func (d declared) Transports() dissectors.Transport { return d.tr }

func TestSniffLists(t *testing.T) {
	tcp, udp, any := declared{claimAll{dissectors.TCP}}, declared{claimAll{dissectors.UDP}}, claimAll{}
	both := declared{claimAll{dissectors.TCP | dissectors.UDP}}
	l := sniffLists([]dissectors.Dissector{tcp, udp, any, both})
	require.Equal(t, []candidate{{tcp, 0}, {any, 2}, {both, 3}}, l[dissectors.TCP])
	require.Equal(t, []candidate{{udp, 1}, {any, 2}, {both, 3}}, l[dissectors.UDP])
	require.Len(t, l[0], 4, "another IP protocol is offered to every dissector")

	// The shipped order, filtered: DNS is the one UDP dissector.
	all := registry.All()
	l = sniffLists(all)
	require.Len(t, l[dissectors.TCP], len(all))
	for i, c := range l[dissectors.TCP] {
		require.Equal(t, uint8(i), c.i, "sniff order kept")
	}
	require.Len(t, l[dissectors.UDP], 1)
	require.Equal(t, dissectors.ProtoDNS, l[dissectors.UDP][0].d.Protocol())
}

type nopSink struct{}

func (nopSink) WriteL7([]dissectors.Log)          {}
func (nopSink) WriteFlows([]flowtable.FlowRecord) {}

// TestSniffTransport sends UDP payloads through a flow table into engines
// whose one dissector claims everything: declared TCP-only it is never
// offered them, undeclared it claims the flow.
func TestSniffTransport(t *testing.T) {
	for _, tc := range []struct {
		d    dissectors.Dissector
		want uint64
	}{
		{declared{claimAll{dissectors.TCP}}, 0},
		{declared{claimAll{dissectors.UDP}}, 1},
		{claimAll{}, 1},
	} {
		fc := flowtable.DefaultConfig()
		fc.Capacity = 64
		tab, err := flowtable.New(fc, nopSink{}, 0)
		require.NoError(t, err)
		e, err := New(DefaultConfig(), []dissectors.Dissector{tc.d}, nopSink{})
		require.NoError(t, err)
		tab.SetPayloadHandler(e)
		m := tap.Meta{Timestamp: 1_700_000_000_000_000, WireLen: 100, IPVersion: 4, Proto: tap.ProtoUDP,
			SrcPort: 40000, DstPort: 5353, Payload: []byte("payload"), PayloadLen: 7}
		m.Src, m.Dst = netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
		for range 3 {
			m.Timestamp += 1000
			tab.Update(&m)
		}
		require.Equal(t, tc.want, e.Stats().Identified, "%T %v", tc.d, tc.d)
		require.NotZero(t, e.Stats().Payloads)
	}
}
