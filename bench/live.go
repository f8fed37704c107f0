package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Network namespaces and veth ends of the live comparison. The sender and
// the receiver each get a namespace of their own, so no replayed frame
// ever touches the host's network stack.
const (
	nsTx   = "tfbench-tx"
	nsRx   = "tfbench-rx"
	ifTx   = "tfbtx"
	ifRx   = "tfbrx"
	rxHTTP = "127.0.0.1:20417" // tapflow's listener inside nsRx
)

// LiveConfig configures Live.
type LiveConfig struct {
	Corpus  CorpusInfo
	Tapflow string
	// Packets is the size of the corpus slice replayed: the first Packets
	// corpus frames that fit MTU.
	Packets int
	// MTU of both veth ends, as on a real mirror port. A frame longer than
	// MTU plus its 14-byte Ethernet header could not cross such a port, so
	// the slice leaves it out: the corpus holds host-side captures with
	// GRO/TSO super-frames of up to 80 KB. Every receiver gets the same
	// frames.
	MTU int
	// WorkDir holds the slice and the receivers' files.
	WorkDir string
	// TapflowArgs is tapflow's receiver command line after the binary;
	// {iface}, {engine}, {workers}, {listen} and {dir} are substituted.
	TapflowArgs []string
	Engines     []string
	Workers     []int
	// Settle is the wait after the sender finished before counters are
	// read and the receiver is stopped.
	Settle   time.Duration
	Logger   *slog.Logger
	Progress io.Writer
}

// DefaultLiveConfig returns the settings of `make bench-live`.
func DefaultLiveConfig() LiveConfig {
	return LiveConfig{
		Packets: 1_000_000,
		// The largest MTU at which a veth (like most NIC drivers without
		// XDP multi-buffer) runs an XDP program in native mode; its
		// frames fit AF_XDP's 4 KiB UMEM frames (3840 bytes of packet).
		MTU: 3500,
		TapflowArgs: []string{"appliance", "--iface", "{iface}", "--engine", "{engine}", "--workers", "{workers}",
			"--listen", "{listen}", "--data-dir", "{dir}"},
		Engines: []string{"afpacket", "xdp"},
		Workers: []int{1, 2},
		Settle:  time.Second,
	}
}

// LiveReport is the outcome of Live.
type LiveReport struct {
	Date    time.Time
	Machine Machine
	Corpus  CorpusInfo
	Packets int // frames in the slice
	MTU     int
	// Skipped are the corpus frames among the first Packets+Skipped that
	// were left out of the slice as longer than MTU+14 bytes.
	Skipped int
	Rows    []LiveRow
	Notes   []string
}

// LiveRow is one receiver's counters for one replay of the slice.
type LiveRow struct {
	Receiver string
	Sent     int64   // tcpreplay's successful packets
	SendPPS  float64 // tcpreplay's rate
	Received int64   // what the receiver says it got (-1: not reported)
	Dropped  int64   // drops the receiver reports (kernel/ring); -1: not reported
	Note     string
	Err      string
}

// receiver is one capture tool of the live comparison.
type receiver struct {
	name  string
	args  []string // run inside nsRx
	ready func(ctx context.Context, stderr string) error
	// stats reads received and dropped; it runs after the sender finished
	// and Settle passed (before stop, when final is false) and after the
	// receiver exited (final true); each receiver answers in one of them.
	stats func(final bool, stdout, stderr []byte) (recv, drop int64, note string, ok bool, err error)
	// exitNote, if set, reads a note from the receiver's output after it
	// exited.
	exitNote func(stderr []byte) string
}

