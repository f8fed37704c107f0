package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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

// TestSPANMirror is the live appliance test: curl in one namespace fetches
// from `python3 -m http.server` in another across a veth pair; tc mirred
// copies both directions of the server's port to a third veth (the SPAN
// port) where `tapflow appliance` captures with AF_PACKET and tcpdump
// records the same packets. Each HTTP flow's row in ClickHouse, read back
// through /v1/query, must count what tcpdump counted: packets and bytes per
// direction.
func TestSPANMirror(t *testing.T) {
	bin := requireBinary(t)
	requireRoot(t)
	for _, tool := range []string{"ip", "tc", "tcpdump", "curl", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			skipOrFail(t, "SPAN test needs %s: %v", tool, err)
		}
	}
	ch := testserver.ClickHouse(t)

	id := strconv.Itoa(os.Getpid() % 10000)
	cli, srv := "tfc"+id, "tfs"+id
	span := "tfm" + id // veth pair span (in srv ns, mirror target) ↔ span+"c" (root ns, captured)
	cap := span + "c"
	netns(t, cli, srv)
	sh(t, "ip", "link", "add", "c"+id, "netns", cli, "type", "veth", "peer", "name", "s"+id, "netns", srv)
	sh(t, "ip", "link", "add", span, "netns", srv, "type", "veth", "peer", "name", cap)
	t.Cleanup(func() { exec.Command("ip", "link", "del", cap).Run() })
	sh(t, "ip", "netns", "exec", cli, "ip", "addr", "add", "10.77.0.1/24", "dev", "c"+id)
	sh(t, "ip", "netns", "exec", srv, "ip", "addr", "add", "10.77.0.2/24", "dev", "s"+id)
	for _, c := range [][]string{
		{"ip", "netns", "exec", cli, "ip", "link", "set", "c" + id, "up"},
		{"ip", "netns", "exec", cli, "ip", "link", "set", "lo", "up"},
		{"ip", "netns", "exec", srv, "ip", "link", "set", "s" + id, "up"},
		{"ip", "netns", "exec", srv, "ip", "link", "set", "lo", "up"},
		{"ip", "netns", "exec", srv, "ip", "link", "set", span, "up"},
		{"sysctl", "-qw", "net.ipv6.conf." + cap + ".disable_ipv6=1"},
		{"ip", "link", "set", cap, "up"},
		// The SPAN session: both directions of the server port to the mirror veth.
		{"ip", "netns", "exec", srv, "tc", "qdisc", "add", "dev", "s" + id, "clsact"},
		{"ip", "netns", "exec", srv, "tc", "filter", "add", "dev", "s" + id, "ingress", "protocol", "all",
			"u32", "match", "u32", "0", "0", "action", "mirred", "egress", "mirror", "dev", span},
		{"ip", "netns", "exec", srv, "tc", "filter", "add", "dev", "s" + id, "egress", "protocol", "all",
			"u32", "match", "u32", "0", "0", "action", "mirred", "egress", "mirror", "dev", span},
	} {
		sh(t, c...)
	}

	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	httpSrv := exec.CommandContext(ctx, "ip", "netns", "exec", srv, "python3", "-m", "http.server", "8080", "--bind", "10.77.0.2", "--directory", dir)
	require.NoError(t, httpSrv.Start())
	t.Cleanup(func() { httpSrv.Process.Kill(); httpSrv.Wait() })

	pcapPath := filepath.Join(dir, "span.pcap")
	dump := exec.CommandContext(ctx, "tcpdump", "-i", cap, "-n", "-s", "0", "-U", "-w", pcapPath, "tcp port 8080")
	var dumpErr testserver.SyncBuffer
	dump.Stderr = &dumpErr
	require.NoError(t, dump.Start())

	listen := freeAddr(t)
	app := exec.CommandContext(ctx, bin, "appliance", "--iface", cap, "--clickhouse", ch,
		"--data-dir", filepath.Join(dir, "data"), "--listen", listen, "--workers", "2")
	var appOut testserver.SyncBuffer
	app.Stdout, app.Stderr = &appOut, &appOut
	require.NoError(t, app.Start())
	t.Cleanup(func() { app.Process.Kill(); app.Wait() })
	waitHTTP(t, "http://"+listen+"/metrics", &appOut)
	waitFor(t, "tcpdump listening", func() bool { return strings.Contains(dumpErr.String(), "listening on") })

	require.NoError(t, os.WriteFile(filepath.Join(dir, "big.bin"), bytes.Repeat([]byte("tapflow "), 64<<10), 0o644))
	waitFor(t, "http.server up", func() bool {
		return exec.Command("ip", "netns", "exec", cli, "curl", "-sf", "-o", "/dev/null", "http://10.77.0.2:8080/big.bin").Run() == nil
	})
	for range 4 {
		sh(t, "ip", "netns", "exec", cli, "curl", "-sf", "-o", "/dev/null", "http://10.77.0.2:8080/big.bin")
	}
	// Let the last FINs reach both captures, then stop them; tapflow flushes
	// every flow and the writer drains to ClickHouse before it exits.
	time.Sleep(time.Second)
	require.NoError(t, dump.Process.Signal(syscall.SIGTERM))
	dump.Wait()

	want := countPcap(t, pcapPath, 8080)
	require.GreaterOrEqual(t, len(want), 5, "tcpdump saw too few flows: %v", want)

	// The flows may still sit in the table (closed-FIN timeout 2 s); wait
	// until ClickHouse has every flow tcpdump saw, or stop tapflow to flush.
	require.NoError(t, app.Process.Signal(syscall.SIGTERM))
	require.NoError(t, app.Wait(), "tapflow appliance output:\n%s", appOut.String())

	// Read back through a fresh appliance-less query: the API of a second
	// process would need capture; use the query command on the same server.
	q := serveQuery(t, bin, ch)
	rows := queryFlows(t, q)
	got := map[uint16]dirCount{}
	for _, r := range rows {
		c := got[r.clientPort]
		c.add(r.dirCount)
		got[r.clientPort] = c
	}
	matched := 0
	for port, w := range want {
		g, ok := got[port]
		if !ok {
			t.Errorf("flow from client port %d seen by tcpdump (%+v) has no row in ClickHouse", port, w)
			continue
		}
		if g != w {
			t.Errorf("client port %d: tapflow %+v, tcpdump %+v", port, g, w)
			continue
		}
		matched++
	}
	fmt.Printf("SPAN mirror: %d/%d flows match tcpdump on the mirror port (packets and bytes per direction)\n", matched, len(want))

	// L7: each of the five successful curls is one HTTP session in
	// l7_flow_log, on a flow tcpdump saw, with the response's status and a
	// response time.
	l7 := q("SELECT client_port, l7_protocol_str, request_type, request_domain, request_resource, endpoint, response_code, response_status, response_duration, type " +
		"FROM flow_log.l7_flow_log WHERE server_port = 8080 ORDER BY start_time")
	require.Len(t, l7, 5, "l7_flow_log rows: %v", l7)
	for _, r := range l7 {
		_, seen := want[uint16(num(t, r[0]))]
		require.True(t, seen, "l7 row on a flow tcpdump did not see: %v", r)
		require.Equal(t, []any{"HTTP", "GET", "10.77.0.2:8080", "/big.bin", "/big.bin"}, r[1:6], "%v", r)
		require.Equal(t, uint64(200), num(t, r[6]), "%v", r)
		require.Equal(t, uint64(0), num(t, r[7]), "response_status: %v", r)
		require.NotZero(t, num(t, r[8]), "response_duration: %v", r)
		require.Equal(t, uint64(2), num(t, r[9]), "type session: %v", r)
	}
	fmt.Printf("SPAN mirror: %d HTTP sessions in l7_flow_log (GET /big.bin → 200)\n", len(l7))
}

