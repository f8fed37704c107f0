package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLiveL4 checks close types and L4 metrics (architecture §3, issue 5)
// against real Linux TCP stacks: for each scenario a client namespace talks
// to a server namespace over a veth pair, tc mirrors the server's veth to a
// SPAN port (see liveLab for where the tap sits relative to iptables),
// tcpdump records it, and `tapflow replay --print l4` must report the
// scenario's close type and metrics for the flow of the client port the
// scenario chose. A failure prints the flow's packets as the tap saw them
// and tapflow's JSON line.
func TestLiveL4(t *testing.T) {
	bin := requireBinary(t)
	requireRoot(t)
	for _, tool := range []string{"ip", "tc", "tcpdump", "python3", "iptables", "sysctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			skipOrFail(t, "live L4 test needs %s: %v", tool, err)
		}
	}
	script := filepath.Join(t.TempDir(), "livel4.py")
	require.NoError(t, os.WriteFile(script, []byte(liveL4Script), 0o644))

	const mb = 1 << 20
	port := strconv.Itoa(livePort)
	// Client ports: the flow under test is 40001 (40002 in the overflow
	// scenarios); fillers of the accept queue use 40010 and up.
	const cport = 40000

	for i, sc := range []struct {
		name string
		run  func(t *testing.T, l *liveLab) uint16 // generates the traffic, returns the client port to check
		// check asserts on the flow; segs is what the tap saw of it.
		check func(t *testing.T, l *liveLab, r *liveRec, segs []liveSeg)
	}{
		{
			// Request/response, FIN from both sides. The client waits 50 ms
			// after the handshake before its request (cit ≥ 50 000 µs: the
			// first request − the latest packet before it, the handshake
			// ACK); the server waits 100 ms before answering (art ≥ 100 000
			// µs) and its kernel ACKs the request meanwhile (srt < art).
			name: "normal request response",
			run: func(t *testing.T, l *liveLab) uint16 {
				l.server("--delay", "0.1", "--resp", "5000")
				res := l.client("req", cport+1, "--think", "0.05", "--size", "100", "--resp", "5000")
				require.EqualValues(t, 5000, res["got"], "%v", res)
				return cport + 1
			},
			check: func(t *testing.T, l *liveLab, r *liveRec, segs []liveSeg) {
				require.Equal(t, 1, r.CloseType)
				require.Positive(t, r.RTT)
				require.Positive(t, r.RTTClient)
				require.Positive(t, r.RTTServer)
				require.Equal(t, r.RTT, r.RTTClient+r.RTTServer, "rtt = rtt_client + rtt_server")
				require.Positive(t, r.SRT)
				require.GreaterOrEqual(t, r.ART, uint64(100_000))
				require.Less(t, r.SRT, r.ART)
				require.GreaterOrEqual(t, r.CIT, uint64(50_000))
				require.Equal(t, [3]uint64{1, 1, 2}, [3]uint64{r.SYNCount, r.SYNACKCount, r.FINCount}, "syn, synack, fin")
				require.Zero(t, r.RetransTx+r.RetransRx+r.LostTx+r.LostRx+r.OOOTx+r.OOORx+r.ZeroWinTx+r.ZeroWinRx,
					"no retransmission, loss, reordering or zero window on a clean link")
			},
		},
		{
			// Nothing listens: the kernel answers the SYN with RST|ACK.
			name: "closed port",
			run: func(t *testing.T, l *liveLab) uint16 {
				res := l.client("probe", cport+1, "--wait", "3")
				require.Equal(t, "refused", res["err"], "%v", res)
				return cport + 1
			},
			check: func(t *testing.T, l *liveLab, r *liveRec, segs []liveSeg) {
				require.Equal(t, 15, r.CloseType)
				require.Equal(t, [4]uint64{1, 1, 1, 0}, [4]uint64{r.PacketsTx, r.PacketsRx, r.SYNCount, r.SYNACKCount})
			},
		},
		{
			// A listener behind `iptables -j REJECT --reject-with
			// tcp-reset` in the server's INPUT: same shape as a closed port.
			name: "reject with tcp reset",
			run: func(t *testing.T, l *liveLab) uint16 {
				l.server()
				l.iptables(l.srv, "-A", "INPUT", "-p", "tcp", "--dport", port, "-j", "REJECT", "--reject-with", "tcp-reset")
				res := l.client("probe", cport+1, "--wait", "3")
				require.Equal(t, "refused", res["err"], "%v", res)
				return cport + 1
			},
			check: func(t *testing.T, l *liveLab, r *liveRec, segs []liveSeg) {
				require.Equal(t, 15, r.CloseType)
				require.Equal(t, [4]uint64{1, 1, 1, 0}, [4]uint64{r.PacketsTx, r.PacketsRx, r.SYNCount, r.SYNACKCount})
			},
		},
		{
			// The server reads the request, sets SO_LINGER {1, 0} and
			// closes: RST after an established connection.
			name: "server resets accepted connection",
			run: func(t *testing.T, l *liveLab) uint16 {
				l.server("--server-mode", "rst")
				res := l.client("req", cport+1, "--size", "100", "--resp", "100")
				require.Equal(t, "reset", res["err"], "%v", res)
				return cport + 1
			},
			check: func(t *testing.T, l *liveLab, r *liveRec, segs []liveSeg) {
				require.Equal(t, 2, r.CloseType)
				require.Positive(t, r.RTT)
			},
		},
		{
			// The client reads the response and closes with SO_LINGER {1, 0}.
			name: "client rst",
			run: func(t *testing.T, l *liveLab) uint16 {
				l.server("--resp", "100")
				res := l.client("req", cport+1, "--size", "100", "--resp", "100", "--rst")
				require.EqualValues(t, 100, res["got"], "%v", res)
				return cport + 1
			},
			check: func(t *testing.T, l *liveLab, r *liveRec, segs []liveSeg) {
				require.Equal(t, 9, r.CloseType)
				require.Positive(t, r.RTT)
			},
		},
		{
			// listen(1), never accepted: two connections fill the accept
			// queue (full when it holds more than the backlog), so the
			// kernel drops the next SYNs; the client retransmits its SYN
			// (at 1 s) and gives up at 2.5 s, sending nothing more.
			name: "backlog full syns dropped",
			run: func(t *testing.T, l *liveLab) uint16 {
				l.server("--server-mode", "noaccept", "--backlog", "1")
				res := l.client("synfull", cport+1, "--fill", "2", "--wait", "2.5")
				require.Equal(t, "timeout", res["err"], "%v", res)
				return cport + 1
			},
			check: func(t *testing.T, l *liveLab, r *liveRec, segs []liveSeg) {
				require.Equal(t, 7, r.CloseType)
				require.Zero(t, r.PacketsRx)
				require.GreaterOrEqual(t, r.SYNCount, uint64(2))
				require.Equal(t, r.SYNCount-1, r.RetransTx, "a repeated SYN is one client retransmission")
			},
		},
		{
			// tcp_abort_on_overflow=1. listen(2), never accepted, two
			// connections queued. The client's pure ACKs are then dropped
			// in its OUTPUT (before the tap), so two more connections get
			// SYN-ACKs while the queue has room; their requests complete
			// their handshakes: the first fills the queue, the second
			// overflows it and the server answers it with RST. The tap saw
			// SYN, SYN-ACK, the request (which ACKs the SYN-ACK: the
			// handshake is complete there), RST → server RST (2).
			name: "backlog overflow abort on overflow",
			run: func(t *testing.T, l *liveLab) uint16 {
				l.sysctl(l.srv, "net.ipv4.tcp_abort_on_overflow=1")
				l.server("--server-mode", "noaccept", "--backlog", "2")
				res := l.client("overflow", cport, "--fill", "2", "--wait", "5")
				require.Equal(t, "reset", res["err"], "%v", res)
				return cport + 2
			},
			check: func(t *testing.T, l *liveLab, r *liveRec, segs []liveSeg) {
				require.Equal(t, 2, r.CloseType)
				require.Equal(t, [2]uint64{1, 1}, [2]uint64{r.SYNCount, r.SYNACKCount})
			},
		},
		{
			// As above with tcp_abort_on_overflow=0: the server drops the
			// overflowing request (and its retransmissions), repeats its
			// SYN-ACK after 1 s, drops the request sock after
			// tcp_synack_retries=1 (3 s; 5 retries, ~63 s, by default) and
			// answers the next retransmission with RST: handshake done at
			// the tap, client data retransmitted, SYN-ACK again, RST →
			// server queue lack (17), in ~7 s.
			name: "backlog overflow no abort",
			run: func(t *testing.T, l *liveLab) uint16 {
				l.sysctl(l.srv, "net.ipv4.tcp_abort_on_overflow=0")
				l.sysctl(l.srv, "net.ipv4.tcp_synack_retries=1")
				l.server("--server-mode", "noaccept", "--backlog", "2")
				res := l.client("overflow", cport, "--fill", "2", "--wait", "15")
				require.Equal(t, "reset", res["err"], "%v", res)
				return cport + 2
			},
			check: func(t *testing.T, l *liveLab, r *liveRec, segs []liveSeg) {
				require.Equal(t, 17, r.CloseType)
				require.GreaterOrEqual(t, r.SYNACKCount, uint64(2))
				require.Positive(t, r.RetransTx)
			},
		},
		{
			// 5 % of the client's data segments dropped in the router's
			// FORWARD: before the tap, which sees the holes, the server's
			// duplicate ACKs asking for them and the retransmissions
			// filling them. (A DROP in the client's own OUTPUT would not
			// do: see liveLab.)
			name: "loss before the tap",
			run: func(t *testing.T, l *liveLab) uint16 {
				l.server("--resp", "100")
				l.iptables(l.rtr, "-A", "FORWARD", "-p", "tcp", "--dport", port, "-m", "length", "--length", "1000:65535",
					"-m", "statistic", "--mode", "random", "--probability", "0.05", "-j", "DROP")
				res := l.client("req", cport+1, "--size", strconv.Itoa(mb), "--resp", "100")
				require.EqualValues(t, 100, res["got"], "%v", res)
				require.Positive(t, l.dropCount(l.rtr, "FORWARD"), "iptables dropped nothing")
				return cport + 1
			},
			check: func(t *testing.T, l *liveLab, r *liveRec, segs []liveSeg) {
				holes, repeats := liveSeqShape(segs)
				t.Logf("tap: %d holes, %d repeats client → server; iptables dropped %d", holes, repeats, l.dropCount(l.rtr, "FORWARD"))
				require.Positive(t, holes, "a DROP in the router's FORWARD must leave holes at the tap")
				require.Equal(t, 1, r.CloseType)
				require.Positive(t, r.RetransTx)
				require.Positive(t, r.LostTx)
				require.Positive(t, r.LostBeforeTapTx)
				require.LessOrEqual(t, r.LostBeforeTapTx, r.LostTx)
			},
		},
		{
			// 5 % of the client's data segments dropped in the server's
			// INPUT: after the tap, which sees each lost segment and then
			// its retransmission, and no hole.
			name: "loss after the tap",
			run: func(t *testing.T, l *liveLab) uint16 {
				l.server("--resp", "100")
				l.iptables(l.srv, "-A", "INPUT", "-p", "tcp", "--dport", port, "-m", "length", "--length", "1000:65535",
					"-m", "statistic", "--mode", "random", "--probability", "0.05", "-j", "DROP")
				res := l.client("req", cport+1, "--size", strconv.Itoa(mb), "--resp", "100")
				require.EqualValues(t, 100, res["got"], "%v", res)
				require.Positive(t, l.dropCount(l.srv, "INPUT"), "iptables dropped nothing")
				return cport + 1
			},
			check: func(t *testing.T, l *liveLab, r *liveRec, segs []liveSeg) {
				holes, repeats := liveSeqShape(segs)
				t.Logf("tap: %d holes, %d repeats client → server; iptables dropped %d", holes, repeats, l.dropCount(l.srv, "INPUT"))
				require.Zero(t, holes, "a DROP in the server's INPUT must leave no hole at the tap")
				require.Positive(t, repeats)
				require.Equal(t, 1, r.CloseType)
				require.Positive(t, r.RetransTx)
				require.Positive(t, r.LostTx)
				require.Zero(t, r.LostBeforeTapTx)
				require.Equal(t, uint64(repeats), r.RetransTx, "retransmissions the tap saw")
				require.Equal(t, r.RetransTx, r.LostTx, "every retransmission was of data the server had not ACKed")
			},
		},
		{
			// The server's receive buffer is 4 KB and it sleeps 1.5 s before
			// reading while the client sends 1 MB: the server advertises
			// zero windows. The client's zero-window probes are not
			// retransmissions; a segment the full buffer made the server
			// drop (after the tap) is.
			name: "slow reader",
			run: func(t *testing.T, l *liveLab) uint16 {
				l.server("--rcvbuf", "4096", "--sleep-before-read", "1.5", "--chunk", "4096", "--resp", "100")
				res := l.client("req", cport+1, "--size", strconv.Itoa(mb), "--resp", "100")
				require.EqualValues(t, 100, res["got"], "%v", res)
				return cport + 1
			},
			check: func(t *testing.T, l *liveLab, r *liveRec, segs []liveSeg) {
				require.Equal(t, 1, r.CloseType)
				require.Positive(t, r.ZeroWinRx)
				require.Zero(t, r.ZeroWinTx)
				_, repeats := liveSeqShape(segs)
				require.Equal(t, uint64(repeats), r.RetransTx, "retransmissions the tap saw")
				require.Zero(t, r.LostBeforeTapTx)
			},
		},
	} {
		t.Run(strings.ReplaceAll(sc.name, " ", "_"), func(t *testing.T) {
			l := newLiveLab(t, i, script)
			l.startCapture()
			cp := sc.run(t, l)
			l.stopCapture()
			flows := l.replayLive(bin)
			segs := l.liveSegments(cp)
			r := flows[cp]
			if r == nil {
				t.Fatalf("no flow from client port %d in replay output; the tap saw:\n%s", cp, liveTrace(segs, 40))
			}
			ok := t.Run("check", func(t *testing.T) { sc.check(t, l, r, segs) })
			summary := fmt.Sprintf("close_type %v rtt %d (client %d server %d) srt %d art %d cit %d retrans %d/%d lost %d/%d before-tap %d/%d ooo %d/%d zero_win %d/%d syn %d synack %d fin %d",
				r.CloseTypes, r.RTT, r.RTTClient, r.RTTServer, r.SRT, r.ART, r.CIT, r.RetransTx, r.RetransRx,
				r.LostTx, r.LostRx, r.LostBeforeTapTx, r.LostBeforeTapRx, r.OOOTx, r.OOORx, r.ZeroWinTx, r.ZeroWinRx,
				r.SYNCount, r.SYNACKCount, r.FINCount)
			fmt.Printf("LIVE L4 %s: %s\n", sc.name, summary)
			if !ok {
				t.Errorf("flow from client port %d:\n%s\ntapflow:\n  %s\ntap (%d packets):\n%s",
					cp, summary, strings.Join(r.Lines, "\n  "), len(segs), liveTrace(segs, 60))
			}
		})
	}
}
