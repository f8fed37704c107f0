package bench

import (
	"context"
	"encoding/binary"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeSourcePcap writes a capture of flows×perFlow packets: IPv4 and IPv6,
// TCP and UDP, one client port per flow.
func writeSourcePcap(t *testing.T, path string, flows, perFlow int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := newPcapWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	ts := int64(1_600_000_000) * 1_000_000
	for i := range perFlow {
		for fl := range flows {
			proto := uint8(protoTCP)
			if fl%3 == 0 {
				proto = protoUDP
			}
			frame := buildFrame(fl%2 == 1, proto, make([]byte, 10+i*7%300))
			p, _ := parseIP(frame)
			binary.BigEndian.PutUint16(frame[p.l4Off:], uint16(40000+fl))
			ts += 137
			if err := pw.write(ts, uint32(len(frame)), frame); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := pw.flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func tinyCorpus(t *testing.T, dir, out string) CorpusInfo {
	t.Helper()
	info, err := BuildCorpus(CorpusConfig{Sources: []string{dir}, Out: out, Seed: 42, MinPackets: 4000, MinFlows: 200, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func TestCorpusDeterministic(t *testing.T) {
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	writeSourcePcap(t, filepath.Join(src, "a.pcap"), 40, 10)
	writeSourcePcap(t, filepath.Join(src, "b.pcap"), 7, 3)
	a := tinyCorpus(t, src, filepath.Join(tmp, "a.pcap"))
	b := tinyCorpus(t, src, filepath.Join(tmp, "b.pcap"))
	if a.SHA256 != b.SHA256 || a.Packets != b.Packets || a.Flows != b.Flows {
		t.Fatalf("two builds differ: %v vs %v", a, b)
	}
	if a.Packets < 4000 || a.Flows < 200 {
		t.Fatalf("corpus too small: %v", a)
	}
	// b.pcap repeats 7 of a.pcap's 40 flows; copies never merge flows.
	if want := int64(40 * a.Copies); a.Flows != want {
		t.Errorf("flows %d, want %d (40 × %d copies)", a.Flows, want, a.Copies)
	}
	// The stamp makes a second build a no-op.
	cfg := CorpusConfig{Sources: []string{src}, Out: filepath.Join(tmp, "a.pcap"), Seed: 42, MinPackets: 4000, MinFlows: 200}
	again, err := BuildCorpus(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Reused || again.SHA256 != a.SHA256 {
		t.Errorf("rebuild with a matching stamp: reused=%v sha %s, want reuse of %s", again.Reused, again.SHA256, a.SHA256)
	}
	// Every frame of the corpus is time-ordered and parses.
	r, err := openCapture(a.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var n, last int64
	for {
		data, ts, _, _, err := r.read()
		if err != nil {
			break
		}
		if _, ok := parseIP(data); !ok {
			t.Fatalf("frame %d does not parse", n)
		}
		if ts < last {
			t.Fatalf("frame %d at %d before %d", n, ts, last)
		}
		last = ts
		n++
	}
	if n != a.Packets {
		t.Errorf("read %d frames, stamp says %d", n, a.Packets)
	}
}

// TestHarnessSmoke runs the offline harness on a tiny corpus with tapflow
// and tcpdump only. It checks the table and the files, never a time.
func TestHarnessSmoke(t *testing.T) {
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	writeSourcePcap(t, filepath.Join(src, "a.pcap"), 40, 10)
	info := tinyCorpus(t, src, filepath.Join(tmp, "corpus.pcap"))

	// TAPFLOW_BIN names a prebuilt binary to run instead, as in e2e.
	bin := os.Getenv("TAPFLOW_BIN")
	if bin == "" {
		bin = filepath.Join(tmp, "tapflow")
		build := exec.Command("go", "build", "-pgo=off", "-o", bin, "./cmd/tapflow")
		build.Dir = ".."
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build ./cmd/tapflow: %v\n%s", err, out)
		}
	}
	for _, peer := range []string{"tcpdump", "taskset"} {
		if _, err := exec.LookPath(peer); err != nil {
			t.Logf("!!! %s is not installed: its part of the smoke run is skipped (scripts/deps.sh bench installs it) !!!", peer)
		}
	}

	cfg := DefaultOfflineConfig()
	cfg.Corpus, cfg.Tapflow, cfg.Runs, cfg.WorkDir = info, bin, 1, filepath.Join(tmp, "work")
	cfg.Only = []string{"tcpdump", "tapflow L4 → /dev/null", "tapflow L4+L7 → /dev/null"}
	settles := 0
	cfg.Settle = func(context.Context) error { settles++; return nil }
	rep, err := Offline(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]Row{}
	runs := 0
	for _, r := range rep.Rows {
		rows[r.Tool] = r
		runs += len(r.Runs)
		t.Logf("%s: %.0f pps, %d flows, err %q", r.Tool, r.PPS, r.Flows, r.Err)
	}
	if runs == 0 || settles < runs {
		t.Errorf("%d measured runs, but Settle ran %d times: every run must meet a settled machine", runs, settles)
	}
	tf := rows["tapflow L4 → /dev/null"]
	if tf.Err != "" || tf.PPS <= 0 || tf.Flows <= 0 || tf.Ratio != 1 {
		t.Errorf("tapflow row: %+v", tf)
	}
	if td, ok := rows["tcpdump"]; !ok {
		t.Error("no tcpdump row")
	} else if strings.Contains(td.Err, "not installed") {
		t.Logf("!!! tcpdump row skipped: %s !!!", td.Err)
	} else if td.Err != "" || td.PPS <= 0 {
		t.Errorf("tcpdump row: %+v", td)
	}
	if l7 := rows["tapflow L4+L7 → /dev/null"]; l7.Err == "" && l7.PPS <= 0 {
		t.Errorf("L7 row neither ran nor said why: %+v", l7)
	}
	checkInstr(t, rep, rows)

	out := filepath.Join(tmp, "results")
	if err := rep.Write(out); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(out, "latest.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| tapflow L4 → /dev/null |", "| tcpdump |", info.SHA256, rep.Machine.CPUModel} {
		if !strings.Contains(string(md), want) {
			t.Errorf("latest.md lacks %q:\n%s", want, md)
		}
	}
	f, err := os.Open(filepath.Join(out, "latest.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("latest.png: %v", err)
	}
}

// checkInstr: every row that ran has an instruction count under cachegrind
// (or the report says valgrind is missing), relative to tapflow L4.
func checkInstr(t *testing.T, rep *Report, rows map[string]Row) {
	t.Helper()
	if !haveValgrind() {
		t.Logf("!!! valgrind is not installed: the instruction table is skipped (scripts/deps.sh test installs it) !!!")
		if rep.InstrNote == "" {
			t.Error("no instruction table and no note saying why")
		}
		return
	}
	if rep.InstrNote != "" || rep.InstrPackets != int(rep.Corpus.Packets) {
		t.Errorf("instruction table over %d of %d packets, note %q", rep.InstrPackets, rep.Corpus.Packets, rep.InstrNote)
	}
	got := map[string]InstrRow{}
	for _, r := range rep.Instr {
		got[r.Tool] = r
		t.Logf("%s: %.0f instructions a packet (%.2f×), err %q", r.Tool, r.PerPacket, r.Ratio, r.Err)
	}
	for name, row := range rows {
		ir, ok := got[name]
		switch {
		case row.Err != "":
			if ok {
				t.Errorf("%s failed its timed runs but has an instruction row: %+v", name, ir)
			}
		case !ok || ir.Err != "" || ir.Instructions <= 0 || ir.PerPacket <= 0:
			t.Errorf("%s: instruction row %+v", name, ir)
		}
	}
	if r := got["tapflow L4 → /dev/null"]; r.Ratio != 1 {
		t.Errorf("reference row ratio %v, want 1", r.Ratio)
	}
	if md := rep.Markdown(); !strings.Contains(md, "| tapflow L4 → /dev/null | ") || !strings.Contains(md, "instructions/packet") {
		t.Errorf("latest.md lacks the instruction table:\n%s", md)
	}
}

// TestSumIRefs adds up one summary per process (pmacctd forks) and
// refuses output without any.
func TestSumIRefs(t *testing.T) {
	out := []byte("==11== Cachegrind, a cache and branch-prediction profiler\n" +
		"==11== I   refs:      609,459,213\n" +
		"some tool output\n" +
		"==12== I   refs:      1,000\n")
	n, err := sumIRefs(out)
	if err != nil || n != 609_460_213 {
		t.Errorf("sumIRefs = %d, %v", n, err)
	}
	for _, bad := range []string{"tcpdump: bad file\n",
		"==7== error: can't open cache simulation output file '/x/cg.7'\n==7== I   refs:      0\n"} {
		if _, err := sumIRefs([]byte(bad)); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestParseProm(t *testing.T) {
	m := parseProm([]byte(`# HELP x
tapflow_dataplane_packets_received_total 12345
tapflow_dataplane_packets_dropped_total{reason="not_ip"} 3
tapflow_dataplane_packets_dropped_total{reason="short_l4"} 4
tapflow_capture_kernel_drops_total{iface="a"} 7
`))
	if v, ok := m.sum("tapflow_dataplane_packets_received_total"); !ok || v != 12345 {
		t.Errorf("received %v %v", v, ok)
	}
	if v, _ := m.sum("tapflow_dataplane_packets_dropped_total"); v != 7 {
		t.Errorf("decode drops %v, want 7", v)
	}
	if v, ok := m.sumMatch(func(n string) bool { return strings.Contains(n, "kernel") }); !ok || v != 7 {
		t.Errorf("kernel drops %v %v", v, ok)
	}
}

func TestMedian(t *testing.T) {
	ms := []measurement{{wall: 3}, {wall: 1}, {wall: 2}}
	if i := median(ms); i != 2 {
		t.Errorf("median index %d, want 2", i)
	}
}

// TestRunsInterleaved: runs go round by round, each tool once a round, so
// that the machine's drift reaches every row alike; a tool that fails is
// not run again and its row says why, while the others go on.
func TestRunsInterleaved(t *testing.T) {
	tmp := t.TempDir()
	logf := filepath.Join(tmp, "order")
	tool := func(name string, fail bool) Tool {
		return Tool{Name: name, Prepare: func(e *Env, dir string) (invocation, func(measurement) (int64, string, error), error) {
			script := "echo " + name + " >> " + logf
			if fail {
				script += "; exit 3"
			}
			return invocation{args: []string{"sh", "-c", script}, dir: dir}, nil, nil
		}}
	}
	cfg := DefaultOfflineConfig()
	cfg.Corpus = CorpusInfo{Path: filepath.Join(tmp, "none.pcap"), Packets: 1000}
	cfg.Runs, cfg.WorkDir, cfg.CPU, cfg.InstrPackets = 3, filepath.Join(tmp, "work"), "", 0
	cfg.Tools = []Tool{tool("a", false), tool("b", false), tool("bad", true)}
	rep, err := Offline(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	order, err := os.ReadFile(logf)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Fields(string(order)), []string{"a", "b", "bad", "a", "b", "a", "b"}; !slices.Equal(got, want) {
		t.Errorf("run order %v, want %v", got, want)
	}
	for _, r := range rep.Rows {
		switch {
		case r.Tool == "bad" && (r.Err == "" || r.PPS != 0):
			t.Errorf("failing tool's row: %+v", r)
		case r.Tool != "bad" && (r.Err != "" || len(r.Runs) != 3 || r.PPS <= 0):
			t.Errorf("row %s: %+v", r.Tool, r)
		}
	}
}

// TestServerCPU: a storage row reports the server's CPU time of its median
// run (each reading here is 1.5 s after the one before, so a run takes
// 1.5 s); other rows never read it.
func TestServerCPU(t *testing.T) {
	tmp := t.TempDir()
	var reads int
	cfg := DefaultOfflineConfig()
	cfg.Corpus = CorpusInfo{Path: filepath.Join(tmp, "none.pcap"), Packets: 1000}
	cfg.Runs, cfg.WorkDir, cfg.CPU, cfg.InstrPackets = 3, filepath.Join(tmp, "work"), "", 0
	cfg.ServerCPU = func() (time.Duration, error) {
		reads++
		return time.Duration(reads) * 1500 * time.Millisecond, nil
	}
	prep := func(e *Env, dir string) (invocation, func(measurement) (int64, string, error), error) {
		return invocation{args: []string{"true"}, dir: dir}, nil, nil
	}
	cfg.Tools = []Tool{{Name: "plain", Prepare: prep}, {Name: "store", Storage: true, Prepare: prep}}
	rep, err := Offline(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if reads != 6 {
		t.Errorf("%d server readings, want 2 for each of the storage row's 3 runs", reads)
	}
	for _, r := range rep.Rows {
		want := map[string]time.Duration{"plain": 0, "store": 1500 * time.Millisecond}[r.Tool]
		if r.ServerCPU != want {
			t.Errorf("row %s: server CPU %s, want %s", r.Tool, r.ServerCPU, want)
		}
	}
	if md := rep.Markdown(); !strings.Contains(md, "ClickHouse server: 1.5 CPU-s during the run") {
		t.Errorf("the table does not give the server's CPU time:\n%s", md)
	}
}

func TestParseStatCPU(t *testing.T) {
	for _, c := range []struct {
		stat string
		want time.Duration
		bad  bool
	}{
		{stat: "1234 (clickhouse-serv) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 40 0", want: 3250 * time.Millisecond},
		{stat: "7 (a b) c)) R 1 7 7 0 -1 0 0 0 0 0 1 2 3 4", want: 30 * time.Millisecond},
		{stat: "7 no parentheses", bad: true},
		{stat: "7 (x) S 1 2", bad: true},
		{stat: "7 (x) S 1 7 7 0 -1 0 0 0 0 0 x 2", bad: true},
	} {
		got, err := parseStatCPU(c.stat)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("parseStatCPU(%q) = %s, %v; want %s, error %v", c.stat, got, err, c.want, c.bad)
		}
	}
	// This process, after some work of its own.
	var x uint64
	for i := range 50_000_000 {
		x += uint64(i) * uint64(i)
	}
	d, err := ProcessCPU(os.Getpid())
	if err != nil || d <= 0 {
		t.Errorf("ProcessCPU(self) = %s, %v (after work %d)", d, err, x)
	}
}

// TestGoals: the report states each goal against this run's figures, and
// says so when a figure is missing rather than calling it met.
func TestGoals(t *testing.T) {
	names := map[string]bool{}
	for _, tool := range DefaultTools() {
		names[tool.Name] = true
	}
	if !names[goalRow] || !names[goalPeer] {
		t.Fatalf("the goals name rows %q and %q, which DefaultTools does not have", goalRow, goalPeer)
	}
	for _, c := range []struct {
		name string
		r    Report
		want []string
	}{
		{"short", Report{Rows: []Row{{Tool: goalRow, PPS: 1.38e6}, {Tool: goalPeer, PPS: 514e3}},
			Memory: []MemoryRow{{Flows: 10, HeapBytes: 2570}, {Flows: 100, HeapBytes: 25000}}}, []string{
			"≥ 3.00 M packets/s on one core: 1.38 M, **NOT met**",
			"ahead of softflowd: 1.38 M against 514 k (2.68×), met",
			"≤ 256 B per active flow: at most 257.0 B over the sizes below, **NOT met**"}},
		{"met", Report{Rows: []Row{{Tool: goalRow, PPS: 3.1e6}, {Tool: goalPeer, PPS: 4e6}},
			Memory: []MemoryRow{{Flows: 10, HeapBytes: 2560}}}, []string{
			"on one core: 3.10 M, met", "(0.78×), **NOT met**", "at most 256.0 B over the sizes below, met"}},
		{"missing", Report{Rows: []Row{{Tool: goalRow, Err: "crashed"}}}, []string{
			"did not run: the packets/s goals are not measured", "≤ 256 B per active flow: not measured"}},
		{"no peer", Report{Rows: []Row{{Tool: goalRow, PPS: 1e6}, {Tool: goalPeer, Err: "not installed"}}}, []string{
			"ahead of softflowd: not measured"}},
	} {
		md := c.r.Markdown()
		for _, w := range c.want {
			if !strings.Contains(md, w) {
				t.Errorf("%s: no %q in\n%s", c.name, w, md)
			}
		}
	}
}