// Live replays a slice of the corpus with tcpreplay into a veth pair
// between two network namespaces and counts, for each receiver, packets
// sent, received and dropped. Needs root, ip and tcpreplay.
func Live(ctx context.Context, cfg LiveConfig) (*LiveReport, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("live: network namespaces need root")
	}
	for _, b := range []string{"ip", "tcpreplay"} {
		if _, err := exec.LookPath(b); err != nil {
			return nil, fmt.Errorf("live: %s %w (scripts/deps.sh bench)", b, errNotInstalled)
		}
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return nil, err
	}
	if cfg.MTU < 68 || cfg.MTU > 65535 {
		return nil, fmt.Errorf("live: MTU %d out of 68..65535", cfg.MTU)
	}
	slice := filepath.Join(cfg.WorkDir, "slice.pcap")
	n, skipped, err := writeSlice(cfg.Corpus.Path, slice, cfg.Packets, cfg.MTU+14)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "slice: the first %d corpus frames of at most %d bytes (veth MTU %d); %d longer frames left out\n",
		n, cfg.MTU+14, cfg.MTU, skipped)
	rep := &LiveReport{Date: time.Now().UTC(), Machine: ReadMachine(), Corpus: cfg.Corpus, Packets: n, MTU: cfg.MTU, Skipped: skipped}
	if err := netnsUp(cfg.MTU); err != nil {
		netnsDown()
		return nil, err
	}
	defer netnsDown()

	rep.Notes = append(rep.Notes, fmt.Sprintf("machine load (1-minute load average) is given per row as it stood when the receiver started, "+
		"%d cores here: load beyond what the receivers add is other work on the same cores, which starves receivers of CPU", rep.Machine.Cores))
	for _, r := range liveReceivers(cfg, rep) {
		if r.args == nil {
			continue
		}
		row := runLive(ctx, cfg, r, slice)
		fmt.Fprintf(progress, "%-28s sent %d received %d dropped %d %s%s\n", row.Receiver, row.Sent, row.Received, row.Dropped, row.Note, row.Err)
		rep.Rows = append(rep.Rows, row)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return rep, nil
}

var (
	reTcpdumpCaptured = regexp.MustCompile(`(\d+) packets captured`)
	reTcpdumpDropped  = regexp.MustCompile(`(\d+) packets dropped by kernel`)
	reSFRecv          = regexp.MustCompile(`Packets received by libpcap: (\d+)`)
	reSFDrop          = regexp.MustCompile(`Packets dropped by libpcap: (\d+)`)
	reSFIfDrop        = regexp.MustCompile(`Packets dropped by interface: (\d+)`)
	reReplaySent      = regexp.MustCompile(`Successful packets:\s+(\d+)`)
	reReplayFailed    = regexp.MustCompile(`Failed packets:\s+(\d+)`)
	reReplayRate      = regexp.MustCompile(`Rated: .*?([\d.]+) pps`)
	reXDPMode         = regexp.MustCompile(`^tapflow_capture_xdp_mode\{mode="(\w+)"\}$`)
	reTapflowOversize = regexp.MustCompile(`msg="capture stats".* oversize=(\d+)`)
)