type dirCount struct {
	PacketsTx, PacketsRx, BytesTx, BytesRx uint64
}

func (d *dirCount) add(o dirCount) {
	d.PacketsTx += o.PacketsTx
	d.PacketsRx += o.PacketsRx
	d.BytesTx += o.BytesTx
	d.BytesRx += o.BytesRx
}

// countPcap counts packets and bytes per direction of each TCP flow to
// serverPort, keyed by the client port.
func countPcap(t *testing.T, path string, serverPort uint16) map[uint16]dirCount {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	require.NoError(t, err)
	out := map[uint16]dirCount{}
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
		if uint16(tcp.DstPort) == serverPort {
			c := out[uint16(tcp.SrcPort)]
			c.PacketsTx++
			c.BytesTx += uint64(ci.Length)
			out[uint16(tcp.SrcPort)] = c
		} else if uint16(tcp.SrcPort) == serverPort {
			c := out[uint16(tcp.DstPort)]
			c.PacketsRx++
			c.BytesRx += uint64(ci.Length)
			out[uint16(tcp.DstPort)] = c
		}
	}
	return out
}

type flowRow struct {
	clientPort uint16
	dirCount
}

// serveQuery starts `tapflow serve` over ch (the appliance's HTTP API
// without capture) and returns a function running SQL through /v1/query;
// numbers come back as json.Number.
func serveQuery(t *testing.T, bin, ch string) func(sql string) [][]any {
	listen := freeAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	srv := exec.CommandContext(ctx, bin, "serve", "--clickhouse", ch, "--listen", listen)
	var out testserver.SyncBuffer
	srv.Stdout, srv.Stderr = &out, &out
	require.NoError(t, srv.Start())
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	waitHTTP(t, "http://"+listen+"/metrics", &out)
	return func(sql string) [][]any {
		body, _ := json.Marshal(map[string]string{"db": "flow_log", "sql": sql})
		resp, err := http.Post("http://"+listen+"/v1/query", "application/json", bytes.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(raw))
		var res struct {
			Values [][]any `json:"values"`
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		require.NoError(t, dec.Decode(&res), string(raw))
		return res.Values
	}
}

func num(t *testing.T, v any) uint64 {
	n, ok := v.(json.Number)
	require.True(t, ok, "%v is not a number", v)
	x, err := strconv.ParseUint(n.String(), 10, 64)
	require.NoError(t, err)
	return x
}

// queryFlows reads the HTTP flows back through the query API.
func queryFlows(t *testing.T, q func(string) [][]any) []flowRow {
	var rows []flowRow
	for _, v := range q("SELECT client_port, packets_tx, packets_rx, bytes_tx, bytes_rx FROM flow_log.l4_flow_log WHERE server_port = 8080 AND proto = 6") {
		require.Len(t, v, 5)
		rows = append(rows, flowRow{clientPort: uint16(num(t, v[0])), dirCount: dirCount{num(t, v[1]), num(t, v[2]), num(t, v[3]), num(t, v[4])}})
	}
	return rows
}

func requireRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		skipOrFail(t, "network-namespace tests need root")
	}
}

func sh(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	require.NoError(t, err, "%s: %s", strings.Join(args, " "), out)
}

func netns(t *testing.T, names ...string) {
	for _, n := range names {
		exec.Command("ip", "netns", "del", n).Run()
		sh(t, "ip", "netns", "add", n)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", n).Run() })
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

func waitHTTP(t *testing.T, url string, log *testserver.SyncBuffer) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s not up within 60s; output:\n%s", url, log.String())
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}
