package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// OfflineConfig configures Offline.
type OfflineConfig struct {
	Corpus  CorpusInfo
	Tapflow string // tapflow binary
	Runs    int    // runs per tool; the median wall time is reported
	CPU     string // taskset CPU list for the one-core rows
	// Tools are the rows; nil means DefaultTools.
	Tools []Tool
	// Only restricts the run to the named tools.
	Only []string
	// L7Flag: see Env.L7Flag.
	L7Flag string
	// ClickHouse returns the address of a ClickHouse server for the storage
	// rows (started on first use). Nil: those rows report that none is
	// available.
	ClickHouse func() (string, error)
	// Settle, when set, runs before every measured run of every tool:
	// the ClickHouse provider empties tapflow's tables and waits for the
	// server's merges, so that each run meets the same empty, idle server
	// instead of the parts (and merges) of the runs before it.
	Settle func(context.Context) error
	// ServerCPU, when set, returns the CPU time (user + system) the
	// ClickHouse server has used so far. The storage rows then say how much
	// of it each run took: the server, on another CPU, inserts and merges
	// the rows, and when it is the slower side the wall time is its.
	ServerCPU func() (time.Duration, error)
	// InstrPackets is the size of the corpus slice each tool runs over
	// once more under cachegrind, for the instructions-per-packet table
	// (instructions.go). 0 skips the table.
	InstrPackets int
	// Scaling adds the workers and ClickHouse batch-size tables.
	Scaling bool
	// WorkersCPUs are taskset CPU lists per worker count for the scaling
	// table.
	Workers []int
	// Root is the module root; the memory table runs
	// BenchmarkTableMemory of bench/flowmem there with `go test`. Empty
	// skips the memory table.
	Root string
	// BatchSizes for the ClickHouse rows/s table.
	BatchSizes []int
	// RunTimeout bounds one run of one tool; a tool that hangs becomes an
	// error row.
	RunTimeout time.Duration
	// WorkDir holds per-run files; empty uses a temporary directory that is
	// removed afterwards.
	WorkDir  string
	Logger   *slog.Logger
	Progress io.Writer // one line per run; nil discards
}

// DefaultOfflineConfig returns the settings of `make bench`.
func DefaultOfflineConfig() OfflineConfig {
	return OfflineConfig{
		Runs:         3,
		InstrPackets: 200_000,
		RunTimeout:   10 * time.Minute,
		CPU:          "0",
		L7Flag:       "--l7",
		Workers:      []int{1, 2},
		BatchSizes:   []int{1_000, 10_000, 50_000, 100_000},
	}
}

