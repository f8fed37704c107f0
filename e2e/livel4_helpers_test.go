package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/stretchr/testify/require"
	"github.com/tapflow/tapflow/internal/testserver"
)

// Helpers of TestLiveL4 (livel4_test.go): a two-namespace lab with a SPAN
// port, the Python traffic programs, the parsing of `replay --print l4`
// with every metric, and a small pcap reader that prints one flow's packet
// sequence as evidence and checks where an iptables DROP sits relative to
// the mirror point.

// liveL4Script is the traffic generator, run with `ip netns exec NS python3
// SCRIPT MODE ...`. Its wire protocol: the client sends an 8-byte big-endian
// length L and L bytes; the server reads them all, sleeps --delay, answers
// --resp bytes and then reads until the client's FIN (or RST) and closes.
// Clients bind explicit source ports (--cport) so the test finds their
// flows, and print one JSON object with what they observed.
const liveL4Script = `
import argparse, errno, json, socket, struct, subprocess, sys, threading, time

def recvn(c, n):
    buf = bytearray()
    while len(buf) < n:
        b = c.recv(n - len(buf))
        if not b:
            raise EOFError
        buf += b
    return bytes(buf)

def handle(c, a):
    try:
        if a.sleep_before_read:
            time.sleep(a.sleep_before_read)
        n = struct.unpack("!Q", recvn(c, 8))[0]
        while n:
            b = c.recv(min(a.chunk, n))
            if not b:
                raise EOFError
            n -= len(b)
        if a.mode == "rst":
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.close()
            return
        time.sleep(a.delay)
        c.sendall(b"r" * a.resp)
        while c.recv(65536):
            pass
    except (ConnectionResetError, EOFError, OSError):
        pass
    finally:
        c.close()

def server(a):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if a.rcvbuf:
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
    ls.bind((a.host, a.port))
    ls.listen(a.backlog)
    print("ready", flush=True)
    if a.mode == "noaccept":
        time.sleep(3600)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=handle, args=(c, a), daemon=True).start()

def sock(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", port))
    return s

def errname(e):
    if isinstance(e, ConnectionResetError):
        return "reset"
    if isinstance(e, ConnectionRefusedError):
        return "refused"
    if isinstance(e, (socket.timeout, TimeoutError)):
        return "timeout"
    return type(e).__name__ + ":" + str(e)

def out(**kw):
    print(json.dumps(kw), flush=True)

def req(a):
    s = sock(a.cport)
    s.settimeout(a.wait)
    s.connect((a.host, a.port))
    time.sleep(a.think)
    s.sendall(struct.pack("!Q", a.size) + b"q" * a.size)
    got, err = 0, None
    try:
        while got < a.resp:
            b = s.recv(65536)
            if not b:
                break
            got += len(b)
    except Exception as e:
        err = errname(e)
    if a.rst:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    out(got=got, err=err)

def probe(a):
    s = sock(a.cport)
    s.settimeout(a.wait)
    t0 = time.time()
    try:
        s.connect((a.host, a.port))
        err = None
    except Exception as e:
        err = errname(e)
    s.close()
    out(err=err, elapsed=time.time() - t0)

def fill(a):
    # Connections the server never accepts: they fill its accept queue.
    fs = []
    for i in range(a.fill):
        s = sock(a.cport + 10 + i)
        s.settimeout(5)
        s.connect((a.host, a.port))
        fs.append(s)
    time.sleep(0.2)
    return fs

def synfull(a):
    fs = fill(a)
    probe(a)

def overflow(a):
    fs = fill(a)
    # Hold the clients' pure ACKs (before the mirror point): the server
    # keeps both new connections in SYN_RECV, so both SYNs get SYN-ACKs
    # while the accept queue still has room. The first request then
    # completes its connection and fills the queue; the second request
    # completes the handshake of a connection the queue has no room for.
    subprocess.check_call(["iptables", "-A", "OUTPUT", "-p", "tcp", "--dport", str(a.port),
                           "--tcp-flags", "ALL", "ACK", "-j", "DROP"])
    b1 = sock(a.cport + 1)
    b1.settimeout(5)
    b1.connect((a.host, a.port))
    b2 = sock(a.cport + 2)
    b2.settimeout(5)
    b2.connect((a.host, a.port))
    b1.sendall(b"1" * 100)
    time.sleep(0.2)
    t0 = time.time()
    b2.settimeout(a.wait)
    b2.sendall(b"2" * 100)
    try:
        r = b2.recv(100)
        err = "eof" if not r else "data"
    except Exception as e:
        err = errname(e)
    out(err=err, elapsed=time.time() - t0)

p = argparse.ArgumentParser()
p.add_argument("mode")
p.add_argument("--host", required=True)
p.add_argument("--port", type=int, required=True)
p.add_argument("--cport", type=int, default=0)
p.add_argument("--backlog", type=int, default=64)
p.add_argument("--rcvbuf", type=int, default=0)
p.add_argument("--sleep-before-read", type=float, default=0)
p.add_argument("--chunk", type=int, default=65536)
p.add_argument("--delay", type=float, default=0)
p.add_argument("--resp", type=int, default=0)
p.add_argument("--size", type=int, default=0)
p.add_argument("--think", type=float, default=0)
p.add_argument("--rst", action="store_true")
p.add_argument("--fill", type=int, default=0)
p.add_argument("--wait", type=float, default=10)
p.add_argument("--server-mode", dest="smode", default="fin")
a = p.parse_args()
if a.mode == "server":
    a.mode = a.smode
    server(a)
else:
    {"req": req, "probe": probe, "synfull": synfull, "overflow": overflow}[a.mode](a)
`

