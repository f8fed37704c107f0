package e2e

import (
	"compress/gzip"
	"fmt"
	"io"
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
// through a router namespace to a server namespace, tc mirrors the server's
// veth to a SPAN port (see liveLab for where the tap sits relative to
// iptables), tcpdump records it, and `tapflow replay --print l4` must
// report the scenario's close type and metrics for the flow of the client
// port the scenario chose. The loss and retransmission counters are
// compared with what the capture itself shows (liveSeqShape). A failure
// prints the flow's packets as the tap saw them and tapflow's JSON line,
// and keeps the capture.
//
// Known discrepancy (liveCheckOvercount): tapflow may count as lost before
// the tap segments that were reordered, or that the tap had seen, because
// it keeps one gap per direction; such runs log the evidence loudly, and
// their counters are still checked exactly against what a one-gap tracker
// makes of the capture (liveCheckAccounting). TestLiveL4Captures replays
// the runs that showed these patterns.
func TestLiveL4(t *testing.T) {
	bin := requireBinary(t)
	requireRoot(t)
	for _, tool := range []string{"ip", "tc", "tcpdump", "python3", "iptables", "sysctl", "taskset"} {
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
				require.Equal(t, ">S <R.", liveShape(segs), "the tap saw another shape")
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
				require.Equal(t, ">S <R.", liveShape(segs), "the tap saw another shape")
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
				require.Regexp(t, `^>S <S\. >\. >P\.d .*<R\.$`, liveShape(segs), "the tap saw another shape")
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
				require.Regexp(t, `^>S <S\. >\. >P\.d .*<P\.d .*>R\.$`, liveShape(segs), "the tap saw another shape")
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
				require.Regexp(t, `^>S×\d+$`, liveShape(segs), "the tap saw another shape")
				require.Equal(t, 7, r.CloseType)
				require.Zero(t, r.PacketsRx)
				require.GreaterOrEqual(t, r.SYNCount, uint64(2))
				require.Equal(t, r.SYNCount-1, r.RetransTx, "a repeated SYN is one client retransmission")
			},
		},
		{
			// tcp_abort_on_overflow=1. listen(2), never accepted, two
			// connections queued. The client's pure ACKs are then dropped
			// in its OUTPUT (TCP ignores a failed pure ACK: for the server
			// and the tap the handshake ACK is lost), so two more
			// connections get SYN-ACKs while the queue has room; their requests complete
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
				require.Equal(t, ">S <S. >P.d <R", liveShape(segs), "the tap saw another shape")
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
			// server queue lack (17), in ~5 s.
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
				require.Regexp(t, `^>S <S\. >P\.d.* <S\. .*>P\.d(×\d+)? <R$`, liveShape(segs), "the tap saw another shape")
				require.Equal(t, 17, r.CloseType)
				require.GreaterOrEqual(t, r.SYNACKCount, uint64(2))
				require.Positive(t, r.RetransTx)
			},
		},
		{
			// 5 % of the client's data segments dropped in the router's
			// FORWARD (client and server pinned to one CPU, so that the
			// veth queues do not reorder: see "reordering without loss"):
			// before the tap, which sees the holes, the server's
			// duplicate ACKs asking for them and the retransmissions
			// filling them. (A DROP in the client's own OUTPUT would not
			// do: see liveLab.)
			name: "loss before the tap",
			run: func(t *testing.T, l *liveLab) uint16 {
				l.pin = true
				l.server("--resp", "100")
				l.iptables(l.rtr, "-A", "FORWARD", "-p", "tcp", "--dport", port, "-m", "length", "--length", "1000:65535",
					"-m", "statistic", "--mode", "random", "--probability", "0.05", "-j", "DROP")
				res := l.client("req", cport+1, "--size", strconv.Itoa(mb), "--resp", "100")
				require.EqualValues(t, 100, res["got"], "%v", res)
				require.Positive(t, l.dropCount(l.rtr, "FORWARD"), "iptables dropped nothing")
				return cport + 1
			},
			check: func(t *testing.T, l *liveLab, r *liveRec, segs []liveSeg) {
				st := liveSeqShape(segs)
				drops := l.dropCount(l.rtr, "FORWARD")
				t.Logf("tap: %v; iptables dropped %d", st, drops)
				require.GreaterOrEqual(t, 2*st.Holes, drops, "a DROP in the router's FORWARD must leave holes at the tap")
				require.Positive(t, st.RetransFills)
				require.Equal(t, 1, r.CloseType)
				require.Positive(t, r.RetransTx)
				require.Positive(t, r.LostTx)
				require.Positive(t, r.LostBeforeTapTx)
				require.LessOrEqual(t, r.LostBeforeTapTx, r.LostTx)
				liveCheckOvercount(t, l.keepCapture, r, st, segs)
				liveCheckAccounting(t, r, st)
			},
		},
		{
			// 5 % of the client's data segments dropped in the server's
			// INPUT (client and server pinned to one CPU): after the tap,
			// which sees each lost segment and then its retransmission,
			// and no hole.
			name: "loss after the tap",
			run: func(t *testing.T, l *liveLab) uint16 {
				l.pin = true
				l.server("--resp", "100")
				l.iptables(l.srv, "-A", "INPUT", "-p", "tcp", "--dport", port, "-m", "length", "--length", "1000:65535",
					"-m", "statistic", "--mode", "random", "--probability", "0.05", "-j", "DROP")
				res := l.client("req", cport+1, "--size", strconv.Itoa(mb), "--resp", "100")
				require.EqualValues(t, 100, res["got"], "%v", res)
				require.Positive(t, l.dropCount(l.srv, "INPUT"), "iptables dropped nothing")
				return cport + 1
			},
			check: func(t *testing.T, l *liveLab, r *liveRec, segs []liveSeg) {
				st := liveSeqShape(segs)
				drops := l.dropCount(l.srv, "INPUT")
				t.Logf("tap: %v; iptables dropped %d", st, drops)
				require.Zero(t, st.RetransFills, "a DROP in the server's INPUT must leave no hole at the tap that a retransmission fills")
				require.GreaterOrEqual(t, st.Repeats, drops, "every dropped segment is retransmitted past the tap")
				require.Equal(t, 1, r.CloseType)
				// Nothing is lost before the tap but what the one-gap
				// tracker's discrepancy explains (a segment reordered on
				// the veth, now and then).
				require.LessOrEqual(t, r.LostBeforeTapTx, uint64(liveCheckOvercount(t, l.keepCapture, r, st, segs)))
				require.Positive(t, r.LostTx)
				liveCheckAccounting(t, r, st)
			},
		},
		{
			// No loss, but reordering before the tap: the router sends two
			// consecutive data segments of every 10 over a second link
			// whose tbf holds the second ~30 µs, so the next ones overtake
			// it (liveLab.reorderPath); the server answers each overtaking
			// segment with a duplicate ACK at once. The IP IDs tell late
			// originals from retransmissions: every late segment must be
			// out of order, none lost, but for what liveCheckOvercount
			// explains.
			name: "reordering without loss",
			run: func(t *testing.T, l *liveLab) uint16 {
				l.pin = true
				l.reorderPath(10, "400mbit")
				l.server("--resp", "100")
				res := l.client("req", cport+1, "--size", strconv.Itoa(mb), "--resp", "100")
				require.EqualValues(t, 100, res["got"], "%v", res)
				return cport + 1
			},
			check: func(t *testing.T, l *liveLab, r *liveRec, segs []liveSeg) {
				st := liveSeqShape(segs)
				t.Logf("tap: %v", st)
				require.Zero(t, st.RetransFills-st.SpuriousFills+st.OpenAtEnd, "no loss before the tap")
				if st.LateFills+st.SpuriousFills == 0 {
					// The tbf path reorders by timing, so now and then a run
					// has nothing out of order: there is nothing to check.
					t.Skip("the second link reordered nothing in this run; no reordering to classify")
				}
				require.Equal(t, 1, r.CloseType)
				explained := liveCheckOvercount(t, l.keepCapture, r, st, segs)
				// A hole filled by a (spurious) retransmission before its
				// late original arrives looks like a loss before the tap to
				// anything but the receiver's D-SACK or the IP IDs: tapflow
				// may count those, and what the one-gap tracker explains.
				require.LessOrEqual(t, r.LostBeforeTapTx, uint64(st.SpuriousFills+explained))
				liveCheckAccounting(t, r, st)
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
				st := liveSeqShape(segs)
				t.Logf("tap: %v", st)
				// Nothing is lost before the tap but what the one-gap
				// tracker's discrepancy explains (a segment reordered on
				// the veth, now and then).
				require.LessOrEqual(t, r.LostBeforeTapTx, uint64(liveCheckOvercount(t, l.keepCapture, r, st, segs)))
				liveCheckAccounting(t, r, st)
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
				t.Fatalf("no flow from client port %d in replay output; the tap saw:\n%s", cp, liveTraceHeadTail(segs, 40))
			}
			summary := fmt.Sprintf("close_type %v rtt %d (client %d server %d) srt %d art %d cit %d retrans %d/%d lost %d/%d before-tap %d/%d ooo %d/%d zero_win %d/%d syn %d synack %d fin %d",
				r.CloseTypes, r.RTT, r.RTTClient, r.RTTServer, r.SRT, r.ART, r.CIT, r.RetransTx, r.RetransRx,
				r.LostTx, r.LostRx, r.LostBeforeTapTx, r.LostBeforeTapRx, r.OOOTx, r.OOORx, r.ZeroWinTx, r.ZeroWinRx,
				r.SYNCount, r.SYNACKCount, r.FINCount)
			shape := liveShape(segs)
			if len(shape) > 300 {
				shape = shape[:150] + " … " + shape[len(shape)-150:]
			}
			fmt.Printf("LIVE L4 %s: %s\n  tap: %s\n", sc.name, summary, shape)
			defer func() {
				if t.Failed() {
					t.Logf("flow from client port %d:\n%s\ntapflow:\n  %s\ncapture kept as %s\ntap (%d packets):\n%s",
						cp, summary, strings.Join(r.Lines, "\n  "), l.keepCapture(), len(segs), liveTraceHeadTail(segs, 60))
				}
			}()
			sc.check(t, l, r, segs)
		})
	}
}

