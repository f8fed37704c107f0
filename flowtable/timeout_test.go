package flowtable

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/internal/pcapgen"
	"github.com/tapflow/tapflow/tap"
)

const sec = int64(1_000_000)

// newTestTable returns a table with DefaultConfig timeouts and its sink.
func newTestTable(t *testing.T, cfg Config) (*Table, *collect) {
	t.Helper()
	sink := &collect{}
	tb, err := New(cfg, sink, 0)
	require.NoError(t, err)
	return tb, sink
}

func feed(tb *Table, pkts ...pcapgen.Packet) {
	for _, p := range pkts {
		m := MetaOf(p)
		tb.Update(&m)
	}
}

// TestTimeouts checks each state's timeout of architecture §3 (opening 5,
// established 300, closing 5, established after RST 35, exception 5, closed
// after FIN 2, single direction 5, opening after RST 1 s): with the last
// packet on a whole second, the flow is still there 1 µs before
// last + timeout and ends at last + timeout with the state's close type.
func TestTimeouts(t *testing.T) {
	hs := P(c.TCP(C, 0, "S", 0, 0, 0), c.TCP(S, 1*sec, "SA", 0, 1, 0), c.TCP(C, 2*sec, "A", 1, 1, 0))
	cases := []struct {
		name    string
		pkts    []pcapgen.Packet
		timeout time.Duration
		want    CloseType
	}{
		{"opening: only syn", P(c.TCP(C, 0, "S", 0, 0, 0)), 5 * time.Second, CloseClientSYNRepeat},
		{"opening: syn and syn-ack", P(c.TCP(C, 0, "S", 0, 0, 0), c.TCP(S, 1*sec, "SA", 0, 1, 0)), 5 * time.Second, CloseServerSYNACKRepeat},
		{"opening after rst", P(c.TCP(C, 0, "S", 0, 0, 0), c.TCP(S, 1*sec, "RA", 0, 1, 0)), 1 * time.Second, CloseServerReset},
		{"established", hs, 300 * time.Second, CloseTimeout},
		{"established after rst", cat(hs, P(c.TCP(S, 3*sec, "R", 1, 0, 0))), 35 * time.Second, CloseTCPServerRst},
		{"closing", cat(hs, P(c.TCP(C, 3*sec, "FA", 1, 1, 0))), 5 * time.Second, CloseClientHalfClose},
		{"closed after fin", cat(hs, P(c.TCP(C, 3*sec, "FA", 1, 1, 0), c.TCP(S, 4*sec, "FA", 1, 2, 0), c.TCP(C, 5*sec, "A", 2, 2, 0))),
			2 * time.Second, CloseTCPFin},
		{"exception: syn answered by another connection", P(c.TCP(C, 0, "S", 0, 0, 0), c.TCP(S, 1*sec, "A", 77, 99, 0)), 5 * time.Second, CloseClientPortReuse},
		{"single direction: tcp picked up mid-stream", P(c.TCP(C, 0, "PA", 1, 1, 100)), 5 * time.Second, CloseTimeout},
		{"tcp mid-stream both directions", P(c.TCP(C, 0, "PA", 1, 1, 100), c.TCP(S, 1*sec, "A", 1, 101, 0)), 300 * time.Second, CloseTimeout},
		{"udp single direction", P(dns.UDP(C, 0, 40)), 5 * time.Second, CloseTimeout},
		{"udp both directions", P(dns.UDP(C, 0, 40), dns.UDP(S, 1*sec, 80)), 300 * time.Second, CloseTimeout},
		{"icmp single direction", P(c.ICMP(C, 0, 56)), 5 * time.Second, CloseTimeout},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.ReportInterval = 30 * time.Minute // no forced report in the way
			tb, sink := newTestTable(t, cfg)
			feed(tb, tc.pkts...)
			deadline := tc.pkts[len(tc.pkts)-1].At + tc.timeout.Microseconds()
			tb.Tick(deadline - 1)
			require.Empty(t, sink.recs, "ended before its timeout")
			tb.Tick(deadline)
			require.Len(t, sink.recs, 1)
			require.Equal(t, tc.want, sink.recs[0].CloseType)
			require.Equal(t, time.UnixMicro(tc.pkts[len(tc.pkts)-1].At).UTC(), sink.recs[0].EndTime)
		})
	}
}

// TestTimeoutOnUpdate: the wheel has 1 s slots, but a packet arriving at or
// after a flow's deadline never joins it: the old flow ends with its close
// type and the packet starts a new one. Closed after FIN (2 s): a late ACK
// 1 µs before the deadline joins the flow; at the deadline it does not.
func TestTimeoutOnUpdate(t *testing.T) {
	closed := P(c.TCP(C, 0, "S", 0, 0, 0), c.TCP(S, 10_000, "SA", 0, 1, 0), c.TCP(C, 30_000, "A", 1, 1, 0),
		c.TCP(C, 100_000, "FA", 1, 1, 0), c.TCP(S, 100_100, "FA", 1, 2, 0), c.TCP(C, 100_200, "A", 2, 2, 0))
	deadline := int64(100_200 + 2*sec)
	for _, tc := range []struct {
		name  string
		at    int64
		flows int
	}{{"before the deadline", deadline - 1, 1}, {"at the deadline", deadline, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			tb, sink := newTestTable(t, testConfig())
			feed(tb, closed...)
			feed(tb, c.TCP(C, tc.at, "A", 2, 2, 0))
			tb.Flush()
			require.Len(t, sink.recs, tc.flows)
			require.Equal(t, CloseTCPFin, sink.recs[0].CloseType)
			require.Equal(t, uint64(4)+uint64(2-tc.flows), sink.recs[0].PacketsTx)
		})
	}
}

