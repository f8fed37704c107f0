package bench

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Report is the outcome of Offline.
type Report struct {
	Date    time.Time
	Machine Machine
	Corpus  CorpusInfo
	Runs    int
	CPU     string // taskset CPU list of the one-core rows
	Rows    []Row
	Notes   []string

	// Instr is the instructions-per-packet table over the first
	// InstrPackets corpus packets; InstrNote says why it is missing.
	Instr        []InstrRow
	InstrPackets int
	InstrNote    string

	Workers     []WorkersRow
	WorkersNote string
	Memory      []MemoryRow
	MemoryNote  string
	Batches     []BatchRow
	BatchNote   string
}

// Row is one tool's result.
type Row struct {
	Tool, What string
	Tapflow    bool
	Command    string
	PPS        float64       // corpus packets / (median wall − fixed sleep)
	PPSCPU     float64       // corpus packets / CPU seconds (user+sys)
	Ratio      float64       // PPS / PPS of the reference tapflow row
	Wall       time.Duration // median
	CPU        time.Duration // user+sys of the median run
	RSS        int64         // peak resident set, bytes, max over runs
	Flows      int64         // flows the tool reported; -1 if it does not say
	FlowsNote  string
	Runs       []time.Duration
	// ServerCPU is the ClickHouse server's CPU time (user + system) during
	// the median run, for rows that write to it; 0 when not measured.
	ServerCPU time.Duration
	Note      string
	Err       string // why the row has no figures
}

// WorkersRow is tapflow's throughput with n flow-table workers.
type WorkersRow struct {
	Workers int
	CPUs    string
	PPS     float64
	RSS     int64
	Err     string
}

// MemoryRow is the flow table's heap with Flows active flows.
type MemoryRow struct {
	Flows     int
	HeapBytes int64 // heap in use by the table with Flows flows, over an empty heap
	Err       string
}

// BytesPerFlow is HeapBytes / Flows.
func (m MemoryRow) BytesPerFlow() float64 {
	if m.Flows == 0 {
		return 0
	}
	return float64(m.HeapBytes) / float64(m.Flows)
}

// BatchRow is tapflow's ClickHouse insert rate at one batch size.
type BatchRow struct {
	Batch      int
	RowsPerSec float64
	PPS        float64
	Err        string
}

// Machine describes where the figures were measured.
type Machine struct {
	CPUModel string
	Cores    int
	MemBytes int64
	Kernel   string
	Go       string
}

func (m Machine) String() string {
	return fmt.Sprintf("%s, %d cores, %s RAM, Linux %s, %s", m.CPUModel, m.Cores, formatBytes(m.MemBytes), m.Kernel, m.Go)
}

