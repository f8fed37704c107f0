package main

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/tapflow/tapflow/dataplane"
	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/flowtable"
	"github.com/tapflow/tapflow/tap"
)

func newReplayCmd() *cobra.Command {
	var (
		print   string
		stats   bool
		workers int
		noDecap bool
		dedup   bool
		l7      bool
		cpuprof string
		memprof string
		progOn  bool
		store   storeFlags
	)
	cmd := &cobra.Command{
		Use:   "replay FILE",
		Short: "Analyze a pcap/pcapng file through the real pipeline",
		Long: `replay reads a pcap or pcapng capture through the same decoder and flow
tables as live capture, and (unless --l7=false) through every L7 dissector.
With --print it prints one JSON object per line: l4 prints a flow report
(l4_flow_log), l7 a request/response log (l7_flow_log), l4,l7 both.
Otherwise it writes them to ClickHouse like the appliance does (starting the
embedded ClickHouse when no address is given).`,
		Example: `  tapflow replay capture.pcap --print l4
  tapflow replay capture.pcap --print l7
  tapflow replay capture.pcapng --stats
  tapflow replay capture.pcap --clickhouse 127.0.0.1:9000`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			printL4, printL7, err := parsePrint(print)
			if err != nil {
				return err
			}
			logger := newLogger(cmd.ErrOrStderr())
			src, err := dataplane.OpenPcap(args[0])
			if err != nil {
				return err
			}
			defer src.Close()
			cfg := dataplane.DefaultConfig()
			cfg.Workers = workers
			cfg.NoDecap = noDecap
			cfg.Dedup.Enabled = dedup
			cfg.L7.Enabled = l7
			var sink flowtable.Sink
			var closeSink func() error
			if print != "" {
				js := newJSONSink(cmd.OutOrStdout(), printL4, printL7)
				sink, closeSink = js, js.Close
			} else {
				st, err := openStore(cmd.Context(), store.config(), logger, nil, true)
				if err != nil {
					return err
				}
				sink, closeSink = st, st.Close
			}
			p, err := dataplane.New(cfg, sink, logger)
			if err != nil {
				return err
			}
			if cpuprof != "" {
				stop, err := startCPUProfile(cpuprof)
				if err != nil {
					return err
				}
				defer stop()
			}
			// A progress line by default only where someone watches (stderr
			// a terminal) and printed records do not share the screen.
			errw := cmd.ErrOrStderr()
			if !cmd.Flags().Changed("progress") {
				progOn = isTerminal(errw) && (print == "" || !isTerminal(cmd.OutOrStdout()))
			}
			stopProgress := func() {}
			if progOn {
				stopProgress = startProgress(errw, isTerminal(errw), progressSource{file: src.Progress, stats: p.Stats}, progressInterval)
			}
			start := time.Now()
			runErr := p.Run(cmd.Context(), src)
			stopProgress()
			if memprof != "" {
				// Before closing the sink: its queues still hold what the
				// replay left in them, which is what the profile is for.
				if err := writeHeapProfile(memprof); err != nil {
					logger.Warn("heap profile not written", "file", memprof, "err", err)
				}
			}
			cerr := closeSink()
			s := p.Stats()
			if stats {
				printStats(cmd.ErrOrStderr(), s, time.Since(start))
			}
			if runErr != nil {
				// A cut-off capture is still analyzed up to the cut.
				logger.Warn("capture ended early", "file", args[0], "err", runErr)
			}
			return cerr
		},
	}
	cmd.Flags().StringVar(&print, "print", "", "print records instead of storing them: l4, l7 or l4,l7")
	cmd.Flags().BoolVar(&l7, "l7", true, "run the L7 dissectors (l7_flow_log); --l7=false for flows only")
	cmd.Flags().BoolVar(&stats, "stats", false, "print packet and flow counters to stderr at the end")
	cmd.Flags().IntVar(&workers, "workers", 1, "flow-table workers (0 = one per CPU)")
	cmd.Flags().BoolVar(&noDecap, "no-decap", false, "analyze tunnels as outer flows instead of decapsulating")
	cmd.Flags().StringVar(&cpuprof, "cpuprofile", "", "write a CPU profile of the replay to this file (go tool pprof)")
	cmd.Flags().StringVar(&memprof, "memprofile", "", "write a heap profile (live and allocated bytes by call site) when the replay ends (go tool pprof)")
	cmd.Flags().BoolVar(&progOn, "progress", false, "show the replay's progress on stderr (default: when stderr is a terminal and records are not printed to it)")
	cmd.Flags().BoolVar(&dedup, "dedup", true, "drop the second copy of a packet seen twice (both sides of a SPAN)")
	store.register(cmd)
	return cmd
}