// Offline runs every tool over the corpus and returns the report. A tool
// that is missing or fails becomes a row that says why; only a broken
// configuration is an error.
func Offline(ctx context.Context, cfg OfflineConfig) (*Report, error) {
	if cfg.Runs < 1 {
		return nil, fmt.Errorf("runs: must be at least 1, got %d", cfg.Runs)
	}
	if cfg.Corpus.Packets <= 0 {
		return nil, fmt.Errorf("corpus %s: no packet count (stamp missing?)", cfg.Corpus.Path)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	work := cfg.WorkDir
	if work == "" {
		d, err := os.MkdirTemp("", "tapflow-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		work = d
	}
	if cfg.Tapflow != "" {
		abs, err := filepath.Abs(cfg.Tapflow)
		if err != nil {
			return nil, err
		}
		cfg.Tapflow = abs
	}
	tools := cfg.Tools
	if tools == nil {
		tools = DefaultTools()
	}
	cpus := cfg.CPU
	rep := &Report{Date: time.Now().UTC(), Machine: ReadMachine(), Corpus: cfg.Corpus, Runs: cfg.Runs, CPU: cpus}
	if cfg.RunTimeout <= 0 {
		cfg.RunTimeout = 10 * time.Minute
	}
	runTimeout = cfg.RunTimeout
	load := loadAvg()
	defer func() {
		rep.Notes = append(rep.Notes, fmt.Sprintf("load average (1 min) %s at start, %s at end on %d cores: "+
			"other work on the machine inflates wall times; packets per CPU-second is not affected by it", load, loadAvg(), rep.Machine.Cores))
	}()
	if !haveTaskset() {
		rep.Notes = append(rep.Notes, "taskset not found: runs were NOT pinned to one core")
		cpus = ""
		rep.CPU = "unpinned"
	}
	env := &Env{Corpus: cfg.Corpus.Path, Tapflow: cfg.Tapflow, L7Flag: cfg.L7Flag,
		ClickHouse: func() (string, error) { return "", errNoClickHouse }, Settle: cfg.Settle, ServerCPU: cfg.ServerCPU}
	if cfg.ClickHouse != nil {
		env.ClickHouse = cfg.ClickHouse
	}

	var runs []*toolRuns
	for i, t := range tools {
		if len(cfg.Only) > 0 && !slices.Contains(cfg.Only, t.Name) {
			continue
		}
		row := &Row{Tool: t.Name, What: t.What, Tapflow: t.Tapflow, Flows: -1}
		if t.Unavailable != nil {
			if why := t.Unavailable(env); why != "" {
				row.Err = why
				log.Warn("tool skipped", "tool", t.Name, "reason", why)
				fmt.Fprintf(progress, "%-28s skipped: %s\n", t.Name, why)
				runs = append(runs, &toolRuns{row: row, done: true})
				continue
			}
		}
		runs = append(runs, &toolRuns{t: t, cpus: cpus, dir: filepath.Join(work, fmt.Sprintf("tool%02d", i)), row: row})
	}
	if err := runTools(ctx, env, runs, cfg.Runs, cfg.Corpus.Packets, progress); err != nil {
		return nil, err
	}
	for _, tr := range runs {
		rep.Rows = append(rep.Rows, *tr.row)
	}
	rep.setRatios()
	if cfg.InstrPackets > 0 {
		if err := instructions(ctx, env, runs, cfg.InstrPackets, work, rep, progress); err != nil {
			return nil, err
		}
	}

	if cfg.Scaling {
		if err := scaling(ctx, cfg, env, rep, work, progress); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// toolRuns is one tool's measured runs, and the row they fill.
type toolRuns struct {
	t     Tool
	cpus  string // taskset CPU list
	dir   string
	row   *Row
	ms    []measurement
	flows []int64
	notes []string
	// server is the ClickHouse server's CPU time during each run, for
	// storage rows when the Env can read it.
	server []time.Duration
	done   bool // skipped, failed, or every run made
}

// runTools measures every tool runs times, round by round: each round runs
// each tool once, so a drift of the machine's speed during the benchmark
// (a virtual machine's neighbours) reaches every tool alike instead of
// whichever tool it came in, and the ratios between the rows hold. Each
// row gets its median run. A tool that fails stops being run; the error is
// its row's. Only a cancelled ctx is an error.
func runTools(ctx context.Context, env *Env, trs []*toolRuns, runs int, packets int64, progress io.Writer) error {
	for r := range runs {
		for _, tr := range trs {
			if tr.done {
				continue
			}
			tr.run(ctx, env, r, runs, progress)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	for _, tr := range trs {
		tr.finish(packets)
	}
	return nil
}

// run makes run r (of runs) of the tool.
func (tr *toolRuns) run(ctx context.Context, env *Env, r, runs int, progress io.Writer) {
	t, row := tr.t, tr.row
	fail := func(msg string) {
		row.Err, tr.done = msg, true
		fmt.Fprintf(progress, "%-28s error: %s\n", t.Name, msg)
	}
	rd := filepath.Join(tr.dir, fmt.Sprintf("run%d", r))
	if err := os.MkdirAll(rd, 0o755); err != nil {
		fail(err.Error())
		return
	}
	inv, done, err := t.Prepare(env, rd)
	if err != nil {
		fail(err.Error())
		return
	}
	if row.Command == "" {
		row.Command = strings.Join(inv.args, " ")
	}
	if env.Settle != nil {
		if err := env.Settle(ctx); err != nil {
			fail(fmt.Sprintf("settling before run %d: %v", r+1, err))
			return
		}
	}
	serverCPU := func() (time.Duration, bool) {
		if !t.Storage || env.ServerCPU == nil {
			return 0, false
		}
		d, err := env.ServerCPU()
		return d, err == nil
	}
	before, haveBefore := serverCPU()
	rctx, cancel := context.WithTimeout(ctx, runTimeout)
	m, err := measure(rctx, inv, tr.cpus)
	cancel()
	if after, ok := serverCPU(); ok && haveBefore {
		tr.server = append(tr.server, after-before)
	}
	if rctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
		err = fmt.Errorf("%s: no exit within %s: %w", t.Name, runTimeout, err)
	}
	var n int64 = -1
	var note string
	if done != nil {
		var derr error
		n, note, derr = done(m)
		if err == nil && derr != nil {
			err = derr
		}
	}
	if err != nil {
		fail(err.Error())
		return
	}
	os.RemoveAll(rd) // outputs can be large (argus, pmacctd)
	fmt.Fprintf(progress, "%-28s run %d/%d: %.2fs wall, %.2fs cpu, %s peak RSS\n", t.Name, r+1, runs,
		m.wall.Seconds(), m.cpu.Seconds(), formatBytes(m.maxRSS))
	tr.ms, tr.flows, tr.notes = append(tr.ms, m), append(tr.flows, n), append(tr.notes, note)
	row.Runs = append(row.Runs, m.wall)
	row.RSS = max(row.RSS, m.maxRSS)
	tr.done = len(tr.ms) == runs
}

// finish fills the row from the median run, unless the tool failed.
func (tr *toolRuns) finish(packets int64) {
	row := tr.row
	if row.Err != "" || len(tr.ms) == 0 {
		return
	}
	i := median(tr.ms)
	row.Wall, row.CPU, row.Flows, row.FlowsNote = tr.ms[i].wall, tr.ms[i].cpu, tr.flows[i], tr.notes[i]
	if len(tr.server) == len(tr.ms) {
		row.ServerCPU = tr.server[i]
	}
	busy := row.Wall - tr.t.FixedSleep
	if tr.t.FixedSleep > 0 {
		row.Note = fmt.Sprintf("packets/s excludes %s of fixed sleep by design", tr.t.FixedSleep)
	}
	if busy > 0 {
		row.PPS = float64(packets) / busy.Seconds()
	}
	if row.CPU > 0 {
		row.PPSCPU = float64(packets) / row.CPU.Seconds()
	}
}

// scaling fills the workers and ClickHouse batch tables.
func scaling(ctx context.Context, cfg OfflineConfig, env *Env, rep *Report, work string, progress io.Writer) error {
	if why := needTapflow(env); why != "" {
		rep.WorkersNote = why
	} else {
		var trs []*toolRuns
		for _, w := range cfg.Workers {
			cpus := fmt.Sprintf("0-%d", w-1)
			if w == 1 {
				cpus = "0"
			}
			if !haveTaskset() {
				cpus = ""
			}
			t := Tool{Name: fmt.Sprintf("tapflow L4+L7 workers=%d", w), Prepare: func(e *Env, dir string) (invocation, func(measurement) (int64, string, error), error) {
				return invocation{args: []string{e.Tapflow, "replay", e.Corpus, "--stats", "--print", "l4,l7", "--workers", fmt.Sprint(w)},
					devNullStdout: true, dir: dir}, tapflowFlows, nil
			}}
			trs = append(trs, &toolRuns{t: t, cpus: cpus, dir: filepath.Join(work, fmt.Sprintf("workers%d", w)), row: &Row{Tool: t.Name, Flows: -1}})
		}
		if err := runTools(ctx, env, trs, cfg.Runs, cfg.Corpus.Packets, progress); err != nil {
			return err
		}
		for i, tr := range trs {
			row := tr.row
			rep.Workers = append(rep.Workers, WorkersRow{Workers: cfg.Workers[i], CPUs: tr.cpus, PPS: row.PPS, RSS: row.RSS, Err: row.Err})
		}
	}

	if cfg.Root != "" {
		rows, err := memoryTable(ctx, cfg.Root)
		if err != nil {
			rep.MemoryNote = err.Error()
		}
		for _, r := range rows {
			fmt.Fprintf(progress, "flow table memory %d flows: %.1f B/flow\n", r.Flows, r.BytesPerFlow())
		}
		rep.Memory = rows
	}

	switch {
	case needTapflow(env) != "":
		rep.BatchNote = needTapflow(env)
	case !env.replayHas("--batch-size"):
		rep.BatchNote = "deferred: `tapflow replay` has no --batch-size flag yet (storage/clickhouse is being finished); " +
			"this table fills itself once the flag exists"
	default:
		pin := cfg.CPU
		if !haveTaskset() {
			pin = ""
		}
		var trs []*toolRuns
		for _, b := range cfg.BatchSizes {
			t := Tool{Name: fmt.Sprintf("tapflow → ClickHouse batch=%d", b), Storage: true, Prepare: func(e *Env, dir string) (invocation, func(measurement) (int64, string, error), error) {
				addr, err := e.ClickHouse()
				if err != nil {
					return invocation{}, nil, fmt.Errorf("clickhouse: %w", err)
				}
				// L4 only: the rows counted are l4_flow_log's.
				return invocation{args: []string{e.Tapflow, "replay", e.Corpus, "--stats", "--workers", "1", e.L7Flag + "=false",
					"--clickhouse", addr, "--batch-size", fmt.Sprint(b), "--data-dir", filepath.Join(dir, "data")}, devNullStdout: true, dir: dir}, tapflowRecords, nil
			}}
			trs = append(trs, &toolRuns{t: t, cpus: pin, dir: filepath.Join(work, fmt.Sprintf("batch%d", b)), row: &Row{Tool: t.Name, Flows: -1}})
		}
		if err := runTools(ctx, env, trs, cfg.Runs, cfg.Corpus.Packets, progress); err != nil {
			return err
		}
		for i, tr := range trs {
			row := tr.row
			br := BatchRow{Batch: cfg.BatchSizes[i], Err: row.Err}
			if row.Err == "" && row.Wall > 0 {
				br.RowsPerSec = float64(row.Flows) / row.Wall.Seconds()
				br.PPS = row.PPS
			}
			rep.Batches = append(rep.Batches, br)
		}
	}
	return nil
}

// runTimeout bounds one run (OfflineConfig.RunTimeout).
var runTimeout = 10 * time.Minute

// loadAvg returns the 1-minute load average.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

var reMemBench = regexp.MustCompile(`(?m)^BenchmarkTableMemory/flows=(\d+)\S*\s+\d+\s+.*?\s([\d.]+) B/flow\s+([\d.e+]+) heap-B`)

// memoryTable runs bench/flowmem's BenchmarkTableMemory once per size and
// reads its metrics.
func memoryTable(ctx context.Context, root string) ([]MemoryRow, error) {
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "^BenchmarkTableMemory$", "-benchtime", "1x", "-count", "1", "./bench/flowmem")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go test ./bench/flowmem: %v: %s", err, tail(out))
	}
	var rows []MemoryRow
	for _, m := range reMemBench.FindAllSubmatch(out, -1) {
		n, _ := strconv.Atoi(string(m[1]))
		heap, _ := strconv.ParseFloat(string(m[3]), 64)
		rows = append(rows, MemoryRow{Flows: n, HeapBytes: int64(heap)})
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no BenchmarkTableMemory metrics in: %s", tail(out))
	}
	return rows, nil
}