// TestLiveL4Captures replays captures of TestLiveL4 runs whose netem
// pattern once broke a check (testdata/livel4/NAME-CLIENTPORT.pcap.gz),
// through the same loss and reordering checks: rare patterns stay covered
// on every run, without root and without luck.
func TestLiveL4Captures(t *testing.T) {
	bin := requireBinary(t)
	files, err := filepath.Glob(filepath.Join("testdata", "livel4", "*.pcap.gz"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, gz := range files {
		name := strings.TrimSuffix(filepath.Base(gz), ".pcap.gz")
		cut := strings.LastIndexByte(name, '-')
		require.Positive(t, cut, "%s: want NAME-CLIENTPORT.pcap.gz", gz)
		cport, err := strconv.ParseUint(name[cut+1:], 10, 16)
		require.NoError(t, err, "%s: want NAME-CLIENTPORT.pcap.gz", gz)
		t.Run(name[:cut], func(t *testing.T) {
			capture := gunzipTemp(t, gz)
			r := replayLiveFlows(t, bin, capture)[uint16(cport)]
			require.NotNil(t, r, "no flow from client port %d", cport)
			segs := liveSegmentsOf(t, capture, uint16(cport))
			st := liveSeqShape(segs)
			t.Logf("tap: %v\ntapflow: %s", st, strings.Join(r.Lines, "\n"))
			require.Equal(t, 1, r.CloseType)
			require.Positive(t, st.LateFills+st.RetransFills, "the capture holds no fill: nothing to check")
			liveCheckOvercount(t, func() string { return gz }, r, st, segs)
			liveCheckAccounting(t, r, st)
		})
	}
}

// gunzipTemp decompresses gz into the test's temporary directory.
func gunzipTemp(t *testing.T, gz string) string {
	t.Helper()
	f, err := os.Open(gz)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), strings.TrimSuffix(filepath.Base(gz), ".gz"))
	w, err := os.Create(out)
	require.NoError(t, err)
	_, err = io.Copy(w, zr)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return out
}