// Lab addresses. Every scenario has its own namespaces, so they repeat.
const (
	liveCliIP = "10.78.1.1"
	liveSrvIP = "10.78.2.2"
	livePort  = 8080
)

// liveLab is one scenario's network: namespace cli ↔ namespace rtr (an IP
// router) ↔ namespace srv over veth pairs, and a SPAN port on the server's
// veth: tc mirrors its ingress (client → server) and egress (server →
// client) to the veth pair span ↔ capDev; capDev lives in the root
// namespace, where tcpdump records.
//
// Where the tap sits relative to iptables, checked on the capture by the
// loss scenarios (liveSeqShape):
//   - tc ingress on the server's veth runs in __netif_receive_skb_core,
//     before the server namespace's netfilter (PREROUTING, INPUT): a DROP
//     in the server's INPUT is after the tap.
//   - The router forwards before the packet reaches the server's veth: a
//     DROP in the router's FORWARD is before the tap.
//   - A DROP in the client's own OUTPUT (or POSTROUTING) is no network loss
//     at all: netfilter's verdict comes back to tcp_transmit_skb as an
//     error, TCP keeps the segment queued and sends it again later, so
//     nothing is missing on the wire. That is why the router exists.
type liveLab struct {
	t             *testing.T
	cli, rtr, srv string // namespace names
	srvDev        string // the server's veth, where the mirror is
	capDev        string // root-namespace end of the SPAN veth
	dir           string
	script        string
	pcap          string
	dump          *exec.Cmd
	dumpDone      <-chan struct{}
	dumpErr       *testserver.SyncBuffer
	capRx0        int  // capDev's rx_packets when tcpdump started
	pin           bool // run client and server on CPU 0 only
	id            string
}

// python returns the command running the traffic script in ns.
func (l *liveLab) python(ns string, args ...string) *exec.Cmd {
	argv := []string{"netns", "exec", ns}
	if l.pin {
		argv = append(argv, "taskset", "-c", "0")
	}
	argv = append(argv, "python3", l.script)
	return exec.Command("ip", append(argv, args...)...)
}

// liveStart starts cmd and returns a channel closed when it has exited;
// the test's cleanup kills it if it still runs. Only the goroutine started
// here waits for cmd.
func liveStart(t *testing.T, cmd *exec.Cmd) <-chan struct{} {
	t.Helper()
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	return done
}

// capRx returns how many packets the SPAN port received.
func (l *liveLab) capRx() int {
	l.t.Helper()
	raw, err := os.ReadFile("/sys/class/net/" + l.capDev + "/statistics/rx_packets")
	require.NoError(l.t, err)
	n, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	require.NoError(l.t, err)
	return n
}

