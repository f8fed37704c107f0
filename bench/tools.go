package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Tool is one row of the offline comparison: a command that reads the
// corpus file once and reports what it found.
type Tool struct {
	// Name is the row label and the -only selector.
	Name string
	// What says what the tool does, for the table.
	What string
	// Tapflow marks rows of tapflow itself; the first one is the reference
	// of the ratio column.
	Tapflow bool
	// FixedSleep is time the tool spends sleeping by design whatever the
	// input (pmacctd's savefile mode); it is taken out of the wall time
	// before computing packets/s, and the row says so.
	FixedSleep time.Duration
	// InstrSkip, when set, says why the row is left out of the
	// instruction count (instructions.go).
	InstrSkip string
	// Storage marks rows that write to the ClickHouse server, whose CPU
	// time during the run is then reported beside the tool's.
	Storage bool
	// Unavailable returns why the row cannot run here, or "".
	Unavailable func(e *Env) string
	// Prepare returns the command for one run; dir is a fresh directory
	// for the run's files. done, if not nil, is called after the command
	// exited successfully and returns the flows the tool reported (-1 when
	// it does not say) and an optional note.
	Prepare func(e *Env, dir string) (inv invocation, done func(m measurement) (int64, string, error), err error)
}

// Env is what tools need to know about this run.
type Env struct {
	Corpus  string // corpus pcap
	Tapflow string // tapflow binary
	// ClickHouse returns the address of a ClickHouse server for the
	// storage rows, starting one on first use.
	ClickHouse func() (string, error)
	// L7Flag is the `tapflow replay` flag that turns on every L7
	// dissector. The L7 rows run once `tapflow replay --help` lists it.
	L7Flag string
	// Settle: see OfflineConfig.Settle.
	Settle func(context.Context) error
	// ServerCPU: see OfflineConfig.ServerCPU.
	ServerCPU func() (time.Duration, error)

	replayHelp *string
}

// replayHas reports whether `tapflow replay --help` lists flag.
func (e *Env) replayHas(flag string) bool {
	if e.replayHelp == nil {
		out, _ := exec.Command(e.Tapflow, "replay", "--help").CombinedOutput()
		s := string(out)
		e.replayHelp = &s
	}
	return strings.Contains(*e.replayHelp, flag+" ") || strings.Contains(*e.replayHelp, flag+"\n") || strings.Contains(*e.replayHelp, flag+"=")
}

func needBinary(names ...string) func(*Env) string {
	return func(*Env) string {
		for _, n := range names {
			if _, err := exec.LookPath(n); err != nil {
				return fmt.Sprintf("%s %v (make bench installs it: scripts/deps.sh bench)", n, errNotInstalled)
			}
		}
		return ""
	}
}

func needTapflow(e *Env) string {
	if _, err := os.Stat(e.Tapflow); err != nil {
		return fmt.Sprintf("tapflow binary %s missing (make build)", e.Tapflow)
	}
	return ""
}

var (
	reTapflowStats  = regexp.MustCompile(`packets received (\d+), decoded (\d+), flows (\d+), reports (\d+)`)
	reSoftflowd     = regexp.MustCompile(`Flows exported: (\d+) \((\d+) records\)`)
	reNdpiFlows     = regexp.MustCompile(`Unique flows:\s+(\d+)`)
	reRacountRecord = regexp.MustCompile(`(?m)^\s*sum\s+(\d+)`)
)

// tapflowFlows reads `replay --stats`: flows created, with the number of
// records (incl. forced minute reports) as a note.
func tapflowFlows(m measurement) (int64, string, error) {
	s := reTapflowStats.FindSubmatch(m.stderr)
	if s == nil {
		return -1, "", fmt.Errorf("no --stats line in tapflow's stderr: %s", tail(m.stderr))
	}
	flows, _ := strconv.ParseInt(string(s[3]), 10, 64)
	note := fmt.Sprintf("%s records", s[4])
	if l7 := reTapflowL7.FindSubmatch(m.stderr); l7 != nil {
		note += fmt.Sprintf(", %s l7_flow_log rows (%s flows identified)", l7[3], l7[2])
	}
	return flows, note, nil
}

// reTapflowL7 is `replay --stats`' L7 line.
var reTapflowL7 = regexp.MustCompile(`l7: payload packets (\d+), flows identified (\d+), .*logs (\d+)`)

