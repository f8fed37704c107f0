package dataplane_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/tapflow/tapflow/dataplane"
	"github.com/tapflow/tapflow/dataplane/internal/testframes"
	"github.com/tapflow/tapflow/flowtable"
	"github.com/tapflow/tapflow/tap"
)

// The live tests build their own network namespaces and veth pairs, named
// with a random suffix so concurrent runs do not collide, and remove them in
// t.Cleanup. Every address is a documentation prefix inside those
// namespaces (192.0.2.0/24 underlay, 203.0.113.0/24 overlay).

// skipOrFail skips loudly on a developer machine and fails in CI.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("required in CI: "+format, args...)
	}
	t.Skipf("SKIP (loud): "+format, args...)
}

// requireNetlab checks for root, ip netns, tc and the given tools.
func requireNetlab(t *testing.T, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "live capture tests need root")
	}
	for _, tool := range append([]string{"ip", "tc"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			skipOrFail(t, "%s not installed: %v", tool, err)
		}
	}
	if out, err := exec.Command("ip", "netns", "list").CombinedOutput(); err != nil {
		skipOrFail(t, "ip netns unavailable: %v: %s", err, out)
	}
}

func suffix(t *testing.T) string {
	b := make([]byte, 3)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// sh runs a command and fails the test on error.
func sh(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	require.NoError(t, err, "%s: %s", strings.Join(args, " "), out)
	return string(out)
}

// inNS runs a command in network namespace ns.
func inNS(t *testing.T, ns string, args ...string) string {
	t.Helper()
	return sh(t, append([]string{"ip", "netns", "exec", ns}, args...)...)
}

func addNS(t *testing.T, name string) {
	t.Helper()
	sh(t, "ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	inNS(t, name, "ip", "link", "set", "lo", "up")
}

// addVeth makes a veth pair; an empty namespace means the test's own.
// IPv6 is off on both ends so no neighbour discovery adds frames.
func addVeth(t *testing.T, a, nsA, b, nsB string) {
	t.Helper()
	sh(t, "ip", "link", "add", a, "type", "veth", "peer", "name", b)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", a).Run(); _ = exec.Command("ip", "link", "del", b).Run() })
	for _, e := range []struct{ dev, ns string }{{a, nsA}, {b, nsB}} {
		run := func(args ...string) {
			if e.ns == "" {
				sh(t, args...)
			} else {
				inNS(t, e.ns, args...)
			}
		}
		if e.ns != "" {
			sh(t, "ip", "link", "set", e.dev, "netns", e.ns)
		}
		run("sysctl", "-qw", "net.ipv6.conf."+e.dev+".disable_ipv6=1")
		run("ip", "link", "set", e.dev, "up")
	}
}

// collect runs a pipeline on src until stop is called, returning its
// records and counters.
type liveRun struct {
	p      *dataplane.Pipeline
	sink   *collectSink
	cancel context.CancelFunc
	done   chan error
}

func startPipeline(t *testing.T, src dataplane.Source, cfg dataplane.Config) *liveRun {
	t.Helper()
	sink := &collectSink{}
	p, err := dataplane.New(cfg, sink, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &liveRun{p: p, sink: sink, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- p.Run(ctx, src) }()
	t.Cleanup(cancel)
	return r
}

func (r *liveRun) stop(t *testing.T) []flowtable.FlowRecord {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("pipeline did not stop within 10s of cancel")
	}
	return r.sink.recs
}

func openLive(t *testing.T, engine string, cfg dataplane.LiveConfig) dataplane.LiveSource {
	t.Helper()
	src, err := dataplane.OpenLive(cfg, nil)
	require.NoError(t, err, "open %s on %v", engine, cfg.Interfaces)
	return src
}

// xdpAttached reports what `ip link show` says about an XDP program on dev.
func xdpAttached(t *testing.T, dev string) string {
	out := sh(t, "ip", "link", "show", "dev", dev)
	return regexp.MustCompile(`\bxdp\S*`).FindString(out)
}

// TestLiveVXLAN: two namespaces talk through a real VXLAN device (VNI 42)
// over a veth underlay whose both directions are mirrored with tc mirred to
// a capture veth; the pipeline on the capture veth reports the inner flows
// with tap type vxlan and tap port 42, with AF_PACKET and with AF_XDP.
func TestLiveVXLAN(t *testing.T) {
	requireNetlab(t, "python3")
	for _, engine := range []string{dataplane.EngineAFPacket, dataplane.EngineXDP} {
		t.Run("engine="+engine, func(t *testing.T) {
			id := suffix(t)
			nsA, nsB := "tfa"+id, "tfb"+id
			uA, uB, cA, capDev := "tfu"+id+"a", "tfu"+id+"b", "tfm"+id+"a", "tfm"+id+"c"
			addNS(t, nsA)
			addNS(t, nsB)
			addVeth(t, uA, nsA, uB, nsB)    // underlay
			addVeth(t, cA, nsA, capDev, "") // mirror port: ns A → capture
			inNS(t, nsA, "ip", "addr", "add", "192.0.2.1/24", "dev", uA)
			inNS(t, nsB, "ip", "addr", "add", "192.0.2.2/24", "dev", uB)
			for _, side := range []struct{ ns, dev, local, remote, inner string }{
				{nsA, uA, "192.0.2.1", "192.0.2.2", "203.0.113.1/24"},
				{nsB, uB, "192.0.2.2", "192.0.2.1", "203.0.113.2/24"},
			} {
				inNS(t, side.ns, "ip", "link", "add", "vx0", "type", "vxlan", "id", "42", "dstport", "4789",
					"local", side.local, "remote", side.remote, "dev", side.dev)
				inNS(t, side.ns, "ip", "addr", "add", side.inner, "dev", "vx0")
				inNS(t, side.ns, "ip", "link", "set", "vx0", "up")
			}
			// SPAN: both directions of the underlay port go out of the mirror port.
			inNS(t, nsA, "tc", "qdisc", "add", "dev", uA, "clsact")
			for _, dir := range []string{"ingress", "egress"} {
				inNS(t, nsA, "tc", "filter", "add", "dev", uA, dir, "protocol", "all", "u32", "match", "u32", "0", "0",
					"action", "mirred", "egress", "mirror", "dev", cA)
			}

			lc := dataplane.DefaultLiveConfig()
			lc.Engine, lc.Interfaces = engine, []string{capDev}
			src := openLive(t, engine, lc)
			closed := false
			t.Cleanup(func() {
				if !closed {
					src.Close()
				}
			})
			if engine == dataplane.EngineXDP {
				require.NotEmpty(t, xdpAttached(t, capDev), "program attached while capturing")
			}
			cfg := dataplane.DefaultConfig()
			cfg.Workers = 2
			cfg.RecoverPanics = false
			cfg.Flow.Capacity = 1 << 12
			run := startPipeline(t, src, cfg)

			// Three UDP datagrams and a TCP request/response through the overlay.
			inNS(t, nsA, "python3", "-c", `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("203.0.113.1", 5353))
for i in range(3): s.sendto(b"datagram %d" % i, ("203.0.113.2", 53))`)
			server := exec.Command("ip", "netns", "exec", nsB, "python3", "-c", `
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("203.0.113.2", 8080)); s.listen(1); print("ready", flush=True)
c, _ = s.accept(); c.recv(100); c.sendall(b"pong"); c.close()`)
			sout, err := server.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, server.Start())
			t.Cleanup(func() { _ = server.Process.Kill(); _ = server.Wait() })
			ready, err := bufio.NewReader(sout).ReadString('\n')
			require.NoError(t, err)
			require.Equal(t, "ready\n", ready)
			out := inNS(t, nsA, "python3", "-c", `
import socket
c = socket.create_connection(("203.0.113.2", 8080), timeout=5); c.sendall(b"ping"); print(c.recv(100).decode()); c.close()`)
			require.Contains(t, out, "pong")
			require.NoError(t, server.Wait())
			time.Sleep(300 * time.Millisecond) // let the last frames through the ring's block timeout

			recs := run.stop(t)
			cs, err := src.CaptureStats()
			require.NoError(t, err)
			require.NoError(t, src.Close())
			closed = true
			if engine == dataplane.EngineXDP {
				require.Empty(t, xdpAttached(t, capDev), "no XDP program left on %s after Close", capDev)
			}
			s := run.p.Stats()
			t.Logf("%s: received %d, decoded %d, dedup dropped %d, flows %d, kernel drops %d, xdp mode %q",
				engine, s.Received, s.Decoded, s.DedupDropped, len(recs), cs.Drops, cs.XDPMode)

			inner1, inner2 := netip.MustParseAddr("203.0.113.1"), netip.MustParseAddr("203.0.113.2")
			var tcp, udp *flowtable.FlowRecord
			// A flow alive across a minute boundary is reported there
			// (close type forced report) and again when it ends: count
			// its packets over all its records.
			packets := map[uint64]uint64{}
			for i := range recs {
				packets[recs[i].FlowID] += recs[i].PacketsTx + recs[i].PacketsRx
			}
			for i := range recs {
				r := &recs[i]
				t.Logf("flow %s", r.AppendJSON(nil))
				inner := (r.ClientIP == inner1 && r.ServerIP == inner2) || (r.ClientIP == inner2 && r.ServerIP == inner1)
				if !inner {
					continue
				}
				require.Equal(t, tap.TapVXLAN.String(), tap.TapType(r.TapType).String(), "tap type of an inner flow")
				require.Equal(t, uint32(42), r.TapPort, "VNI as tap port")
				switch r.Proto {
				case tap.ProtoTCP:
					tcp = r
				case tap.ProtoUDP:
					udp = r
				}
			}
			require.NotNil(t, tcp, "the inner TCP flow")
			require.NotNil(t, udp, "the inner UDP flow")
			require.Equal(t, uint16(8080), tcp.ServerPort)
			require.Equal(t, inner1, tcp.ClientIP)
			require.GreaterOrEqual(t, packets[tcp.FlowID], uint64(8), "handshake, request, response, close")
			require.Equal(t, uint64(3), packets[udp.FlowID], "3 datagrams")
			require.True(t, tcp.OuterSrc == netip.MustParseAddr("192.0.2.1") || tcp.OuterSrc == netip.MustParseAddr("192.0.2.2"))
		})
	}
}

// tcpreplayStats reads "Successful packets: N" and "Rated: ... X pps".
func tcpreplayStats(t *testing.T, out string) (sent uint64, pps float64) {
	m := regexp.MustCompile(`Successful packets:\s+(\d+)`).FindStringSubmatch(out)
	require.NotNil(t, m, "tcpreplay output: %s", out)
	sent, _ = strconv.ParseUint(m[1], 10, 64)
	if m := regexp.MustCompile(`Rated: .*?([\d.]+) pps`).FindStringSubmatch(out); m != nil {
		pps, _ = strconv.ParseFloat(m[1], 64)
	}
	return sent, pps
}

// TestLiveLoss: tcpreplay --topspeed sends a capture of 1M small frames into
// a veth; the pipeline on the peer counts every frame the kernel delivered
// and the ring drops none, with AF_PACKET and with AF_XDP.
func TestLiveLoss(t *testing.T) {
	requireNetlab(t, "tcpreplay")
	const frames = 1 << 20
	path := filepath.Join(t.TempDir(), "loss-1m.pcap")
	recs := make([]testframes.Record, frames)
	t0 := time.Unix(1_700_000_000, 0)
	for i := range recs {
		recs[i] = testframes.Record{Time: t0.Add(time.Duration(i) * time.Microsecond), Data: testframes.SmallUDP(uint32(i))}
	}
	require.NoError(t, testframes.WritePcap(path, recs))
	recs = nil

	for _, engine := range []string{dataplane.EngineAFPacket, dataplane.EngineXDP} {
		t.Run("engine="+engine, func(t *testing.T) {
			id := suffix(t)
			ns, tx, rx := "tfs"+id, "tfl"+id+"t", "tfl"+id+"r"
			addNS(t, ns)
			addVeth(t, tx, ns, rx, "")

			lc := dataplane.DefaultLiveConfig()
			lc.Engine, lc.Interfaces = engine, []string{rx}
			// Room for the whole burst (256 blocks of ~6500 small frames,
			// filled before the 100ms block timeout retires them; 1M UMEM
			// frames), so the test shows the pipeline counts all the
			// kernel delivered even when the reader is slower than the
			// sender, as under -race on two busy cores.
			lc.NumBlocks = 256
			lc.BlockTimeout = 100 * time.Millisecond
			lc.XDPFrames = 1 << 20
			lc.XDPFrameSize = 2048 // 60-byte frames: half the 4 GiB a default 1M-frame UMEM takes
			src := openLive(t, engine, lc)
			t.Cleanup(func() { src.Close() })
			cfg := dataplane.DefaultConfig()
			cfg.Workers = 1
			cfg.RecoverPanics = false
			cfg.Flow.Capacity = 1 << 13
			run := startPipeline(t, src, cfg)

			start := time.Now()
			out := inNS(t, ns, "tcpreplay", "--topspeed", "--preload-pcap", "-i", tx, path)
			sent, pps := tcpreplayStats(t, out)
			require.GreaterOrEqual(t, sent, uint64(frames)*99/100, "tcpreplay sent: %s", out)
			// Wait until the pipeline has read what was sent, or stops
			// moving for 3s (a reader starved by other work on two busy
			// cores can pause for a second).
			var last uint64
			var stable int
			lastChange := time.Now()
			for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && stable < 30 && last < sent; {
				time.Sleep(100 * time.Millisecond)
				n := run.p.Stats().Received
				if n == last && n > 0 {
					stable++
				} else {
					stable, lastChange = 0, time.Now()
				}
				last = n
			}
			elapsed := lastChange.Sub(start)
			run.stop(t)
			s := run.p.Stats()
			cs, err := src.CaptureStats()
			require.NoError(t, err)
			t.Logf("%s: tcpreplay sent %d at %.0f pps; pipeline received %d (%.0f pps, all read %.1fs after tcpreplay started), decoded %d, dedup dropped %d, flows %d; kernel packets %d, ring drops %d, queue freezes %d, xdp mode %q",
				engine, sent, pps, s.Received, float64(s.Received)/elapsed.Seconds(), elapsed.Seconds(), s.Decoded, s.DedupDropped,
				s.Flows.Created, cs.KernelPackets, cs.Drops, cs.QueueFreezes, cs.XDPMode)
			require.Zero(t, cs.Drops, "ring drops")
			require.Equal(t, sent, s.Received, "every frame tcpreplay sent was received")
			require.Equal(t, sent, s.Decoded)
			require.Zero(t, s.DedupDropped)
			if engine == dataplane.EngineAFPacket {
				require.Equal(t, sent, cs.KernelPackets, "the kernel counted what was sent")
			}
		})
	}
}

// TestLiveVLANRestore: a sender writes 802.1Q-tagged frames (VLAN 100) into
// a veth; the receiving kernel moves the tag out of band (skb_vlan_untag)
// before packet taps see the frame, as a NIC with rx VLAN offload does.
// The AF_PACKET source puts the tag back, so the flow is on VLAN 100.
// AF_XDP sees the frame before that, with the tag still in place.
func TestLiveVLANRestore(t *testing.T) {
	requireNetlab(t, "python3")
	var frames []string
	for i := range 5 {
		f := testframes.SmallUDP(uint32(i))
		tagged := append(append(append([]byte{}, f[:12]...), 0x81, 0x00, 0x00, 100), f[12:]...)
		frames = append(frames, hex.EncodeToString(tagged))
	}
	for _, engine := range []string{dataplane.EngineAFPacket, dataplane.EngineXDP} {
		t.Run("engine="+engine, func(t *testing.T) {
			id := suffix(t)
			ns, tx, rx := "tfv"+id, "tfv"+id+"t", "tfv"+id+"r"
			addNS(t, ns)
			addVeth(t, tx, ns, rx, "")

			lc := dataplane.DefaultLiveConfig()
			lc.Engine, lc.Interfaces = engine, []string{rx}
			src := openLive(t, engine, lc)
			t.Cleanup(func() { src.Close() })
			cfg := dataplane.DefaultConfig()
			cfg.Workers = 1
			cfg.RecoverPanics = false
			cfg.Flow.Capacity = 1 << 10
			run := startPipeline(t, src, cfg)
			inNS(t, ns, append([]string{"python3", "-c", `
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
for f in sys.argv[2:]: s.send(bytes.fromhex(f))`, tx}, frames...)...)
			require.Eventually(t, func() bool { return run.p.Stats().Decoded >= 5 }, 5*time.Second, 20*time.Millisecond)
			recs := run.stop(t)
			var vlans []uint16
			for _, r := range recs {
				vlans = append(vlans, r.VLAN)
			}
			t.Logf("%s: %d flows, vlans %v", engine, len(recs), vlans)
			require.NotEmpty(t, recs)
			for _, r := range recs {
				require.Equal(t, uint16(100), r.VLAN, "the tag is restored: %s", r.AppendJSON(nil))
			}
		})
	}
}

// TestXDPFrameSize: AF_XDP takes a frame of up to XDPFrameSize-256 bytes,
// and the kernel drops a longer one, which CaptureStats counts as Oversize
// (and in Drops). A sender in a namespace writes frames of chosen sizes into
// a veth whose MTU lets them through; the test reads the XDP source only
// after the last one was sent and compares frame by frame.
func TestXDPFrameSize(t *testing.T) {
	requireNetlab(t, "python3")
	cases := []struct {
		name      string
		frameSize int
		frames    int // UMEM frames; 0: default
		mtu       int
		mode      string // XDP mode auto picks for this MTU on a veth
		sizes     []int  // frame lengths sent, in order
	}{
		// 3500 is about the largest MTU at which a veth runs XDP in
		// native mode: every frame of such a port fits a 4 KiB frame.
		{name: "frame=4096/mtu=3500", frameSize: 4096, mtu: 3500, mode: "native",
			sizes: []int{60, 1514, 1792, 1793, 2048, 2500, 3000, 3514}},
		// 2 KiB frames, the old default: what the corpus replay lost.
		{name: "frame=2048/mtu=3500", frameSize: 2048, mtu: 3500, mode: "native",
			sizes: []int{60, 1514, 1792, 1793, 2048, 2500, 3000, 3514}},
		// A jumbo port: XDP falls back to generic mode; 3840 bytes fit a
		// 4 KiB frame, longer frames are counted, not delivered.
		{name: "frame=4096/mtu=9000", frameSize: 4096, mtu: 9000, mode: "generic",
			sizes: []int{60, 2500, 3840, 3841, 5000, 9014, 1514}},
		// 64 UMEM frames and nobody reading: 64 small frames land, the
		// kernel drops the other small ones for want of a fill-ring
		// frame; the oversize ones are told apart from those.
		{name: "frame=2048/no-buffer", frameSize: 2048, frames: 64, mtu: 3500, mode: "native",
			sizes: append(slices.Repeat([]int{60}, 100), 3000, 2000, 1793)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := suffix(t)
			ns, tx, rx := "tfz"+id, "tfz"+id+"t", "tfz"+id+"r"
			addNS(t, ns)
			addVeth(t, tx, ns, rx, "")
			mtu := strconv.Itoa(tc.mtu)
			inNS(t, ns, "ip", "link", "set", tx, "mtu", mtu)
			sh(t, "ip", "link", "set", rx, "mtu", mtu)

			lc := dataplane.DefaultLiveConfig()
			lc.Engine, lc.Interfaces, lc.XDPFrameSize = dataplane.EngineXDP, []string{rx}, tc.frameSize
			lc.PollTimeout = 200 * time.Millisecond
			if tc.frames > 0 {
				lc.XDPFrames = tc.frames
			}
			src := openLive(t, dataplane.EngineXDP, lc)
			closed := false
			t.Cleanup(func() {
				if !closed {
					src.Close()
				}
			})

			maxLen := tc.frameSize - 256
			var sent, want [][]byte
			var oversize uint64
			for i, n := range tc.sizes {
				require.GreaterOrEqual(t, n, 60)
				f := testframes.Packet{Src: netip.MustParseAddr("198.51.100.1"), Dst: netip.MustParseAddr("198.51.100.2"),
					SrcPort: 40000, DstPort: 9, UDP: true, ID: uint16(i), Payload: make([]byte, n-42)}.Frame(testframes.Plain)
				require.Len(t, f, n)
				sent = append(sent, f)
				switch {
				case n > maxLen:
					oversize++
				case tc.frames == 0 || len(want) < tc.frames:
					want = append(want, f)
				}
			}
			args := []string{"python3", "-c", `
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
for f in sys.argv[2:]: s.send(bytes.fromhex(f))`, tx}
			for _, f := range sent {
				args = append(args, hex.EncodeToString(f))
			}
			inNS(t, ns, args...)

			var got [][]byte
			for {
				data, ci, err := src.ReadFrame()
				if errors.Is(err, dataplane.ErrTimeout) {
					break
				}
				require.NoError(t, err)
				require.Equal(t, uint32(len(data)), ci.WireLen)
				got = append(got, bytes.Clone(data))
			}
			cs, err := src.CaptureStats()
			require.NoError(t, err)
			var lens []int
			for _, f := range got {
				lens = append(lens, len(f))
			}
			t.Logf("xdp mode %s, max frame %d: sent %d frames %s; received %d frames %s; drops %d, oversize %d",
				cs.XDPMode, maxLen, len(tc.sizes), head(tc.sizes), len(got), head(lens), cs.Drops, cs.Oversize)
			require.Equal(t, tc.mode, cs.XDPMode)
			require.Equal(t, len(want), len(got), "frames received")
			for i := range want {
				require.True(t, bytes.Equal(want[i], got[i]), "frame %d (%d bytes) arrived intact", i, len(want[i]))
			}
			require.Equal(t, oversize, cs.Oversize, "frames over %d bytes counted as oversize", maxLen)
			require.Equal(t, uint64(len(sent)-len(got)), cs.Drops, "every frame not received is a counted drop")
			require.Equal(t, uint64(len(got)), cs.Received)

			require.NoError(t, src.Close())
			closed = true
			after, err := src.CaptureStats()
			require.NoError(t, err)
			require.Equal(t, cs, after, "the counters stay readable after Close")
		})
	}
}

