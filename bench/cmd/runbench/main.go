// Command runbench runs the comparisons of package bench over the corpus
// built by bench/cmd/corpus.
//
//	runbench offline  # make bench: one-core comparison + scaling tables
//	runbench live     # make bench-live: tcpreplay into a veth, in netns
//
// It prints the tables and writes them to bench/results (latest.md and
// latest.png, or live.md). See bench/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tapflow/tapflow/bench"
	"github.com/tapflow/tapflow/storage/chserver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "runbench:", err)
		os.Exit(1)
	}
}

const usage = "usage: runbench offline|live [flags]  (-h for a command's flags)"

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%s", usage)
	}
	root, err := bench.RepoRoot()
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	fs := flag.NewFlagSet("runbench "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	corpus := fs.String("corpus", bench.DefaultCorpusConfig(root).Out, "corpus pcap (make bench-corpus)")
	tapflow := fs.String("tapflow", filepath.Join(root, "build", "tapflow"), "tapflow binary (make build)")
	results := fs.String("results", filepath.Join(root, "bench", "results"), "directory for the result files")
	switch args[0] {
	case "offline":
		cfg := bench.DefaultOfflineConfig()
		fs.IntVar(&cfg.Runs, "runs", cfg.Runs, "runs per tool; the median is reported")
		fs.StringVar(&cfg.CPU, "cpu", cfg.CPU, "taskset CPU list for the one-core rows")
		only := fs.String("only", "", "comma-separated tool names to run (default: all)")
		noScaling := fs.Bool("no-scaling", false, "skip the scaling tables")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		info, err := bench.ReadCorpusInfo(*corpus)
		if err != nil {
			return err
		}
		cfg.Corpus, cfg.Tapflow, cfg.Logger, cfg.Progress = info, *tapflow, logger, stderr
		if *only != "" {
			cfg.Only = strings.Split(*only, ",")
		}
		cfg.Scaling = !*noScaling
		cfg.Root = root
		ch := &clickhouse{dir: filepath.Join(root, "build", "bench", "clickhouse"), cpu: otherCPU(cfg.CPU), logger: logger}
		defer ch.stop()
		cfg.ClickHouse = ch.addr
		rep, err := bench.Offline(ctx, cfg)
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, rep.Markdown())
		if err := rep.Write(*results); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nwritten: %s, %s\n", filepath.Join(*results, "latest.md"), filepath.Join(*results, "latest.png"))
		return nil
	case "live":
		cfg := bench.DefaultLiveConfig()
		fs.IntVar(&cfg.Packets, "packets", cfg.Packets, "packets of the corpus to replay")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		info, err := bench.ReadCorpusInfo(*corpus)
		if err != nil {
			return err
		}
		cfg.Corpus, cfg.Tapflow, cfg.Logger, cfg.Progress = info, *tapflow, logger, stderr
		cfg.WorkDir = filepath.Join(root, "build", "bench", "live")
		rep, err := bench.Live(ctx, cfg)
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, rep.Markdown())
		if err := rep.Write(*results); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nwritten: %s\n", filepath.Join(*results, "live.md"))
		return nil
	}
	return fmt.Errorf("unknown command %q; %s", args[0], usage)
}

// clickhouse starts a local server on first use, pinned away from the
// benchmark CPU so the one-core figures stay tapflow's own.
type clickhouse struct {
	dir    string
	cpu    string
	logger *slog.Logger
	once   sync.Once
	srv    *chserver.Server
	err    error
}

func (c *clickhouse) addr() (string, error) {
	c.once.Do(func() {
		if _, err := chserver.FindBinary(""); err != nil {
			c.err = err
			return
		}
		if err := os.RemoveAll(c.dir); err != nil {
			c.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		c.srv, c.err = chserver.Start(ctx, chserver.Options{DataDir: c.dir, Logger: c.logger})
		if c.err == nil && c.cpu != "" {
			// Best effort: all threads of the server onto the other CPU.
			_ = exec.Command("taskset", "-a", "-p", "-c", c.cpu, strconv.Itoa(c.srv.PID())).Run()
		}
	})
	if c.err != nil {
		return "", c.err
	}
	return c.srv.Addr(), nil
}

func (c *clickhouse) stop() {
	if c.srv != nil {
		if err := c.srv.Stop(); err != nil {
			c.logger.Warn("stopping clickhouse", "err", err)
		}
	}
}

// otherCPU returns a CPU other than the benchmark's single CPU, or "" when
// the machine has only one.
func otherCPU(cpu string) string {
	n, err := strconv.Atoi(cpu)
	if err != nil {
		return ""
	}
	for i := range runtime.NumCPU() {
		if i != n {
			return strconv.Itoa(i)
		}
	}
	return ""
}