// liveReceivers lists the receivers; tapflow's rows carry an error when its
// appliance command cannot capture yet.
func liveReceivers(cfg LiveConfig, rep *LiveReport) []receiver {
	var rs []receiver
	sleepReady := func(ctx context.Context, _ string) error {
		select {
		case <-time.After(time.Second):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// tapflow
	help, _ := exec.Command(cfg.Tapflow, "appliance", "--help").CombinedOutput()
	tapflowReady := bytes.Contains(help, []byte("--iface"))
	for _, eng := range cfg.Engines {
		for _, w := range cfg.Workers {
			name := fmt.Sprintf("tapflow %s workers=%d", eng, w)
			if !tapflowReady {
				rep.Rows = append(rep.Rows, LiveRow{Receiver: name, Received: -1, Dropped: -1,
					Err: "not ready: `tapflow appliance` has no --iface flag yet (live capture is being built)"})
				continue
			}
			dir := filepath.Join(cfg.WorkDir, fmt.Sprintf("tapflow-%s-%d", eng, w))
			r := strings.NewReplacer("{iface}", ifRx, "{engine}", eng, "{workers}", strconv.Itoa(w), "{listen}", rxHTTP, "{dir}", dir)
			args := []string{cfg.Tapflow}
			for _, a := range cfg.TapflowArgs {
				args = append(args, r.Replace(a))
			}
			rs = append(rs, receiver{name: name, args: args,
				ready: func(ctx context.Context, _ string) error {
					for {
						if _, err := scrape(); err == nil {
							return nil
						}
						select {
						case <-time.After(200 * time.Millisecond):
						case <-ctx.Done():
							return errors.New("no /metrics answer within the start timeout")
						}
					}
				},
				stats: func(final bool, _, _ []byte) (int64, int64, string, bool, error) {
					if final {
						return 0, 0, "", false, nil
					}
					m, err := scrape()
					if err != nil {
						return -1, -1, "", true, err
					}
					recv, ok := m.sum("tapflow_dataplane_packets_received_total")
					if !ok {
						return -1, -1, "", true, errors.New("/metrics has no tapflow_dataplane_packets_received_total")
					}
					drop, ok := m.sumMatch(func(name string) bool {
						return strings.Contains(name, "drop") && (strings.Contains(name, "kernel") || strings.Contains(name, "ring") || strings.Contains(name, "capture"))
					})
					if !ok {
						drop = -1
					}
					dec, _ := m.sum("tapflow_dataplane_packets_dropped_total")
					note := fmt.Sprintf("decode drops %d", int64(dec))
					for series, v := range m {
						if mm := reXDPMode.FindStringSubmatch(series); mm != nil && v == 1 {
							note = "xdp " + mm[1] + " mode; " + note
						}
					}
					return int64(recv), int64(drop), note, true, nil
				},
				// The AF_XDP source logs its counters when it closes;
				// oversize frames are part of the kernel drops above.
				exitNote: func(stderr []byte) string {
					if mm := reTapflowOversize.FindSubmatch(stderr); mm != nil {
						return "oversize drops " + string(mm[1])
					}
					return ""
				}})
		}
	}
	if _, err := exec.LookPath("tcpdump"); err == nil {
		rs = append(rs, receiver{name: "tcpdump -B 262144",
			args: []string{"tcpdump", "-i", ifRx, "-n", "-w", os.DevNull, "-B", "262144"},
			ready: func(ctx context.Context, stderr string) error {
				if strings.Contains(stderr, "listening on") {
					return nil
				}
				return errNotYet
			},
			stats: func(final bool, _, stderr []byte) (int64, int64, string, bool, error) {
				if !final {
					return 0, 0, "", false, nil
				}
				c, d := reTcpdumpCaptured.FindSubmatch(stderr), reTcpdumpDropped.FindSubmatch(stderr)
				if c == nil || d == nil {
					return -1, -1, "", true, fmt.Errorf("no counters in tcpdump's output: %s", tail(stderr))
				}
				return atoi(c[1]), atoi(d[1]), "", true, nil
			}})
	} else {
		rep.Rows = append(rep.Rows, LiveRow{Receiver: "tcpdump", Received: -1, Dropped: -1, Err: "tcpdump " + errNotInstalled.Error()})
	}
	if _, err := exec.LookPath("softflowd"); err == nil {
		ctl := filepath.Join(cfg.WorkDir, "softflowd.ctl")
		rs = append(rs, receiver{name: "softflowd",
			// Exports go to the discard port of the receiver's loopback.
			args:  []string{"softflowd", "-i", ifRx, "-n", "127.0.0.1:9", "-v", "10", "-6", "-m", "1048576", "-d", "-c", ctl, "-p", filepath.Join(cfg.WorkDir, "softflowd.pid")},
			ready: sleepReady,
			stats: func(final bool, _, _ []byte) (int64, int64, string, bool, error) {
				if final {
					return 0, 0, "", false, nil
				}
				out, err := exec.Command("softflowctl", "-c", ctl, "statistics").CombinedOutput()
				r, d, i := reSFRecv.FindSubmatch(out), reSFDrop.FindSubmatch(out), reSFIfDrop.FindSubmatch(out)
				if err != nil || r == nil || d == nil {
					return -1, -1, "", true, fmt.Errorf("softflowctl statistics: %v: %s", err, tail(out))
				}
				note := ""
				if i != nil && atoi(i[1]) > 0 {
					note = fmt.Sprintf("interface drops %s", i[1])
				}
				return atoi(r[1]), atoi(d[1]), note, true, nil
			}})
	} else {
		rep.Rows = append(rep.Rows, LiveRow{Receiver: "softflowd", Received: -1, Dropped: -1, Err: "softflowd " + errNotInstalled.Error()})
	}
	return rs
}

var errNotYet = errors.New("not ready yet")

func atoi(b []byte) int64 {
	n, _ := strconv.ParseInt(string(b), 10, 64)
	return n
}

// runLive starts r in nsRx, replays the slice from nsTx and reads r's
// counters.
func runLive(ctx context.Context, cfg LiveConfig, r receiver, slice string) LiveRow {
	row := LiveRow{Receiver: r.name, Received: -1, Dropped: -1}
	notes := []string{"load " + loadAvg()}
	dir := filepath.Join(cfg.WorkDir, "run")
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		row.Err = err.Error()
		return row
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("ip", append([]string{"netns", "exec", nsRx}, r.args...)...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &lockedBuffer{b: &stdout}, &lockedBuffer{b: &stderr}
	if err := cmd.Start(); err != nil {
		row.Err = err.Error()
		return row
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}

	// Wait for the receiver to be ready, or to die.
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		err := r.ready(rctx, stderrString(cmd.Stderr))
		if err == nil {
			break
		}
		select {
		case werr := <-exited:
			row.Err = fmt.Sprintf("receiver exited before it was ready: %v: %s", werr, tail(stderr.Bytes(), stdout.Bytes()))
			return row
		default:
		}
		if !errors.Is(err, errNotYet) || rctx.Err() != nil {
			stop()
			row.Err = fmt.Sprintf("receiver not ready: %v: %s", err, tail(stderr.Bytes(), stdout.Bytes()))
			return row
		}
		time.Sleep(100 * time.Millisecond)
	}

	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", nsTx, "tcpreplay", "--topspeed", "--preload-pcap", "-i", ifTx, slice).CombinedOutput()
	if err != nil {
		stop()
		row.Err = fmt.Sprintf("tcpreplay: %v: %s", err, tail(out))
		return row
	}
	if s := reReplaySent.FindSubmatch(out); s != nil {
		row.Sent = atoi(s[1])
	}
	if s := reReplayRate.FindSubmatch(out); s != nil {
		row.SendPPS, _ = strconv.ParseFloat(string(s[1]), 64)
	}
	if s := reReplayFailed.FindSubmatch(out); s != nil && atoi(s[1]) > 0 {
		notes = append(notes, fmt.Sprintf("tcpreplay failed %s (frames over the MTU)", s[1]))
	}
	time.Sleep(cfg.Settle)

	var got bool
	collect := func(final bool) {
		if got {
			return
		}
		recv, drop, note, ok, err := r.stats(final, stdout.Bytes(), stderr.Bytes())
		if !ok {
			return
		}
		got = true
		row.Received, row.Dropped = recv, drop
		if note != "" {
			notes = append(notes, note)
		}
		if err != nil {
			row.Err = err.Error()
		}
	}
	collect(false)
	stop()
	collect(true)
	if r.exitNote != nil {
		if n := r.exitNote(stderr.Bytes()); n != "" {
			notes = append(notes, n)
		}
	}
	row.Note = strings.Join(notes, "; ")
	return row
}

// stderrString reads a lockedBuffer's content so far.
func stderrString(w io.Writer) string {
	if lb, ok := w.(*lockedBuffer); ok {
		return lb.String()
	}
	return ""
}

// writeSlice copies into path the first n frames of the corpus whose
// captured length is at most maxFrame (what tcpreplay sends), and returns
// how many it wrote and how many longer ones it skipped on the way.
func writeSlice(corpus, path string, n, maxFrame int) (written, skipped int, err error) {
	src, err := openCapture(corpus)
	if err != nil {
		return 0, 0, err
	}
	defer src.Close()
	f, err := os.Create(path)
	if err != nil {
		return 0, 0, err
	}
	pw, err := newPcapWriter(f)
	if err != nil {
		f.Close()
		return 0, 0, err
	}
	for written < n {
		data, ts, wire, _, err := src.read()
		if err != nil {
			break
		}
		if len(data) > maxFrame {
			skipped++
			continue
		}
		if err := pw.write(ts, wire, data); err != nil {
			f.Close()
			return 0, 0, err
		}
		written++
	}
	if err := pw.flush(); err != nil {
		f.Close()
		return 0, 0, err
	}
	return written, skipped, f.Close()
}

// netnsUp creates the two namespaces and the veth pair between them, both
// ends with the given MTU.
func netnsUp(mtu int) error {
	netnsDown()
	m := strconv.Itoa(mtu)
	steps := [][]string{
		{"netns", "add", nsTx},
		{"netns", "add", nsRx},
		{"link", "add", ifTx, "netns", nsTx, "type", "veth", "peer", "name", ifRx, "netns", nsRx},
		{"-n", nsTx, "link", "set", ifTx, "mtu", m, "up"},
		{"-n", nsRx, "link", "set", ifRx, "mtu", m, "up"},
		{"-n", nsRx, "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if out, err := exec.Command("ip", s...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(s, " "), err, tail(out))
		}
	}
	for _, ns := range []string{nsTx, nsRx} {
		// No IPv6 autoconfiguration chatter in the counts.
		_ = exec.Command("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1").Run()
	}
	return nil
}

// netnsDown removes the namespaces (and with them the veth pair).
func netnsDown() {
	for _, ns := range []string{nsTx, nsRx} {
		_ = exec.Command("ip", "netns", "del", ns).Run()
	}
}

// Markdown renders the live report (live.md).
func (r *LiveReport) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# tapflow live capture benchmark\n\n")
	fmt.Fprintf(&b, "- date: %s\n", r.Date.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- machine: %s\n", r.Machine)
	fmt.Fprintf(&b, "- traffic: the first %d frames of `%s` (sha256 `%s`) of at most %d bytes, `tcpreplay --topspeed --preload-pcap` from netns %s into veth %s; receivers in netns %s on %s\n",
		r.Packets, filepath.Base(r.Corpus.Path), r.Corpus.SHA256, r.MTU+14, nsTx, ifTx, nsRx, ifRx)
	fmt.Fprintf(&b, "- veth MTU %d on both ends, as on a mirror port: of the first %d corpus frames, the %d longer than %d bytes "+
		"(mostly GRO/TSO super-frames of host-side captures, up to 80 KB), which such a port could not carry, were left out; every receiver gets the same frames\n",
		r.MTU, r.Packets+r.Skipped, r.Skipped, r.MTU+14)
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "- note: %s\n", n)
	}
	b.WriteString("\n| receiver | sent | sender packets/s | received | dropped | not received | notes |\n|---|---:|---:|---:|---:|---:|---|\n")
	num := func(v int64) string {
		if v < 0 {
			return "n/a"
		}
		return strconv.FormatInt(v, 10)
	}
	for _, row := range r.Rows {
		if row.Err != "" && row.Sent == 0 {
			fmt.Fprintf(&b, "| %s | — | — | — | — | — | %s |\n", mdEscape(row.Receiver), mdEscape(row.Err))
			continue
		}
		missing := "n/a"
		if row.Received >= 0 {
			missing = strconv.FormatInt(row.Sent-row.Received, 10)
		}
		note := row.Note
		if row.Err != "" {
			note = strings.TrimPrefix(note+"; "+row.Err, "; ")
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s |\n", mdEscape(row.Receiver), row.Sent, formatPPS(row.SendPPS),
			num(row.Received), num(row.Dropped), missing, mdEscape(note))
	}
	return b.String()
}

// Write writes live.md into dir.
func (r *LiveReport) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "live.md"), []byte(r.Markdown()), 0o644)
}