// tapflowRecords reads `replay --stats`: records written (rows).
func tapflowRecords(m measurement) (int64, string, error) {
	s := reTapflowStats.FindSubmatch(m.stderr)
	if s == nil {
		return -1, "", fmt.Errorf("no --stats line in tapflow's stderr: %s", tail(m.stderr))
	}
	n, _ := strconv.ParseInt(string(s[4]), 10, 64)
	return n, "records", nil
}

// errNoClickHouse is the storage rows' error when no server was provided.
var errNoClickHouse = errors.New("no ClickHouse server available (install clickhouse-server)")

// tapflowReplay is the row for `tapflow replay` with extra flags.
func tapflowReplay(name, what string, storage bool, l7 bool) Tool {
	t := Tool{Name: name, What: what, Tapflow: true, Storage: storage}
	if storage {
		t.InstrSkip = "left out: most of the work is the ClickHouse server's, in another process"
	}
	t.Unavailable = func(e *Env) string {
		if r := needTapflow(e); r != "" {
			return r
		}
		if l7 && !e.replayHas(e.L7Flag) {
			return fmt.Sprintf("not built yet: tapflow has no L7 dissectors (`replay %s`)", e.L7Flag)
		}
		return ""
	}
	t.Prepare = func(e *Env, dir string) (invocation, func(measurement) (int64, string, error), error) {
		args := []string{e.Tapflow, "replay", e.Corpus, "--stats", "--workers", "1"}
		print := "l4"
		if l7 {
			args = append(args, e.L7Flag)
			print = "l4,l7"
		} else if e.replayHas(e.L7Flag) {
			args = append(args, e.L7Flag+"=false")
		}
		if storage {
			addr, err := e.ClickHouse()
			if err != nil {
				return invocation{}, nil, fmt.Errorf("clickhouse: %w", err)
			}
			args = append(args, "--clickhouse", addr, "--data-dir", filepath.Join(dir, "data"))
		} else {
			args = append(args, "--print", print)
		}
		return invocation{args: args, devNullStdout: true, dir: dir}, tapflowFlows, nil
	}
	return t
}

// DefaultTools are the rows of `make bench`, in table order.
func DefaultTools() []Tool {
	return []Tool{
		{
			Name: "tcpdump", What: "read floor: pcap read + write to /dev/null (C)",
			Unavailable: needBinary("tcpdump"),
			Prepare: func(e *Env, dir string) (invocation, func(measurement) (int64, string, error), error) {
				return invocation{args: []string{"tcpdump", "-r", e.Corpus, "-w", os.DevNull}, dir: dir}, nil, nil
			},
		},
		tapflowReplay("tapflow L4 → /dev/null", "flows + L4 metrics, JSON to /dev/null (Go)", false, false),
		tapflowReplay("tapflow L4+L7 → /dev/null", "flows + L4 + all L7 dissectors (Go)", false, true),
		tapflowReplay("tapflow L4 → ClickHouse", "flows + L4 metrics into a local ClickHouse (Go)", true, false),
		tapflowReplay("tapflow L4+L7 → ClickHouse", "all dissectors into a local ClickHouse (Go)", true, true),
		softflowdTool(),
		pmacctdTool(),
		{
			Name: "argus", What: "bidirectional flow records (C)",
			Unavailable: needBinary("argus", "racount"),
			Prepare: func(e *Env, dir string) (invocation, func(measurement) (int64, string, error), error) {
				// Records go to a file rather than /dev/null so they can be
				// counted afterwards (untimed).
				out := filepath.Join(dir, "flows.argus")
				inv := invocation{args: []string{"argus", "-r", e.Corpus, "-w", out}, dir: dir}
				return inv, func(measurement) (int64, string, error) {
					b, err := exec.Command("racount", "-r", out).CombinedOutput()
					s := reRacountRecord.FindSubmatch(b)
					if err != nil || s == nil {
						return -1, "", fmt.Errorf("racount: %v: %s", err, tail(b))
					}
					n, _ := strconv.ParseInt(string(s[1]), 10, 64)
					return n, "records", nil
				}, nil
			},
		},
		{
			Name: "ndpiReader", What: "DPI: flows + protocol detection (C)",
			Unavailable: needBinary("ndpiReader"),
			Prepare: func(e *Env, dir string) (invocation, func(measurement) (int64, string, error), error) {
				return invocation{args: []string{"ndpiReader", "-i", e.Corpus}, dir: dir}, func(m measurement) (int64, string, error) {
					s := reNdpiFlows.FindSubmatch(m.stdout)
					if s == nil {
						return -1, "", fmt.Errorf("no 'Unique flows' in ndpiReader output: %s", tail(m.stdout, m.stderr))
					}
					n, _ := strconv.ParseInt(string(s[1]), 10, 64)
					return n, "", nil
				}, nil
			},
		},
	}
}