func newLiveLab(t *testing.T, idx int, script string) *liveLab {
	t.Helper()
	id := fmt.Sprintf("%04d%02d", os.Getpid()%10000, idx)
	l := &liveLab{t: t, cli: "tlc" + id, rtr: "tlr" + id, srv: "tls" + id, srvDev: "tls" + id,
		capDev: "tlm" + id + "c", dir: t.TempDir(), script: script, id: id}
	cdev, rc, rs, span := "tlc"+id, "tlrc"+id, "tlrs"+id, "tlm"+id
	netns(t, l.cli, l.rtr, l.srv)
	for _, ns := range []string{l.cli, l.rtr, l.srv} {
		// IPv4 only: no IPv6 neighbour discovery or MLD on the links, so
		// the SPAN port carries only the scenario's traffic and ARP.
		sh(t, "ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
	}
	sh(t, "ip", "link", "add", cdev, "netns", l.cli, "type", "veth", "peer", "name", rc, "netns", l.rtr)
	sh(t, "ip", "link", "add", rs, "netns", l.rtr, "type", "veth", "peer", "name", l.srvDev, "netns", l.srv)
	sh(t, "ip", "link", "add", span, "netns", l.srv, "type", "veth", "peer", "name", l.capDev)
	t.Cleanup(func() { exec.Command("ip", "link", "del", l.capDev).Run() })
	links := [][2]string{{l.cli, cdev}, {l.rtr, rc}, {l.rtr, rs}, {l.srv, l.srvDev}, {l.srv, span}}
	for _, c := range [][]string{
		{"ip", "-n", l.cli, "addr", "add", liveCliIP + "/24", "dev", cdev},
		{"ip", "-n", l.rtr, "addr", "add", "10.78.1.254/24", "dev", rc},
		{"ip", "-n", l.rtr, "addr", "add", "10.78.2.254/24", "dev", rs},
		{"ip", "-n", l.srv, "addr", "add", liveSrvIP + "/24", "dev", l.srvDev},
		{"ip", "netns", "exec", l.rtr, "sysctl", "-qw", "net.ipv4.ip_forward=1"},
		{"sysctl", "-qw", "net.ipv6.conf." + l.capDev + ".disable_ipv6=1"},
	} {
		sh(t, c...)
	}
	for _, ln := range links {
		// One MSS per packet, as on a wire: veth would otherwise hand TCP
		// 64 KB GSO super-packets, and a DROP would take 45 segments at once.
		sh(t, "ip", "-n", ln[0], "link", "set", ln[1], "gso_max_segs", "1", "up")
	}
	for _, ns := range []string{l.cli, l.rtr, l.srv} {
		sh(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	sh(t, "ip", "link", "set", l.capDev, "up")
	sh(t, "ip", "-n", l.cli, "route", "add", "default", "via", "10.78.1.254")
	sh(t, "ip", "-n", l.srv, "route", "add", "default", "via", "10.78.2.254")
	for _, dir := range []string{"ingress", "egress"} {
		if dir == "ingress" {
			sh(t, "ip", "netns", "exec", l.srv, "tc", "qdisc", "add", "dev", l.srvDev, "clsact")
		}
		sh(t, "ip", "netns", "exec", l.srv, "tc", "filter", "add", "dev", l.srvDev, dir, "protocol", "all",
			"u32", "match", "u32", "0", "0", "action", "mirred", "egress", "mirror", "dev", span)
	}
	// Until a veth is operationally up its qdisc is noop and drops.
	for _, ln := range append(links, [2]string{"", l.capDev}) {
		args := []string{"-o", "link", "show", "dev", ln[1]}
		if ln[0] != "" {
			args = append([]string{"-n", ln[0]}, args...)
		}
		waitFor(t, ln[1]+" up", func() bool {
			out, _ := exec.Command("ip", args...).Output()
			return strings.Contains(string(out), "state UP")
		})
	}
	return l
}

// reorderPath adds a second router → server link, mirrored on the server
// side like the first, and routes two consecutive client data segments out
// of every `every` over it. A tbf on it lets the first of the two through
// at once and holds the second for one packet time at `rate` (about 30 µs
// at 400 Mbit/s), so the next segments, taking the first link, overtake
// it: reordering before the tap, by a known amount, without netem.
func (l *liveLab) reorderPath(every int, rate string) {
	l.t.Helper()
	rs2, sdev2 := "tlrt"+l.id, "tlst"+l.id
	sh(l.t, "ip", "link", "add", rs2, "netns", l.rtr, "type", "veth", "peer", "name", sdev2, "netns", l.srv)
	for _, c := range [][]string{
		{"ip", "-n", l.rtr, "addr", "add", "10.78.3.254/24", "dev", rs2},
		{"ip", "-n", l.srv, "addr", "add", "10.78.3.2/24", "dev", sdev2},
		{"ip", "-n", l.rtr, "link", "set", rs2, "gso_max_segs", "1", "up"},
		{"ip", "-n", l.srv, "link", "set", sdev2, "gso_max_segs", "1", "up"},
		// Packets for 10.78.2.2 arrive on the second link: no reverse-path check.
		{"ip", "netns", "exec", l.srv, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf." + sdev2 + ".rp_filter=0"},
		{"ip", "netns", "exec", l.srv, "tc", "qdisc", "add", "dev", sdev2, "clsact"},
		{"ip", "netns", "exec", l.srv, "tc", "filter", "add", "dev", sdev2, "ingress", "protocol", "all",
			"u32", "match", "u32", "0", "0", "action", "mirred", "egress", "mirror", "dev", "tlm" + l.id},
		{"ip", "-n", l.rtr, "rule", "add", "fwmark", "1", "table", "100"},
		{"ip", "-n", l.rtr, "route", "add", liveSrvIP, "via", "10.78.3.2", "dev", rs2, "table", "100"},
	} {
		sh(l.t, c...)
	}
	if out, err := exec.Command("ip", "netns", "exec", l.rtr, "tc", "qdisc", "add", "dev", rs2, "root",
		"tbf", "rate", rate, "burst", "1600", "latency", "100ms").CombinedOutput(); err != nil {
		skipOrFail(l.t, "tc qdisc tbf: %v: %s", err, out)
	}
	for _, n := range []string{"0", "1"} {
		l.iptables(l.rtr, "-t", "mangle", "-A", "PREROUTING", "-p", "tcp", "--dport", strconv.Itoa(livePort),
			"-m", "length", "--length", "1000:65535", "-m", "statistic", "--mode", "nth", "--every", strconv.Itoa(every),
			"--packet", n, "-j", "MARK", "--set-mark", "1")
	}
	waitFor(l.t, sdev2+" up", func() bool {
		out, _ := exec.Command("ip", "-n", l.srv, "-o", "link", "show", "dev", sdev2).Output()
		return strings.Contains(string(out), "state UP")
	})
}

// sysctl sets a per-namespace sysctl in ns.
func (l *liveLab) sysctl(ns, kv string) {
	l.t.Helper()
	sh(l.t, "ip", "netns", "exec", ns, "sysctl", "-qw", kv)
}

// iptables runs iptables in ns; a rule the kernel cannot load (module
// missing) skips the scenario loudly.
func (l *liveLab) iptables(ns string, args ...string) {
	l.t.Helper()
	cmd := append([]string{"netns", "exec", ns, "iptables"}, args...)
	if out, err := exec.Command("ip", cmd...).CombinedOutput(); err != nil {
		skipOrFail(l.t, "iptables %s in a namespace failed (%v): %s", strings.Join(args, " "), err, out)
	}
}

// dropCount returns the packet counter of the first DROP rule of chain in ns.
func (l *liveLab) dropCount(ns, chain string) int {
	l.t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "iptables", "-L", chain, "-v", "-x", "-n").CombinedOutput()
	require.NoError(l.t, err, "%s", out)
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 2 && f[2] == "DROP" {
			n, err := strconv.Atoi(f[0])
			require.NoError(l.t, err, line)
			return n
		}
	}
	l.t.Fatalf("no DROP rule in %s %s:\n%s", ns, chain, out)
	return 0
}

// startCapture starts tcpdump on the SPAN port and waits until it listens.
func (l *liveLab) startCapture() {
	l.t.Helper()
	l.pcap = filepath.Join(l.dir, "span.pcap")
	// --immediate-mode: without it TPACKET_V3 hands packets over by ring
	// block, and those of the block still open at SIGTERM are lost without
	// being counted as drops. In immediate mode libpcap uses TPACKET_V2
	// with one snaplen-sized slot per packet: a 2 KB snaplen (frames are at
	// most 1514 bytes, GSO being off) and a 64 MB buffer give 32 k slots.
	l.dump = exec.Command("tcpdump", "-i", l.capDev, "-n", "-s", "2048", "-B", "65536", "-U", "--immediate-mode", "-w", l.pcap)
	l.dumpErr = &testserver.SyncBuffer{}
	l.dump.Stderr = l.dumpErr
	l.dumpDone = liveStart(l.t, l.dump)
	waitFor(l.t, "tcpdump listening", func() bool { return strings.Contains(l.dumpErr.String(), "listening on") })
	l.capRx0 = l.capRx()
}

var liveDroppedRE = regexp.MustCompile(`(\d+) packets? dropped by kernel`)

// stopCapture lets the last packets through, stops tcpdump and requires
// that the capture holds every packet the SPAN port received: a gap in the
// capture would read as network loss.
func (l *liveLab) stopCapture() {
	l.t.Helper()
	time.Sleep(300 * time.Millisecond)
	require.NoError(l.t, l.dump.Process.Signal(syscall.SIGTERM))
	<-l.dumpDone
	m := liveDroppedRE.FindStringSubmatch(l.dumpErr.String())
	require.NotNil(l.t, m, "tcpdump summary: %s", l.dumpErr.String())
	require.Equal(l.t, "0", m[1], "tcpdump dropped packets: %s", l.dumpErr.String())
	require.Equal(l.t, l.capRx()-l.capRx0, l.pcapPackets(), "packets the SPAN port received vs packets in the capture")
}

// keepCapture copies the capture out of the test's temporary directory,
// as evidence, and returns where.
func (l *liveLab) keepCapture() string {
	keep := filepath.Join(os.TempDir(), "livel4-"+strings.NewReplacer("/", "-", " ", "_").Replace(l.t.Name())+".pcap")
	raw, err := os.ReadFile(l.pcap)
	if err == nil {
		err = os.WriteFile(keep, raw, 0o644)
	}
	if err != nil {
		return "(not kept: " + err.Error() + ")"
	}
	return keep
}

// pcapPackets counts the packets of the capture.
func (l *liveLab) pcapPackets() int {
	f, err := os.Open(l.pcap)
	require.NoError(l.t, err)
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	require.NoError(l.t, err)
	n := 0
	for {
		_, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return n
		}
		require.NoError(l.t, err)
		n++
	}
}

// server starts the Python server in the server namespace and waits for it
// to listen.
func (l *liveLab) server(args ...string) {
	l.t.Helper()
	cmd := l.python(l.srv, append([]string{"server", "--host", liveSrvIP, "--port", strconv.Itoa(livePort)}, args...)...)
	out, errOut := &testserver.SyncBuffer{}, &testserver.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, errOut
	done := liveStart(l.t, cmd)
	deadline := time.After(10 * time.Second)
	for !strings.Contains(out.String(), "ready") {
		select {
		case <-done:
			l.t.Fatalf("server exited: %s%s", out.String(), errOut.String())
		case <-deadline:
			l.t.Fatalf("server not ready: %s%s", out.String(), errOut.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// client runs a Python client in the client namespace and returns what it
// printed.
func (l *liveLab) client(mode string, cport int, args ...string) map[string]any {
	l.t.Helper()
	cmd := l.python(l.cli, append([]string{mode, "--host", liveSrvIP, "--port", strconv.Itoa(livePort),
		"--cport", strconv.Itoa(cport)}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(l.t, err, "client %s: %s", mode, stderr.String())
	var res map[string]any
	require.NoError(l.t, json.Unmarshal(bytes.TrimSpace(out), &res), "client output %q", out)
	return res
}

// liveRec is one `replay --print l4` line with every metric.
type liveRec struct {
	FlowID          uint64 `json:"flow_id"`
	ClientIP        string `json:"client_ip"`
	ClientPort      uint16 `json:"client_port"`
	ServerIP        string `json:"server_ip"`
	ServerPort      uint16 `json:"server_port"`
	CloseType       int    `json:"close_type"`
	PacketsTx       uint64 `json:"packets_tx"`
	PacketsRx       uint64 `json:"packets_rx"`
	RTT             uint64 `json:"rtt_us"`
	RTTClient       uint64 `json:"rtt_client_us"`
	RTTServer       uint64 `json:"rtt_server_us"`
	SRT             uint64 `json:"srt_us"`
	SRTMax          uint64 `json:"srt_max_us"`
	ART             uint64 `json:"art_us"`
	ARTMax          uint64 `json:"art_max_us"`
	CIT             uint64 `json:"cit_us"`
	RetransTx       uint64 `json:"retrans_tx"`
	RetransRx       uint64 `json:"retrans_rx"`
	ZeroWinTx       uint64 `json:"zero_win_tx"`
	ZeroWinRx       uint64 `json:"zero_win_rx"`
	OOOTx           uint64 `json:"ooo_tx"`
	OOORx           uint64 `json:"ooo_rx"`
	LostTx          uint64 `json:"lost_tx"`
	LostRx          uint64 `json:"lost_rx"`
	LostBeforeTapTx uint64 `json:"lost_before_tap_tx"`
	LostBeforeTapRx uint64 `json:"lost_before_tap_rx"`
	SYNCount        uint64 `json:"syn_count"`
	SYNACKCount     uint64 `json:"synack_count"`
	FINCount        uint64 `json:"fin_count"`

	// CloseTypes lists the close type of every report merged into this
	// one (forced reports 5 first when the flow crossed a minute).
	CloseTypes []int    `json:"-"`
	Lines      []string `json:"-"`
}

// replayLive replays the lab's capture and returns the flow of each client
// port. A flow that crossed a minute boundary has a forced report (5)
// before its final one; they are merged: counters add up, the handshake
// times come from the report that has them, means and maxima take the
// largest, and CloseType is the final report's.
func (l *liveLab) replayLive(bin string) map[uint16]*liveRec {
	l.t.Helper()
	return replayLiveFlows(l.t, bin, l.pcap)
}

// replayLiveFlows replays capture and returns its flows to livePort by
// client port, the records of one flow summed.
func replayLiveFlows(t *testing.T, bin, capture string) map[uint16]*liveRec {
	t.Helper()
	r := replay(bin, capture)
	require.Empty(t, r.crashed(), "replay: %s", r.stderrHead())
	require.Equal(t, 0, r.ExitCode, "replay: %s", r.stderrHead())
	flows := map[uint16]*liveRec{}
	l4out, _ := splitL7(r.Stdout)
	sc := bufio.NewScanner(bytes.NewReader(l4out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var x liveRec
		require.NoError(t, json.Unmarshal(line, &x), "%s", line)
		if x.ServerPort != livePort {
			continue
		}
		m := flows[x.ClientPort]
		if m == nil {
			m = &liveRec{}
			*m = x
			flows[x.ClientPort] = m
		} else {
			require.Equal(t, m.FlowID, x.FlowID, "client port %d has two flows:\n%s\n%s", x.ClientPort, m.Lines[0], line)
			m.add(&x)
		}
		m.CloseTypes = append(m.CloseTypes, x.CloseType)
		m.Lines = append(m.Lines, string(line))
	}
	require.NoError(t, sc.Err())
	return flows
}

func (m *liveRec) add(x *liveRec) {
	m.CloseType = x.CloseType
	for _, p := range [][2]*uint64{
		{&m.PacketsTx, &x.PacketsTx}, {&m.PacketsRx, &x.PacketsRx},
		{&m.RetransTx, &x.RetransTx}, {&m.RetransRx, &x.RetransRx},
		{&m.ZeroWinTx, &x.ZeroWinTx}, {&m.ZeroWinRx, &x.ZeroWinRx},
		{&m.OOOTx, &x.OOOTx}, {&m.OOORx, &x.OOORx},
		{&m.LostTx, &x.LostTx}, {&m.LostRx, &x.LostRx},
		{&m.LostBeforeTapTx, &x.LostBeforeTapTx}, {&m.LostBeforeTapRx, &x.LostBeforeTapRx},
		{&m.SYNCount, &x.SYNCount}, {&m.SYNACKCount, &x.SYNACKCount}, {&m.FINCount, &x.FINCount},
	} {
		*p[0] += *p[1]
	}
	if m.RTT == 0 && m.RTTClient == 0 && m.RTTServer == 0 {
		m.RTT, m.RTTClient, m.RTTServer = x.RTT, x.RTTClient, x.RTTServer
	}
	for _, p := range [][2]*uint64{{&m.SRT, &x.SRT}, {&m.SRTMax, &x.SRTMax}, {&m.ART, &x.ART}, {&m.ARTMax, &x.ARTMax}, {&m.CIT, &x.CIT}} {
		*p[0] = max(*p[0], *p[1])
	}
}

// liveSeg is one TCP segment of the capture.
type liveSeg struct {
	ts       time.Time
	ipid     uint16
	toServer bool
	flags    string
	seq, ack uint32
	win      uint16
	payload  int
}

// liveSegments returns the segments of the flow from client port cport.
func (l *liveLab) liveSegments(cport uint16) []liveSeg {
	l.t.Helper()
	return liveSegmentsOf(l.t, l.pcap, cport)
}

// liveSegmentsOf returns the segments of capture's flow from client port
// cport to livePort.
func liveSegmentsOf(t *testing.T, capture string, cport uint16) []liveSeg {
	t.Helper()
	f, err := os.Open(capture)
	require.NoError(t, err)
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	require.NoError(t, err)
	var segs []liveSeg
	var eth layers.Ethernet
	var ip layers.IPv4
	var tcp layers.TCP
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		require.NoError(t, err)
		if eth.DecodeFromBytes(data, nil) != nil || eth.EthernetType != layers.EthernetTypeIPv4 ||
			ip.DecodeFromBytes(eth.Payload, nil) != nil || ip.Protocol != layers.IPProtocolTCP ||
			tcp.DecodeFromBytes(ip.Payload, nil) != nil {
			continue
		}
		s := liveSeg{ts: ci.Timestamp, ipid: ip.Id, seq: tcp.Seq, ack: tcp.Ack, win: tcp.Window, payload: len(tcp.Payload)}
		switch {
		case uint16(tcp.SrcPort) == cport && uint16(tcp.DstPort) == livePort:
			s.toServer = true
		case uint16(tcp.DstPort) == cport && uint16(tcp.SrcPort) == livePort:
		default:
			continue
		}
		for _, fl := range []struct {
			on bool
			c  byte
		}{{tcp.SYN, 'S'}, {tcp.FIN, 'F'}, {tcp.RST, 'R'}, {tcp.PSH, 'P'}, {tcp.ACK, '.'}} {
			if fl.on {
				s.flags += string(fl.c)
			}
		}
		segs = append(segs, s)
	}
	return segs
}

// liveTrace renders segs[from:to] like tcpdump, with sequence numbers
// relative to the flow's first segment in each direction, µs since the
// flow's first packet and the IP ID: the evidence printed with a failure.
func liveTrace(segs []liveSeg, from, to int) string {
	if len(segs) == 0 {
		return "  (no packets)\n"
	}
	from, to = max(from, 0), min(to, len(segs))
	var isn [2]uint32
	var have [2]bool
	for _, s := range segs {
		d := 0
		if !s.toServer {
			d = 1
		}
		if !have[d] {
			isn[d], have[d] = s.seq, true
		}
	}
	var b strings.Builder
	for i := from; i < to; i++ {
		s := segs[i]
		dir, d := "C>S", 0
		if !s.toServer {
			dir, d = "S>C", 1
		}
		ack := "-"
		if strings.Contains(s.flags, ".") {
			ack = strconv.FormatUint(uint64(s.ack-isn[1-d]), 10)
		}
		fmt.Fprintf(&b, "  #%-5d %9dµs %s id %5d [%-3s] seq %d ack %s win %d len %d\n",
			i, s.ts.Sub(segs[0].ts).Microseconds(), dir, s.ipid, s.flags, s.seq-isn[d], ack, s.win, s.payload)
	}
	return b.String()
}

// liveShape renders the flow compactly, one token per run of alike
// packets: > client → server, < server → client, TCP flags (S F R P .),
// d when the packet carries data, ×n for a run, e.g. ">S <S. >. >P.d <. <P.d".
func liveShape(segs []liveSeg) string {
	var toks []string
	var counts []int
	for _, s := range segs {
		tok := "<" + s.flags
		if s.toServer {
			tok = ">" + s.flags
		}
		if s.payload > 0 {
			tok += "d"
		}
		if n := len(toks); n > 0 && toks[n-1] == tok {
			counts[n-1]++
			continue
		}
		toks, counts = append(toks, tok), append(counts, 1)
	}
	for i := range toks {
		if counts[i] > 1 {
			toks[i] += "×" + strconv.Itoa(counts[i])
		}
	}
	return strings.Join(toks, " ")
}

// liveTraceHeadTail renders the first and last limit/2 segments.
func liveTraceHeadTail(segs []liveSeg, limit int) string {
	if len(segs) <= limit {
		return liveTrace(segs, 0, len(segs))
	}
	return liveTrace(segs, 0, limit/2) + fmt.Sprintf("  … %d packets …\n", len(segs)-limit) +
		liveTrace(segs, len(segs)-limit/2, len(segs))
}

// liveSeqStats is the client → server sequence space as the tap saw it,
// with the ground truth the IP ID gives: Linux numbers the IP ID of a
// connected TCP socket's packets from a per-socket counter, so a segment
// that fills a hole with an IP ID below that of the segment that opened the
// hole was sent first and arrived late (reordering), and one with a higher
// IP ID was sent later (a retransmission of bytes lost before the tap).
type liveSeqStats struct {
	Holes int // data segments starting beyond the highest sequence seen
	// Segments below the highest sequence covering bytes of a hole: the
	// retransmissions of bytes lost before the tap, and the late originals.
	RetransFills, LateFills int
	// SpuriousFills are the retransmitted fills whose original arrived
	// later still (a repeat with an IP ID below the hole opener's): the
	// bytes were delayed, not lost, but only the receiver's D-SACK or the
	// IP IDs tell a tap so.
	SpuriousFills int
	// Segments below the highest sequence covering no hole byte:
	// retransmissions of bytes the tap saw, and of those the ones the
	// server had not ACKed yet when the tap saw them.
	Repeats, RepeatsUnacked int
	OpenAtEnd               int // holes never filled

	// What a tracker keeping one gap per direction makes of the same
	// segments (holes opened while one is open merge into it; a segment
	// overlapping the gap after the receiver ACKed exactly its start is a
	// loss before the tap; a gap still open at the end is one more), when
	// the capture says otherwise: late segments (LateAsLostAt) and
	// repeats of bytes the tap saw (RepeatAsLostAt) taken for losses
	// before the tap, indexes in segs; MergedOpenAtEnd is 1 if the merged
	// gap is still open at the end though every hole was filled.
	LateAsLostAt, RepeatAsLostAt []int
	MergedOpenAtEnd              int
	// SingleGapLost is that tracker's count of losses before the tap.
	SingleGapLost int
	// How that tracker classes the segments behind the highest sequence,
	// asked for or not: repeats it takes for fills of its gap (and of
	// those the ones the server had not ACKed), true fills it takes for
	// repeats (the server ACKed past their bytes first), and whether its
	// gap is open at the end.
	RepeatsAsFills, RepeatsUnackedAsFills int
	FillsAsRepeats, FillsUnackedAsRepeats int
	GapOpenAtEnd                          int
}

func (st liveSeqStats) String() string {
	return fmt.Sprintf("holes %d (retransmitted fills %d of which %d spurious, late fills %d, never filled %d), repeats %d (unACKed %d); "+
		"a single-gap tracker counts %d losses before the tap, taking %d late segments, %d repeats and %d open merged gap for losses; "+
		"it takes %d repeats (%d unACKed) for fills and %d fills (%d unACKed) for repeats",
		st.Holes, st.RetransFills, st.SpuriousFills, st.LateFills, st.OpenAtEnd, st.Repeats, st.RepeatsUnacked,
		st.SingleGapLost, len(st.LateAsLostAt), len(st.RepeatAsLostAt), st.MergedOpenAtEnd,
		st.RepeatsAsFills, st.RepeatsUnackedAsFills, st.FillsAsRepeats, st.FillsUnackedAsRepeats)
}

func max32(a, b uint32) uint32 {
	if int32(a-b) > 0 {
		return a
	}
	return b
}

func min32(a, b uint32) uint32 {
	if int32(a-b) < 0 {
		return a
	}
	return b
}

// liveSeqShape computes liveSeqStats from one flow's segments.
func liveSeqShape(segs []liveSeg) liveSeqStats {
	type hole struct {
		lo, hi uint32
		id     uint16 // IP ID of the segment that opened it
	}
	var open []hole
	var filled []hole // holes (parts) filled by a retransmission, id: the opener's
	var st liveSeqStats
	lt := func(a, b uint32) bool { return int32(a-b) < 0 }
	le := func(a, b uint32) bool { return int32(a-b) <= 0 }
	var nxt, maxAck uint32
	var gLo, gHi uint32 // the single merged gap; gLo == gHi: none
	gAsked := false
	started, acked := false, false
	for i, s := range segs {
		if !s.toServer {
			if strings.Contains(s.flags, ".") && !strings.Contains(s.flags, "R") && started {
				a := s.ack
				if gLo != gHi {
					switch {
					case a == gLo:
						gAsked = true
					case lt(gLo, a) && le(a, nxt):
						// ACKed past the gap's start: bytes the tap missed.
						if le(gHi, a) {
							gLo = gHi
						} else {
							gLo = a
						}
					}
				}
				if !acked || lt(maxAck, a) {
					maxAck, acked = a, true
				}
			}
			continue
		}
		if strings.Contains(s.flags, "R") {
			continue
		}
		n := uint32(s.payload)
		if strings.ContainsAny(s.flags, "SF") {
			n++
		}
		if n == 0 {
			continue
		}
		lo, hi := s.seq, s.seq+n
		if !started {
			started, nxt, gLo, gHi = true, hi, hi, hi
			continue
		}
		if le(nxt, lo) {
			if lo != nxt {
				st.Holes++
				open = append(open, hole{lo: nxt, hi: lo, id: s.ipid})
				if gLo == gHi {
					gLo, gAsked = nxt, false
				}
				gHi = lo
			}
			nxt = hi
			continue
		}
		if n <= 1 && !strings.ContainsAny(s.flags, "SF") && lo+1 == nxt {
			continue // keepalive
		}
		// Behind the highest sequence: the truth from the hole list.
		var hit *hole
		var rest []hole
		for _, h := range open {
			if !lt(lo, h.hi) || !lt(h.lo, hi) {
				rest = append(rest, h)
				continue
			}
			if hit == nil {
				hit = &h
			}
			if int16(s.ipid-h.id) > 0 {
				filled = append(filled, hole{lo: max32(lo, h.lo), hi: min32(hi, h.hi), id: h.id})
			}
			if lt(h.lo, lo) {
				rest = append(rest, hole{lo: h.lo, hi: lo, id: h.id})
			}
			if lt(hi, h.hi) {
				rest = append(rest, hole{lo: hi, hi: h.hi, id: h.id})
			}
		}
		open = rest
		late, repeat, unacked := false, false, !acked || lt(maxAck, hi)
		switch {
		case hit != nil && int16(s.ipid-hit.id) < 0:
			st.LateFills++
			late = true
		case hit != nil:
			st.RetransFills++
		default:
			st.Repeats++
			repeat = true
			for j := range filled {
				if f := &filled[j]; f.hi != f.lo && lt(lo, f.hi) && lt(f.lo, hi) && int16(s.ipid-f.id) < 0 {
					st.SpuriousFills++
					f.hi = f.lo // count once
				}
			}
			if unacked {
				st.RepeatsUnacked++
			}
		}
		// The single-gap tracker.
		inGap := gLo != gHi && lt(lo, gHi) && lt(gLo, hi)
		switch {
		case inGap && repeat:
			st.RepeatsAsFills++
			if unacked {
				st.RepeatsUnackedAsFills++
			}
		case !inGap && !repeat:
			st.FillsAsRepeats++
			if unacked {
				st.FillsUnackedAsRepeats++
			}
		}
		if inGap {
			if gAsked {
				st.SingleGapLost++
				if late {
					st.LateAsLostAt = append(st.LateAsLostAt, i)
				} else if repeat {
					st.RepeatAsLostAt = append(st.RepeatAsLostAt, i)
				}
			}
			switch {
			case le(lo, gLo) && le(gHi, hi):
				gLo = gHi
			case le(lo, gLo):
				gLo = hi
			case le(gHi, hi):
				gHi = lo
			}
		}
		if lt(nxt, hi) {
			nxt = hi
		}
	}
	st.OpenAtEnd = len(open)
	if gLo != gHi {
		st.SingleGapLost++
		st.GapOpenAtEnd = 1
		if len(open) == 0 {
			st.MergedOpenAtEnd = 1
		}
	}
	return st
}