// TestForcedReport: a flow alive at a minute boundary is reported with close
// type 5 exactly when the clock reaches the boundary, and carries on with
// fresh counters; Flush never reports 5.
func TestForcedReport(t *testing.T) {
	boundary := Base + 50*sec // Base is 10 s into a minute
	tb, sink := newTestTable(t, testConfig())
	feed(tb, c.Handshake()...)
	feed(tb, c.TCP(C, 49*sec, "PA", 1, 1, 100))
	tb.Tick(boundary - 1)
	require.Empty(t, sink.recs)
	tb.Tick(boundary)
	require.Len(t, sink.recs, 1)
	r := sink.recs[0]
	require.Equal(t, CloseForcedReport, r.CloseType)
	require.Equal(t, time.UnixMicro(Base).UTC(), r.StartTime)
	require.Equal(t, time.UnixMicro(Base+49*sec).UTC(), r.EndTime)
	require.Equal(t, uint64(3), r.PacketsTx)
	require.Equal(t, uint32(30_000), r.RTT)

	// Next minute: the server answers; the flow is still open at the end of
	// the replay, so Flush ends it as a timeout (3), not a forced report.
	feed(tb, c.TCP(S, 70*sec, "PA", 1, 101, 100))
	tb.Flush()
	require.Len(t, sink.recs, 2)
	r = sink.recs[1]
	require.Equal(t, CloseTimeout, r.CloseType)
	require.Equal(t, time.UnixMicro(boundary).UTC(), r.StartTime)
	require.Equal(t, time.UnixMicro(Base+70*sec).UTC(), r.EndTime)
	require.Equal(t, uint64(0), r.PacketsTx)
	require.Equal(t, uint64(1), r.PacketsRx)
	require.Zero(t, r.RTT, "rtt belongs to the period of the handshake")
	require.Equal(t, uint64(21*sec), r.ARTSum, "art spans the boundary: 70 s − 49 s")
	require.Equal(t, sink.recs[0].FlowID, r.FlowID)
}

// TestFlushNeverForced: flows open across a minute boundary the clock never
// ticked end at Flush by the timeout rules.
func TestFlushNeverForced(t *testing.T) {
	tb, sink := newTestTable(t, testConfig())
	feed(tb, c.Handshake()...)
	feed(tb, dns.UDP(C, 49*sec, 40))
	tb.Flush()
	require.Len(t, sink.recs, 2)
	for _, r := range sink.recs {
		require.Equal(t, CloseTimeout, r.CloseType)
	}
	require.Zero(t, tb.Stats().Active)
}

// TestDirection: the SYN's sender is the client whatever the ports; without
// a SYN the SYN-ACK's sender is the server; without either the lower port is
// the server; on equal ports the first sender is the client.
func TestDirection(t *testing.T) {
	hi := netip.MustParseAddrPort("10.0.0.9:12345")
	lo := netip.MustParseAddrPort("10.0.0.1:80")
	rev := Conv{Client: lo, Server: hi, CISN: 1, SISN: 2} // client on port 80
	fwd := Conv{Client: hi, Server: lo, CISN: 1, SISN: 2} // client on port 12345
	same := Conv{Client: netip.MustParseAddrPort("10.0.0.9:5000"), Server: netip.MustParseAddrPort("10.0.0.1:5000")}
	for _, tc := range []struct {
		name   string
		pkts   []pcapgen.Packet
		client netip.AddrPort
	}{
		{"syn from port 80", P(rev.TCP(C, 0, "S", 0, 0, 0)), lo},
		{"syn-ack from port 12345 without syn", P(rev.TCP(S, 0, "SA", 0, 1, 0)), lo},
		{"no handshake: lower port is the server", P(rev.TCP(C, 0, "PA", 1, 1, 10)), hi},
		{"no handshake, server speaks first", P(fwd.TCP(S, 0, "PA", 1, 1, 10)), hi},
		{"udp equal ports: first sender", P(same.UDP(C, 0, 10), same.UDP(S, 10, 10)), same.Client},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, _ := Replay(t, tc.pkts, true)
			require.Len(t, recs, 1)
			require.Equal(t, tc.client.Addr(), recs[0].ClientIP)
			require.Equal(t, tc.client.Port(), recs[0].ClientPort)
		})
	}
}