// ReadMachine reads the CPU model, core count, memory and kernel.
func ReadMachine() Machine {
	m := Machine{CPUModel: "unknown CPU", Cores: runtime.NumCPU(), Go: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				m.MemBytes = kb * 1024
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// setRatios divides every row's PPS by the first tapflow row that ran.
func (r *Report) setRatios() {
	var ref float64
	for _, row := range r.Rows {
		if row.Tapflow && row.PPS > 0 {
			ref = row.PPS
			break
		}
	}
	if ref == 0 {
		return
	}
	for i := range r.Rows {
		r.Rows[i].Ratio = r.Rows[i].PPS / ref
	}
}

// Reference returns the row the ratios are relative to, if any ran.
func (r *Report) Reference() (Row, bool) {
	for _, row := range r.Rows {
		if row.Tapflow && row.PPS > 0 {
			return row, true
		}
	}
	return Row{}, false
}

// Markdown renders the report as latest.md.
func (r *Report) Markdown() string {
	var b strings.Builder
	ref, ok := r.Reference()
	if !ok {
		ref.Tool = "tapflow (did not run)"
	}
	fmt.Fprintf(&b, "# tapflow offline benchmark\n\n")
	fmt.Fprintf(&b, "- date: %s\n", r.Date.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- machine: %s\n", r.Machine)
	fmt.Fprintf(&b, "- corpus: `%s`, %d packets, %d flows (distinct 5-tuples), %s, sha256 `%s`\n",
		filepath.Base(r.Corpus.Path), r.Corpus.Packets, r.Corpus.Flows, formatBytes(r.Corpus.Bytes), r.Corpus.SHA256)
	fmt.Fprintf(&b, "- method: every tool reads the same file, pinned with `taskset -c %s`; median wall time of %d runs, made round by round (each tool once a round); "+
		"packets/s = corpus packets / wall; peak RSS = largest resident set in the tool's process tree (wait4)\n", r.CPU, r.Runs)
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "- note: %s\n", n)
	}
	fmt.Fprintf(&b, "\n| tool | packets/s | ratio to %s | wall s (runs) | CPU s | packets/CPU-s | peak RSS | flows reported | notes |\n", mdEscape(ref.Tool))
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, row := range r.Rows {
		if row.Err != "" {
			fmt.Fprintf(&b, "| %s | — | — | — | — | — | — | — | %s |\n", mdEscape(row.Tool), mdEscape(row.Err))
			continue
		}
		runs := make([]string, len(row.Runs))
		for i, d := range row.Runs {
			runs[i] = fmt.Sprintf("%.2f", d.Seconds())
		}
		flows := "n/a"
		if row.Flows >= 0 {
			flows = strconv.FormatInt(row.Flows, 10)
		}
		notes := row.What
		if row.FlowsNote != "" {
			notes += "; flows: " + row.FlowsNote
		}
		if row.ServerCPU > 0 {
			notes += fmt.Sprintf("; ClickHouse server: %.1f CPU-s during the run", row.ServerCPU.Seconds())
		}
		if row.Note != "" {
			notes += "; " + row.Note
		}
		fmt.Fprintf(&b, "| %s | %s | %.2f× | %.2f (%s) | %.2f | %s | %s | %s | %s |\n", mdEscape(row.Tool), formatPPS(row.PPS), row.Ratio,
			row.Wall.Seconds(), strings.Join(runs, ", "), row.CPU.Seconds(), formatPPS(row.PPSCPU), formatBytes(row.RSS), flows, mdEscape(notes))
	}

	r.goalsMarkdown(&b)
	r.instrMarkdown(&b)

	b.WriteString("\n## Scaling: packets/s vs flow-table workers (`tapflow replay --print l4,l7 --workers N`: flows, L4 metrics and every L7 dissector)\n\n")
	if r.WorkersNote != "" {
		fmt.Fprintf(&b, "%s\n", r.WorkersNote)
	} else if len(r.Workers) > 0 {
		b.WriteString("| workers | taskset CPUs | packets/s | speed-up | peak RSS |\n|---:|---|---:|---:|---:|\n")
		base := r.Workers[0].PPS
		for _, w := range r.Workers {
			if w.Err != "" {
				fmt.Fprintf(&b, "| %d | %s | — | — | %s |\n", w.Workers, w.CPUs, mdEscape(w.Err))
				continue
			}
			sp := 0.0
			if base > 0 {
				sp = w.PPS / base
			}
			fmt.Fprintf(&b, "| %d | %s | %s | %.2f× | %s |\n", w.Workers, w.CPUs, formatPPS(w.PPS), sp, formatBytes(w.RSS))
		}
	} else {
		b.WriteString("not measured\n")
	}

	b.WriteString("\n## Scaling: flow-table memory vs active flows (`flowtable.Table` sized to N, filled with N flows)\n\n")
	if r.MemoryNote != "" {
		fmt.Fprintf(&b, "%s\n", mdEscape(r.MemoryNote))
	} else if len(r.Memory) > 0 {
		b.WriteString("| active flows | table heap | bytes per flow | goal |\n|---:|---:|---:|---|\n")
		for _, m := range r.Memory {
			if m.Err != "" {
				fmt.Fprintf(&b, "| %d | — | — | %s |\n", m.Flows, mdEscape(m.Err))
				continue
			}
			goal := "≤ 256 B: met"
			if m.BytesPerFlow() > GoalBytesPerFlow {
				goal = "≤ 256 B: NOT met"
			}
			fmt.Fprintf(&b, "| %d | %s | %.1f | %s |\n", m.Flows, formatBytes(m.HeapBytes), m.BytesPerFlow(), goal)
		}
	} else {
		b.WriteString("not measured\n")
	}

	b.WriteString("\n## Scaling: ClickHouse rows/s vs batch size (`tapflow replay --l7=false --clickhouse … --batch-size N`: l4_flow_log rows)\n\n")
	if r.BatchNote != "" {
		fmt.Fprintf(&b, "%s\n", r.BatchNote)
	} else if len(r.Batches) > 0 {
		b.WriteString("| batch size | rows/s | packets/s |\n|---:|---:|---:|\n")
		for _, br := range r.Batches {
			if br.Err != "" {
				fmt.Fprintf(&b, "| %d | — | %s |\n", br.Batch, mdEscape(br.Err))
				continue
			}
			fmt.Fprintf(&b, "| %d | %s | %s |\n", br.Batch, formatPPS(br.RowsPerSec), formatPPS(br.PPS))
		}
	} else {
		b.WriteString("not measured\n")
	}

	b.WriteString("\n## Commands\n\n")
	for _, row := range r.Rows {
		if row.Command != "" {
			fmt.Fprintf(&b, "- %s: `taskset -c %s %s`\n", row.Tool, r.CPU, row.Command)
		}
	}
	return b.String()
}

// instrMarkdown renders the instructions-per-packet table.
func (r *Report) instrMarkdown(b *strings.Builder) {
	b.WriteString("\n## Instructions per packet (user space, cachegrind)")
	switch {
	case r.InstrNote != "":
		fmt.Fprintf(b, "\n\n%s\n", mdEscape(r.InstrNote))
		return
	case len(r.Instr) == 0:
		b.WriteString("\n\nnot measured\n")
		return
	}
	fmt.Fprintf(b, ": the first %d corpus packets, one run each\n\n", r.InstrPackets)
	b.WriteString("The same commands under `valgrind --tool=cachegrind --cache-sim=no --trace-children=yes`, pinned as above. " +
		"An instruction count is repeatable, whatever else the machine runs, where wall and CPU times drift; " +
		"it leaves out the kernel's work (reading the file, system calls) and says nothing about cache misses, which the timed table carries.\n\n")
	ref := "the first tapflow row"
	if row, ok := r.instrReference(); ok {
		ref = row.Tool
	}
	fmt.Fprintf(b, "| tool | instructions/packet | relative to %s | instructions |\n|---|---:|---:|---:|\n", mdEscape(ref))
	for _, row := range r.Instr {
		if row.Err != "" {
			fmt.Fprintf(b, "| %s | — | — | %s |\n", mdEscape(row.Tool), mdEscape(row.Err))
			continue
		}
		fmt.Fprintf(b, "| %s | %.0f | %.2f× | %d |\n", mdEscape(row.Tool), row.PerPacket, row.Ratio, row.Instructions)
	}
}

// Write writes latest.md and latest.png into dir.
func (r *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "latest.md"), []byte(r.Markdown()), 0o644); err != nil {
		return err
	}
	var bars []bar
	for _, row := range r.Rows {
		if row.PPS > 0 {
			bars = append(bars, bar{label: row.Tool, value: row.PPS, highlight: row.Tapflow})
		}
	}
	title := fmt.Sprintf("packets/s on one core, %d-packet corpus, %s", r.Corpus.Packets, r.Date.Format("2006-01-02"))
	sub := fmt.Sprintf("%s, %d cores; taskset -c %s; median of %d runs; corpus sha256 %.12s", r.Machine.CPUModel, r.Machine.Cores, r.CPU, r.Runs, r.Corpus.SHA256)
	return writeChart(filepath.Join(dir, "latest.png"), title, sub, bars)
}