// softflowdTool exports IPFIX to a UDP collector of our own that counts the
// datagrams; the flow count is softflowd's own summary line.
func softflowdTool() Tool {
	return Tool{
		Name: "softflowd", What: "flow accounting, IPFIX export to a local collector (C)",
		Unavailable: needBinary("softflowd"),
		Prepare: func(e *Env, dir string) (invocation, func(measurement) (int64, string, error), error) {
			col, err := newCollector()
			if err != nil {
				return invocation{}, nil, err
			}
			// -m: as many flows as tapflow's default table (softflowd's
			// default of 8192 would force-expire most of the corpus).
			// -c none: with a capture file, softflowd 1.1.0 may test the
			// control socket's poll entry without polling and block in
			// accept forever (seen under this harness).
			inv := invocation{args: []string{"softflowd", "-r", e.Corpus, "-n", col.addr(), "-v", "10", "-6",
				"-m", "1048576", "-d", "-c", "none", "-p", filepath.Join(dir, "pid")}, dir: dir}
			return inv, func(m measurement) (int64, string, error) {
				dgrams := col.close()
				s := reSoftflowd.FindSubmatch(append(m.stdout, m.stderr...))
				if s == nil {
					return -1, "", fmt.Errorf("no 'Flows exported' in softflowd output: %s", tail(m.stdout, m.stderr))
				}
				n, _ := strconv.ParseInt(string(s[1]), 10, 64)
				return n, fmt.Sprintf("%s IPFIX records in %d datagrams received", s[2], dgrams), nil
			}, nil
		},
	}
}

// pmacctdTool aggregates by 5-tuple with the print plugin and its default
// cache; flows are the lines of its CSV (one per direction: pmacct
// aggregates are one-way; purges of a full cache append to the file).
func pmacctdTool() Tool {
	return Tool{
		Name: "pmacctd", What: "flow accounting, 5-tuple aggregates to CSV (C)",
		// pmacctd sleeps 2 s before reading a savefile and 2 s at its end
		// to let its plugins start and drain (seen with strace).
		FixedSleep:  4 * time.Second,
		Unavailable: needBinary("pmacctd"),
		Prepare: func(e *Env, dir string) (invocation, func(measurement) (int64, string, error), error) {
			out := filepath.Join(dir, "flows.csv")
			conf := fmt.Sprintf(`daemonize: false
pcap_savefile: %s
plugins: print[f]
plugin_buffer_size: 102400
plugin_pipe_size: 102400000
aggregate[f]: src_host, dst_host, src_port, dst_port, proto
print_output[f]: csv
print_output_file[f]: %s
print_refresh_time[f]: 3600
print_output_file_append[f]: true
`, e.Corpus, out)
			cf := filepath.Join(dir, "pmacctd.conf")
			if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
				return invocation{}, nil, err
			}
			return invocation{args: []string{"pmacctd", "-f", cf}, dir: dir}, func(measurement) (int64, string, error) {
				b, err := os.ReadFile(out)
				if err != nil {
					return -1, "", fmt.Errorf("pmacctd wrote no CSV: %w", err)
				}
				// One header per cache purge (a full cache purges early).
				n := int64(bytes.Count(b, []byte{'\n'})) - int64(bytes.Count(b, []byte("SRC_IP,")))
				return max(n, 0), "one-way 5-tuple aggregates, incl. splits at cache purges", nil
			}, nil
		},
	}
}

// collector is a UDP sink for flow exports that counts datagrams.
type collector struct {
	conn *net.UDPConn
	n    atomic.Int64
	done chan struct{}
}

func newCollector() (*collector, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("collector: %w", err)
	}
	_ = conn.SetReadBuffer(64 << 20)
	c := &collector{conn: conn, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		buf := make([]byte, 65536)
		for {
			if _, _, err := conn.ReadFromUDP(buf); err != nil {
				return
			}
			c.n.Add(1)
		}
	}()
	return c, nil
}

func (c *collector) addr() string { return c.conn.LocalAddr().String() }

// close drains what the kernel still holds briefly, stops and returns the
// datagram count.
func (c *collector) close() int64 {
	for last := int64(-1); last != c.n.Load(); {
		last = c.n.Load()
		time.Sleep(50 * time.Millisecond)
	}
	c.conn.Close()
	<-c.done
	return c.n.Load()
}