// liveCheckAccounting checks tapflow's client → server counters against
// the capture, once lost_before_tap is within what the capture allows
// (liveCheckOvercount): every fill of a hole is out of order or lost before
// the tap; retransmissions are the repeats plus the fills lost before the
// tap; losses are those fills plus the repeats the server had not ACKed
// (lost after the tap).
//
// tapflow keeps one gap per direction (240 bytes per flow leave no room for
// more), so where holes open while one is open it cannot tell a repeat of
// bytes it saw inside the merged gap from a fill, and a fill of bytes the
// server ACKed past first looks like a repeat to it. The capture says which
// segments those are (liveSeqShape); the equations move exactly them from
// one side to the other, and the log says so.
func liveCheckAccounting(t *testing.T, r *liveRec, st liveSeqStats) {
	t.Helper()
	if st.RepeatsAsFills+st.FillsAsRepeats > 0 {
		t.Logf("KNOWN DISCREPANCY (one gap per direction): %d repeats inside the merged gap count as fills, %d fills as repeats (%v)",
			st.RepeatsAsFills, st.FillsAsRepeats, st)
	}
	fills := st.LateFills + st.RetransFills + st.RepeatsAsFills - st.FillsAsRepeats
	repeats := st.Repeats - st.RepeatsAsFills + st.FillsAsRepeats
	unacked := st.RepeatsUnacked - st.RepeatsUnackedAsFills + st.FillsUnackedAsRepeats
	require.Equal(t, uint64(fills), r.OOOTx+r.LostBeforeTapTx-uint64(st.GapOpenAtEnd),
		"every fill is out of order or lost before the tap (%v)", st)
	require.Equal(t, uint64(repeats)+r.LostBeforeTapTx-uint64(st.GapOpenAtEnd), r.RetransTx,
		"retransmissions: repeats and fills lost before the tap (%v)", st)
	require.Equal(t, uint64(unacked)+r.LostBeforeTapTx, r.LostTx,
		"losses: before the tap, and repeats of data the server had not ACKed (%v)", st)
	require.Zero(t, r.RetransRx+r.LostRx+r.LostBeforeTapRx+r.OOORx, "the server sent one small response")
}