func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// formatPPS prints a rate with an M/k suffix.
func formatPPS(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f M", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0f k", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// The goals of the benchmark (bench/README.md): tapflow with every L7
// dissector at GoalPPS or more on one core, ahead of softflowd, in at most
// GoalBytesPerFlow of flow table per active flow.
const (
	GoalPPS          = 3e6
	GoalBytesPerFlow = 256
	goalRow          = "tapflow L4+L7 → /dev/null"
	goalPeer         = "softflowd"
)

// goalsMarkdown says, from this run's rows, whether each goal was met.
func (r *Report) goalsMarkdown(b *strings.Builder) {
	b.WriteString("\n## Goals, from this run\n\n")
	row, ok := r.row(goalRow)
	if !ok {
		fmt.Fprintf(b, "- %s did not run: the packets/s goals are not measured\n", goalRow)
	} else {
		fmt.Fprintf(b, "- %s ≥ %s packets/s on one core: %s, %s\n", goalRow, formatPPS(GoalPPS), formatPPS(row.PPS), metOrNot(row.PPS >= GoalPPS))
		if peer, ok := r.row(goalPeer); ok && peer.PPS > 0 {
			fmt.Fprintf(b, "- ahead of %s: %s against %s (%.2f×), %s\n", goalPeer, formatPPS(row.PPS), formatPPS(peer.PPS), row.PPS/peer.PPS, metOrNot(row.PPS > peer.PPS))
		} else {
			fmt.Fprintf(b, "- ahead of %s: not measured (%s did not run)\n", goalPeer, goalPeer)
		}
	}
	worst := 0.0
	for _, m := range r.Memory {
		if m.Err == "" {
			worst = max(worst, m.BytesPerFlow())
		}
	}
	if worst == 0 {
		b.WriteString("- flow table ≤ 256 B per active flow: not measured\n")
	} else {
		fmt.Fprintf(b, "- flow table ≤ %d B per active flow: at most %.1f B over the sizes below, %s\n", GoalBytesPerFlow, worst, metOrNot(worst <= GoalBytesPerFlow))
	}
}

// row returns the row of the named tool if it has figures.
func (r *Report) row(tool string) (Row, bool) {
	for _, row := range r.Rows {
		if row.Tool == tool && row.Err == "" && row.PPS > 0 {
			return row, true
		}
	}
	return Row{}, false
}

func metOrNot(met bool) string {
	if met {
		return "met"
	}
	return "**NOT met**"
}