// progressInterval is how often the progress line is redrawn.
var progressInterval = time.Second

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func printStats(w io.Writer, s dataplane.Stats, d time.Duration) {
	fmt.Fprintf(w, "packets received %d, decoded %d, flows %d, reports %d, evicted %d, %.0f packets/s\n",
		s.Received, s.Decoded, s.Flows.Created, s.Flows.Reports, s.Flows.Evicted, float64(s.Received)/d.Seconds())
	if s.DedupDropped > 0 {
		fmt.Fprintf(w, "dedup dropped %d\n", s.DedupDropped)
	}
	for i, n := range s.Dropped {
		if n > 0 {
			fmt.Fprintf(w, "dropped %s %d\n", tap.ReasonNames[i], n)
		}
	}
	if l := &s.L7; l.Payloads > 0 {
		fmt.Fprintf(w, "l7: payload packets %d, flows identified %d, given up %d, parse errors %d, logs %d (timeouts %d, orphan responses %d)\n",
			l.Payloads, l.Identified, l.GivenUp, l.ParseErrors, l.Logs, l.Timeouts, l.Orphans)
		for p, n := range l.PerProtocol {
			if n > 0 {
				fmt.Fprintf(w, "l7 logs %s %d\n", dissectors.Protocol(p), n)
			}
		}
	}
	if s.Panics > 0 {
		fmt.Fprintf(w, "frames that panicked (skipped) %d\n", s.Panics)
	}
}

// parsePrint reads --print's comma-separated record kinds.
func parsePrint(v string) (l4, l7 bool, err error) {
	if v == "" {
		return false, false, nil
	}
	for _, k := range strings.Split(v, ",") {
		switch strings.TrimSpace(k) {
		case "l4":
			l4 = true
		case "l7":
			l7 = true
		default:
			return false, false, fmt.Errorf("--print: unknown record kind %q (want l4, l7 or l4,l7)", k)
		}
	}
	return l4, l7, nil
}

// jsonSink prints each record as one JSON line. Safe for concurrent use.
type jsonSink struct {
	mu     sync.Mutex
	w      *bufio.Writer
	buf    []byte
	l4, l7 bool
}

func newJSONSink(w io.Writer, l4, l7 bool) *jsonSink {
	return &jsonSink{w: bufio.NewWriterSize(w, 1<<16), l4: l4, l7: l7}
}

// WriteL7 prints l7_flow_log rows (with --print l7).
func (s *jsonSink) WriteL7(logs []dissectors.Log) {
	if s.l7 {
		printLines(s, logs)
	}
}

// WriteFlows prints flow reports (with --print l4).
func (s *jsonSink) WriteFlows(recs []flowtable.FlowRecord) {
	if s.l4 {
		printLines(s, recs)
	}
}

// lineRoom is the free space in the writer's buffer from which printLines
// formats a record in place: more than any line is long but for absurd
// ones (a longer line is still printed whole, through a copy).
const lineRoom = 4096

// printLines writes each record as one JSON line.
func printLines[T any, P interface {
	*T
	AppendJSON([]byte) []byte
}](s *jsonSink, recs []T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range recs {
		if s.w.Available() >= lineRoom {
			// Format straight into the writer's free space: Write then
			// just takes the bytes where they are (copy skips a slice
			// onto itself). Should the line outgrow the space, append
			// moved it elsewhere and Write copies it as usual.
			b := P(&recs[i]).AppendJSON(s.w.AvailableBuffer())
			s.w.Write(append(b, '\n'))
			continue
		}
		s.buf = P(&recs[i]).AppendJSON(s.buf[:0])
		s.buf = append(s.buf, '\n')
		s.w.Write(s.buf)
	}
}

func (s *jsonSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Flush()
}

// writeHeapProfile writes the heap profile as of a fresh GC, so that its
// in-use figures are what is live now rather than at the last cycle.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
