package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Counting instructions.
//
// Wall and CPU times on a shared virtual machine drift by a third from one
// minute to the next (bench/README.md), more than most changes to tapflow
// move them. The number of instructions a tool executes on a given input
// does not drift: cachegrind counts them in user space, the same for the
// same binary and input whatever the neighbours do. So every tool is also
// run once under cachegrind over the first InstrPackets packets of the
// corpus, and the table prints instructions per packet side by side. It
// says nothing about cache misses or the kernel's share (reading the file,
// system calls), which the timed table carries; it makes the ratios
// between tools, and between two builds of tapflow, repeatable.

// InstrRow is one tool's user-space instruction count over the slice.
type InstrRow struct {
	Tool         string
	Tapflow      bool
	Instructions int64   // summed over every process of the run
	PerPacket    float64 // Instructions / slice packets
	Ratio        float64 // PerPacket / PerPacket of the reference tapflow row
	Err          string  // why the row has no figures
}

// reIRefs is cachegrind's summary line, one per process.
var reIRefs = regexp.MustCompile(`(?m)^==\d+== I\s+refs:\s+([\d,]+)`)

// reVgError is valgrind's first error line.
var reVgError = regexp.MustCompile(`(?m)^==\d+== (error: .*)$`)

// haveValgrind reports whether cachegrind can run.
func haveValgrind() bool {
	_, err := exec.LookPath("valgrind")
	return err == nil
}

// instructions fills rep.Instr: each tool of trs that ran without error is
// run once more, under cachegrind, over the first packets of the corpus.
func instructions(ctx context.Context, env *Env, trs []*toolRuns, packets int, work string, rep *Report, progress io.Writer) error {
	if !haveValgrind() {
		rep.InstrNote = fmt.Sprintf("valgrind %v (make bench installs it: scripts/deps.sh bench)", errNotInstalled)
		return nil
	}
	dir := filepath.Join(work, "instr")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	slice := filepath.Join(dir, "slice.pcap")
	n, _, err := writeSlice(env.Corpus, slice, packets, 1<<30)
	defer os.Remove(slice)
	if err != nil {
		rep.InstrNote = fmt.Sprintf("corpus slice: %v", err)
		return nil
	}
	if n == 0 {
		rep.InstrNote = "the corpus has no packets"
		return nil
	}
	rep.InstrPackets = n
	senv := *env
	senv.Corpus = slice
	for i, tr := range trs {
		row := InstrRow{Tool: tr.row.Tool, Tapflow: tr.t.Tapflow}
		switch {
		case tr.row.Err != "":
			continue // the timed table says why
		case tr.t.InstrSkip != "":
			row.Err = tr.t.InstrSkip
		default:
			row.Instructions, err = countInstructions(ctx, &senv, tr.t, tr.cpus, filepath.Join(dir, fmt.Sprintf("tool%02d", i)))
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil {
				row.Err = err.Error()
			} else {
				row.PerPacket = float64(row.Instructions) / float64(n)
			}
		}
		if row.Err != "" {
			fmt.Fprintf(progress, "%-28s instructions: %s\n", row.Tool, row.Err)
		} else {
			fmt.Fprintf(progress, "%-28s instructions: %.0f a packet\n", row.Tool, row.PerPacket)
		}
		rep.Instr = append(rep.Instr, row)
	}
	if ref, ok := rep.instrReference(); ok {
		for i := range rep.Instr {
			rep.Instr[i].Ratio = rep.Instr[i].PerPacket / ref.PerPacket
		}
	}
	return nil
}

// instrReference returns the row the instruction ratios are relative to,
// the first tapflow row counted, as Reference does for the timed table.
func (r *Report) instrReference() (InstrRow, bool) {
	for _, row := range r.Instr {
		if row.Tapflow && row.PerPacket > 0 {
			return row, true
		}
	}
	return InstrRow{}, false
}

// countInstructions runs t once under cachegrind (following forks and
// execs) and returns the instructions of all its processes. It is pinned
// to cpus as the timed runs are: the Go runtime sizes itself to the CPUs it
// may use, and with a second one its idle-time GC workers add instructions
// that vary from run to run (once 1.7× a pinned run's). The tool's own
// check of its output (Prepare's done) must pass, so a run that failed
// quietly does not count.
func countInstructions(ctx context.Context, env *Env, t Tool, cpus, dir string) (int64, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	inv, done, err := t.Prepare(env, dir)
	if err != nil {
		return 0, err
	}
	inv.args = append([]string{"valgrind", "--tool=cachegrind", "--cache-sim=no", "--trace-children=yes",
		// Only the summary on stderr is read. tcpdump drops root for
		// its own user before it exits, when cachegrind writes its file,
		// and cachegrind counts nothing when it cannot: /dev/null
		// takes anyone's.
		"--cachegrind-out-file=/dev/null"}, inv.args...)
	rctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	m, err := measure(rctx, inv, cpus)
	if err == nil && done != nil {
		_, _, err = done(m)
	}
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	return sumIRefs(m.stderr)
}

// sumIRefs adds up cachegrind's "I refs" summaries in out.
func sumIRefs(out []byte) (int64, error) {
	var total int64
	ms := reIRefs.FindAllSubmatch(out, -1)
	for _, m := range ms {
		v, err := strconv.ParseInt(strings.ReplaceAll(string(m[1]), ",", ""), 10, 64)
		if err != nil {
			return 0, err
		}
		total += v
	}
	if len(ms) == 0 || total == 0 {
		why := tail(out)
		if m := reVgError.FindSubmatch(out); m != nil {
			why = string(m[1])
		}
		return 0, fmt.Errorf("cachegrind counted nothing: %s", why)
	}
	return total, nil
}