// TestReuse: which SYN starts a new flow on a 5-tuple, and how the old one
// ends.
func TestReuse(t *testing.T) {
	hs := c.Handshake()
	fin := P(c.TCP(C, 100_000, "FA", 1, 1, 0), c.TCP(S, 100_100, "FA", 1, 2, 0), c.TCP(C, 100_200, "A", 2, 2, 0))
	cases := []struct {
		name string
		pkts []pcapgen.Packet
		want []CloseType
	}{
		// A new connection within the 2 s after both FINs: the old one ended
		// normally (1), the new one is a flow of its own.
		{"after fin", cat(hs, fin, P(c2.TCP(C, 1*sec, "S", 0, 0, 0))), []CloseType{CloseTCPFin, CloseClientSYNRepeat}},
		// A SYN with another ISN during the handshake is a new attempt: the
		// first ends by its shape (7).
		{"new isn while opening", P(c.TCP(C, 0, "S", 0, 0, 0), c2.TCP(C, 1*sec, "S", 0, 0, 0)), []CloseType{CloseClientSYNRepeat, CloseClientSYNRepeat}},
		// Linux port reuse: the server still holds an old connection and
		// answers the SYN with a challenge ACK (not acking the SYN), the
		// client RSTs it and retransmits the same SYN 1 s later: the attempt
		// ends with 13 and the retransmitted SYN starts the flow that
		// completes (ended by the clock → 3).
		{"challenge ack, rst, same syn", P(
			c.TCP(C, 0, "S", 0, 0, 0), c.TCP(S, 100, "A", 5000, 7000, 0), c.TCP(C, 200, "R", 7000, 0, 0),
			c.TCP(C, 1*sec, "S", 0, 0, 0), c.TCP(S, 1*sec+100, "SA", 0, 1, 0), c.TCP(C, 1*sec+200, "A", 1, 1, 0),
		), []CloseType{CloseClientPortReuse, CloseTimeout}},
		// After an established flow's RST, a new SYN starts a new flow; the
		// old one ends as it would have (2).
		{"after rst", cat(hs, P(c.TCP(S, 100_000, "R", 1, 0, 0), c2.TCP(C, 200_000, "S", 0, 0, 0))), []CloseType{CloseTCPServerRst, CloseClientSYNRepeat}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recs, st := Replay(t, tc.pkts, false)
			got := make([]CloseType, len(recs))
			for i := range recs {
				got[i] = recs[i].CloseType
			}
			require.Equal(t, tc.want, got)
			require.Equal(t, uint64(len(tc.want)-1), st.Reused)
		})
	}
}

// TestOuterInterning: flows keep their tunnel's outer addresses through the
// interning table, which frees a pair with its last flow.
func TestOuterInterning(t *testing.T) {
	tb, sink := newTestTable(t, testConfig())
	outer := [2]netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")}
	for i, p := range P(c.TCP(C, 0, "PA", 1, 1, 10), dns.UDP(C, 0, 10)) {
		m := MetaOf(p)
		m.OuterSrc, m.OuterDst = outer[0], outer[1]
		m.TapPort = uint32(i)
		tb.Update(&m)
	}
	require.Len(t, tb.outers.ids, 1)
	require.Equal(t, uint32(2), tb.outers.pairs[1].refs)
	tb.Flush()
	require.Len(t, sink.recs, 2)
	for _, r := range sink.recs {
		require.Equal(t, outer[0], r.OuterSrc)
		require.Equal(t, outer[1], r.OuterDst)
	}
	require.Empty(t, tb.outers.ids)
}

// TestEvictionAndFreeList: a full table evicts the flow closest to its
// deadline and reuses its entry.
func TestEvictionAndFreeList(t *testing.T) {
	cfg := testConfig()
	cfg.Capacity = 4
	tb, sink := newTestTable(t, cfg)
	for i := range 10 {
		cv := Conv{Client: netip.AddrPortFrom(netip.MustParseAddr("10.1.0.1"), uint16(1000+i)), Server: c.Server}
		feed(tb, cv.TCP(C, int64(i)*1000, "PA", 1, 1, 10))
	}
	st := tb.Stats()
	require.Equal(t, uint64(4), st.Active)
	require.Equal(t, uint64(6), st.Evicted)
	tb.Flush()
	require.Len(t, sink.recs, 10)
	require.Zero(t, tb.Stats().Active)
	require.Equal(t, 4, tb.nfree)
}

// TestTimeoutFlags: the timeout depends on timeoutFlags only, so that
// Table.update may skip recomputing it when a packet changed none of them.
func TestTimeoutFlags(t *testing.T) {
	// Distinct values, so that a flag choosing between two timeouts that
	// happen to be equal by default still shows.
	to := timeoutsUS{1, 2, 3, 4, 5, 6, 7, 8}
	for _, proto := range []uint8{tap.ProtoTCP, tap.ProtoUDP, tap.ProtoICMP} {
		for fl := range 1 << 16 {
			got, want := timeoutOf(uint16(fl), proto, &to), timeoutOf(uint16(fl)&timeoutFlags, proto, &to)
			if got != want {
				t.Fatalf("proto %d flags %#x: timeout %d, %d with only timeoutFlags", proto, fl, got, want)
			}
		}
	}
}
