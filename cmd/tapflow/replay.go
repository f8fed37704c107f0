package main

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/tapflow/tapflow/dataplane"
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
		cpuprof string
		store   storeFlags
	)
	cmd := &cobra.Command{
		Use:   "replay FILE",
		Short: "Analyze a pcap/pcapng file through the real pipeline",
		Long: `replay reads a pcap or pcapng capture through the same decoder and flow
tables as live capture. With --print l4 it prints one JSON object per flow
report per line; otherwise it writes the flows to ClickHouse like the
appliance does (starting the embedded ClickHouse when no address is given).`,
		Example: `  tapflow replay capture.pcap --print l4
  tapflow replay capture.pcapng --stats
  tapflow replay capture.pcap --clickhouse 127.0.0.1:9000`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if print != "" && print != "l4" {
				return fmt.Errorf("--print: unknown record kind %q (want l4)", print)
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
			var sink flowtable.Sink
			var closeSink func() error
			if print == "l4" {
				js := newJSONSink(cmd.OutOrStdout())
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
			start := time.Now()
			runErr := p.Run(cmd.Context(), src)
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
	cmd.Flags().StringVar(&print, "print", "", "print records instead of storing them: l4")
	cmd.Flags().BoolVar(&stats, "stats", false, "print packet and flow counters to stderr at the end")
	cmd.Flags().IntVar(&workers, "workers", 1, "flow-table workers (0 = one per CPU)")
	cmd.Flags().BoolVar(&noDecap, "no-decap", false, "analyze tunnels as outer flows instead of decapsulating")
	cmd.Flags().StringVar(&cpuprof, "cpuprofile", "", "write a CPU profile of the replay to this file (go tool pprof)")
	cmd.Flags().BoolVar(&dedup, "dedup", true, "drop the second copy of a packet seen twice (both sides of a SPAN)")
	store.register(cmd)
	return cmd
}

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
	if s.Panics > 0 {
		fmt.Fprintf(w, "frames that panicked (skipped) %d\n", s.Panics)
	}
}

// jsonSink prints each record as one JSON line. Safe for concurrent use.
type jsonSink struct {
	mu  sync.Mutex
	w   *bufio.Writer
	buf []byte
}

func newJSONSink(w io.Writer) *jsonSink {
	return &jsonSink{w: bufio.NewWriterSize(w, 1<<16)}
}

func (s *jsonSink) WriteFlows(recs []flowtable.FlowRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range recs {
		s.buf = recs[i].AppendJSON(s.buf[:0])
		s.buf = append(s.buf, '\n')
		s.w.Write(s.buf)
	}
}

func (s *jsonSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Flush()
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