// liveCheckOvercount handles the discrepancy reported with this test:
// tapflow counts as lost before the tap (and as retransmitted, and lost)
// segments that were not lost before the tap:
//   - late segments: reordered before the tap (the IP IDs prove it) and
//     arriving after the server's duplicate ACK for their hole, or for an
//     earlier open hole;
//   - repeats: retransmissions of bytes the tap saw, falling inside the
//     span of several open holes that tapflow merges into one gap;
//   - a merged gap left open at the end though every hole was filled.
//
// When lost_before_tap exceeds what the capture shows (retransmitted fills
// and holes never filled), the excess must be within what a single-gap
// tracker takes for losses (at most all of it: tapflow's round-trip rule
// moves the fills that come too soon after the ask to ooo); the run then
// logs the evidence, loudly, and the accounting (liveCheckAccounting) is
// still checked exactly. It returns how many segments the discrepancy
// can explain: those the tracker wrongly takes for losses.
func liveCheckOvercount(t *testing.T, keep func() string, r *liveRec, st liveSeqStats, segs []liveSeg) int {
	t.Helper()
	truth := st.RetransFills + st.OpenAtEnd
	explained := len(st.LateAsLostAt) + len(st.RepeatAsLostAt) + st.MergedOpenAtEnd
	if int(r.LostBeforeTapTx) <= truth {
		return explained
	}
	require.LessOrEqual(t, r.LostBeforeTapTx, uint64(st.SingleGapLost),
		"lost_before_tap_tx %d exceeds the capture's %d losses before the tap and what a single-gap tracker counts (%v)",
		r.LostBeforeTapTx, truth, st)
	var ev, why strings.Builder
	for _, k := range []struct {
		what   string
		at     []int
		repeat bool
	}{{"late segment (IP ID below the hole opener's)", st.LateAsLostAt, false}, {"repeat of bytes the tap saw", st.RepeatAsLostAt, true}} {
		for n, i := range k.at {
			if n == 2 {
				fmt.Fprintf(&ev, "  (%d more)\n", len(k.at)-n)
				break
			}
			fmt.Fprintf(&ev, "  %s #%d:\n", k.what, i)
			if k.repeat {
				for j := range i {
					if segs[j].toServer && segs[j].seq == segs[i].seq && segs[j].payload > 0 {
						fmt.Fprintf(&ev, "  first seen:\n%s  …\n", liveTrace(segs, j, j+1))
						break
					}
				}
			}
			ev.WriteString(liveTrace(segs, i-8, i+2))
		}
	}
	if len(st.LateAsLostAt) > 0 {
		fmt.Fprintf(&why, "%d late segments: no byte of them was lost, each was sent before the segment that opened "+
			"its hole (reordered before the tap); tapflow calls it a loss because the server's duplicate ACK passed the "+
			"tap first, though a retransmission cannot follow that ACK sooner than rtt_client (%d µs). ", len(st.LateAsLostAt), r.RTTClient)
	}
	if len(st.RepeatAsLostAt) > 0 {
		fmt.Fprintf(&why, "%d repeats: they carry bytes the tap had seen, which cannot have been lost before it; tapflow "+
			"takes them for fills because it merges the holes open at once into one gap spanning seen bytes. ", len(st.RepeatAsLostAt))
	}
	if st.MergedOpenAtEnd > 0 {
		why.WriteString("A merged gap left open at the end though every hole was filled. ")
	}
	msg := fmt.Sprintf("KNOWN DISCREPANCY: lost_before_tap_tx %d but the capture allows at most %d (its retransmitted "+
		"fills and never-filled holes: %v; tapflow: retrans_tx %d, lost_tx %d, ooo_tx %d). The excess: %s"+
		"(§3: loss = sequence gaps never filled.) Capture kept as %s. Evidence:\n%s",
		r.LostBeforeTapTx, truth, st, r.RetransTx, r.LostTx, r.OOOTx, why.String(), keep(), ev.String())
	fmt.Printf("%s: KNOWN DISCREPANCY: lost_before_tap_tx %d, the capture allows at most %d (details in the test log)\n",
		t.Name(), r.LostBeforeTapTx, truth)
	t.Log(msg)
	return explained
}