// head prints up to 12 lengths, then how many more there are.
func head(v []int) string {
	if len(v) <= 12 {
		return fmt.Sprint(v)
	}
	return fmt.Sprintf("%v … %d more", v[:12], len(v)-12)
}

// TestXDPStaleProgram: a tapflow killed with SIGKILL leaves its redirect
// program on the interface; the next OpenLive replaces it, and its Close
// leaves none. A program that is not ours is never replaced.
func TestXDPStaleProgram(t *testing.T) {
	if dev := os.Getenv("TAPFLOW_XDP_HELPER"); dev != "" {
		// Helper process: attach, say so, and wait to be killed.
		lc := dataplane.DefaultLiveConfig()
		lc.Engine, lc.Interfaces = dataplane.EngineXDP, []string{dev}
		if _, err := dataplane.OpenLive(lc, nil); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("attached")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	requireNetlab(t)
	id := suffix(t)
	ns, tx, rx := "tfk"+id, "tfk"+id+"t", "tfk"+id+"r"
	addNS(t, ns)
	addVeth(t, tx, ns, rx, "")

	helper := exec.Command(os.Args[0], "-test.run=^TestXDPStaleProgram$")
	helper.Env = append(os.Environ(), "TAPFLOW_XDP_HELPER="+rx)
	out, err := helper.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, helper.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "attached\n", line)
	require.NoError(t, helper.Process.Kill())
	_ = helper.Wait()
	require.NotEmpty(t, xdpAttached(t, rx), "the killed process left its program")

	lc := dataplane.DefaultLiveConfig()
	lc.Engine, lc.Interfaces = dataplane.EngineXDP, []string{rx}
	src, err := dataplane.OpenLive(lc, nil)
	require.NoError(t, err, "the stale program is replaced")
	require.NoError(t, src.Close())
	require.Empty(t, xdpAttached(t, rx), "no XDP program left after Close")

	// Someone else's program is left alone.
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "tf_foreign", Type: ebpf.XDP, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 2), asm.Return()}}) // XDP_PASS
	require.NoError(t, err)
	defer prog.Close()
	link, err := netlink.LinkByName(rx)
	require.NoError(t, err)
	require.NoError(t, netlink.LinkSetXdpFdWithFlags(link, prog.FD(), unix.XDP_FLAGS_SKB_MODE))
	defer netlink.LinkSetXdpFdWithFlags(link, -1, unix.XDP_FLAGS_SKB_MODE)
	_, err = dataplane.OpenLive(lc, nil)
	require.ErrorContains(t, err, "already attached")
	require.NotEmpty(t, xdpAttached(t, rx), "the foreign program is still there")
}
