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
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
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
		fs.IntVar(&cfg.InstrPackets, "instr-packets", cfg.InstrPackets, "corpus packets each tool runs over under cachegrind for the instructions-per-packet table (0: skip it)")
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
		ch := &clickhouse{dir: filepath.Join(root, "build", "bench", "clickhouse"), cpu: otherCPU(cfg.CPU), logger: logger, progress: stderr}
		defer ch.stop()
		cfg.ClickHouse = ch.addr
		cfg.Settle = ch.settle
		cfg.ServerCPU = ch.cpuTime
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
// benchmark CPU so the one-core figures stay tapflow's own. Its data
// directory lives only as long as the run: the rows of a run are gigabytes
// in hundreds of thousands of files.
type clickhouse struct {
	dir      string
	cpu      string
	logger   *slog.Logger
	progress io.Writer
	once     sync.Once
	srv      *chserver.Server
	err      error
}

func (c *clickhouse) addr() (string, error) {
	c.once.Do(func() {
		if _, err := chserver.FindBinary(""); err != nil {
			c.err = err
			return
		}
		if err := c.removeData("a previous run left"); err != nil {
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

// cpuTime is the server's CPU time so far; an error before it started.
func (c *clickhouse) cpuTime() (time.Duration, error) {
	if c.srv == nil {
		return 0, errors.New("clickhouse not started")
	}
	return bench.ProcessCPU(c.srv.PID())
}

// settle empties tapflow's tables and waits until the server merges
// nothing; a server not started yet is already settled.
func (c *clickhouse) settle(ctx context.Context) error {
	if c.srv == nil {
		return nil
	}
	return settleServer(ctx, c.srv.HTTPAddr())
}

// settleServer empties the MergeTree tables of the flow_* databases of the
// server at HTTP address addr and waits until it merges nothing.
func settleServer(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	tables, err := chQuery(ctx, addr, "SELECT concat('`', database, '`.`', name, '`') FROM system.tables "+
		"WHERE database LIKE 'flow%' AND engine LIKE '%MergeTree%'")
	if err != nil {
		return err
	}
	for _, t := range strings.Fields(tables) {
		if _, err := chQuery(ctx, addr, "TRUNCATE TABLE "+t); err != nil {
			return err
		}
	}
	for {
		n, err := chQuery(ctx, addr, "SELECT count() FROM system.merges")
		if err != nil {
			return err
		}
		if strings.TrimSpace(n) == "0" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("clickhouse still merging: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// chQuery runs q over ClickHouse's HTTP interface and returns the body.
func chQuery(ctx context.Context, addr, q string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/", strings.NewReader(q))
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("clickhouse: %s: %s", q, strings.TrimSpace(string(b)))
	}
	return string(b), nil
}

// stop stops the server, if it was started, and removes its data.
func (c *clickhouse) stop() {
	if c.srv == nil {
		return
	}
	if err := c.srv.Stop(); err != nil {
		c.logger.Warn("stopping clickhouse", "err", err)
		return // it may still be writing there
	}
	if err := c.removeData("this run wrote"); err != nil {
		c.logger.Warn("removing clickhouse data", "dir", c.dir, "err", err)
	}
}

// removeData removes the data directory, saying so when there is much to
// remove (whose is what left it), since that can take minutes.
func (c *clickhouse) removeData(whose string) error {
	const many = 10_000
	files := 0
	_ = filepath.WalkDir(c.dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if files++; files == many {
				return fs.SkipAll
			}
		}
		return nil
	})
	if files == many && c.progress != nil {
		fmt.Fprintf(c.progress, "removing the ClickHouse data %s in %s (%d files or more; this can take minutes)\n",
			whose, c.dir, many)
	}
	return os.RemoveAll(c.dir)
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
