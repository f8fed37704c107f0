package flowtable

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/internal/pcapgen"
)

// TestLiveScenarioShapes maps each live network-namespace scenario of issue
// 5 to the close types §3's rules give, using the packet shapes Linux
// stacks produce (timings like Linux's defaults: SYN-ACK retries at 1, 3,
// 7, 15, 31 s; data RTO from 200 ms doubling). The netns harness checks the
// same expectations against real stacks; here the flows end at Flush, as at
// the end of a replay.
func TestLiveScenarioShapes(t *testing.T) {
	hs := P(c.TCP(C, 0, "S", 0, 0, 0), c.TCP(S, 100, "SA", 0, 1, 0), c.TCP(C, 200, "A", 1, 1, 0))
	// Backlog full, tcp_abort_on_overflow=0, never accepted: the server
	// drops the handshake ACK and the request, repeats its SYN-ACK (each
	// answered by a client dup ACK), drops the request sock after its
	// retries (~63 s) and answers the next retransmission with RST. The
	// flow crosses the minute boundary at 50 s (forced report), then → 17.
	var backlog []pcapgen.Packet
	backlog = append(backlog, hs...)
	for _, at := range []int64{300, 500_300, 1_300_300, 2_900_300, 6_100_300, 12_500_300, 25_300_300} {
		backlog = append(backlog, c.TCP(C, at, "PA", 1, 1, 100))
	}
	for _, at := range []int64{1_000_100, 3_000_100, 7_000_100, 15_000_100, 31_000_100} {
		backlog = append(backlog, c.TCP(S, at, "SA", 0, 1, 0), c.TCP(C, at+100, "A", 101, 1, 0))
	}
	backlog = append(backlog, c.TCP(C, 50_900_300, "PA", 1, 1, 100),
		c.TCP(C, 102_100_300, "PA", 1, 1, 100), c.TCP(S, 102_100_400, "R", 1, 0, 0))

	for _, tc := range []struct {
		name string
		pkts []pcapgen.Packet
		want []CloseType
	}{
		// No listener: the kernel answers the SYN with RST|ACK → 15 (the
		// issue's "(18)" for a closed port contradicts §3's rule "a SYN
		// answered by RST → 15"; 18 needs several SYNs then a client RST).
		{"closed port", P(c.TCP(C, 0, "S", 0, 0, 0), c.TCP(S, 100, "RA", 0, 1, 0)), []CloseType{CloseServerReset}},
		// iptables REJECT --reject-with tcp-reset at the server: same shape → 15.
		{"server rejects syn with rst", P(c.TCP(C, 0, "S", 0, 0, 0), c.TCP(S, 100, "RA", 0, 1, 0)), []CloseType{CloseServerReset}},
		// A server that resets an accepted connection (SO_LINGER {1, 0} then
		// close, or close with unread data) → 2.
		{"server resets after accept", cat(hs, P(c.TCP(C, 1000, "PA", 1, 1, 100), c.TCP(S, 2000, "RA", 1, 101, 0))), []CloseType{CloseTCPServerRst}},
		// Backlog full at SYN time (the kernel drops SYNs while the accept
		// queue is full): SYN retries only → 7.
		{"backlog full, syns dropped", P(c.TCP(C, 0, "S", 0, 0, 0), c.TCP(C, 1_000_000, "S", 0, 0, 0), c.TCP(C, 3_000_000, "S", 0, 0, 0)),
			[]CloseType{CloseClientSYNRepeat}},
		{"backlog full, handshake ack dropped", backlog, []CloseType{CloseForcedReport, CloseServerQueueLack}},
		// tcp_abort_on_overflow=1: the handshake ACK is answered by RST at
		// once; the handshake did complete at the tap → 2, not 17.
		{"backlog full, abort on overflow", cat(hs, P(c.TCP(S, 300, "R", 1, 0, 0))), []CloseType{CloseTCPServerRst}},
		// The client resets (SO_LINGER {1, 0} then close) → 9.
		{"client rst", cat(hs, P(c.TCP(C, 1000, "PA", 1, 1, 100), c.TCP(S, 1500, "A", 1, 101, 0), c.TCP(C, 9000, "RA", 101, 1, 0))),
			[]CloseType{CloseTCPClientRst}},
		// A Linux client that gives up in SYN_SENT sends no RST → 7; 18
		// ("several SYNs then a client RST") comes from stacks or
		// middleboxes that do reset.
		{"unreachable server, linux client", P(c.TCP(C, 0, "S", 0, 0, 0), c.TCP(C, 1_000_000, "S", 0, 0, 0)), []CloseType{CloseClientSYNRepeat}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, _ := Replay(t, tc.pkts, true)
			got := make([]CloseType, len(recs))
			for i := range recs {
				got[i] = recs[i].CloseType
			}
			require.Equal(t, tc.want, got)
		})
	}

	// Lossy link (iptables statistic DROP on client → server data) before
	// the mirror point: the tap sees the gap, the server's dup ACKs, then
	// the fill → lost_tx and lost_before_tap_tx. After the mirror point: the
	// tap sees the segment, then its retransmission before any ACK of it →
	// lost_tx only. Slow reader (the server does not read): zero windows
	// from the server → zero_win_rx, window probes are pure ACKs (no
	// retransmission). All three end with FINs → 1.
	fin := func(cs, ss uint32, at int64) []pcapgen.Packet {
		return P(c.TCP(C, at, "FA", cs, ss, 0), c.TCP(S, at+100, "FA", ss, cs+1, 0), c.TCP(C, at+200, "A", cs+1, ss+1, 0))
	}
	before := cat(hs, P(c.TCP(C, 1000, "A", 1, 1, 1000), c.TCP(C, 1010, "PA", 2001, 1, 1000),
		c.TCP(S, 1300, "A", 1, 1001, 0), c.TCP(S, 1310, "A", 1, 1001, 0), c.TCP(C, 1600, "A", 1001, 1, 1000),
		c.TCP(S, 1900, "A", 1, 3001, 0)), fin(3001, 1, 5000))
	after := cat(hs, P(c.TCP(C, 1000, "A", 1, 1, 1000), c.TCP(C, 1010, "PA", 1001, 1, 1000),
		c.TCP(S, 1300, "A", 1, 1, 0), c.TCP(C, 1600, "A", 1, 1, 1000), c.TCP(S, 1900, "A", 1, 2001, 0)), fin(2001, 1, 5000))
	slow := cat(hs, P(c.TCP(C, 1000, "PA", 1, 1, 1000), c.TCP(S, 1300, "AW", 1, 1001, 0),
		c.TCP(C, 201_300, "A", 1000, 1, 0), c.TCP(S, 201_400, "AW", 1, 1001, 0),
		c.TCP(S, 500_000, "A", 1, 1001, 0), c.TCP(C, 500_100, "PA", 1001, 1, 1000), c.TCP(S, 500_400, "A", 1, 2001, 0)), fin(2001, 1, 600_000))
	for _, tc := range []struct {
		name                                   string
		pkts                                   []pcapgen.Packet
		lostTx, lostBeforeTx, retrans, zeroWin uint32
	}{
		{"lossy link before the mirror point", before, 1, 1, 1, 0},
		{"lossy link after the mirror point", after, 1, 0, 1, 0},
		{"slow reader", slow, 0, 0, 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, _ := Replay(t, tc.pkts, true)
			require.Len(t, recs, 1)
			r := recs[0]
			require.Equal(t, CloseTCPFin, r.CloseType)
			require.Equal(t, [4]uint32{tc.lostTx, tc.lostBeforeTx, tc.retrans, tc.zeroWin},
				[4]uint32{r.LostTx, r.LostBeforeTapTx, r.RetransTx, r.ZeroWinRx})
			require.Zero(t, r.LostRx+r.RetransRx+r.OOOTx+r.ZeroWinTx)
		})
	}
}
