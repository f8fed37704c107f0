package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// measurement is what one run of one process tree cost.
type measurement struct {
	wall   time.Duration
	cpu    time.Duration // user + system of the process and its reaped children
	maxRSS int64         // bytes: the largest resident set of any process in the tree
	stdout []byte        // captured output (nil when stdout went to /dev/null)
	stderr []byte
}

// invocation is one command to measure.
type invocation struct {
	args []string // argv; args[0] is looked up in $PATH
	// devNullStdout sends stdout to /dev/null instead of capturing it (for
	// tools whose output is the flow records themselves).
	devNullStdout bool
	dir           string // working directory and home of the output files
}

// measure runs inv pinned to cpus with taskset (when cpus and taskset are
// present) and returns its wall time and rusage from wait4. A non-zero exit
// is an error that carries the tail of stderr.
func measure(ctx context.Context, inv invocation, cpus string) (measurement, error) {
	argv := inv.args
	if cpus != "" {
		argv = append([]string{"taskset", "-c", cpus}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = inv.dir
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	outPath := filepath.Join(inv.dir, "stdout")
	errPath := filepath.Join(inv.dir, "stderr")
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	open := func(p string) (*os.File, error) {
		f, err := os.Create(p)
		if err == nil {
			files = append(files, f)
		}
		return f, err
	}
	var err error
	if inv.devNullStdout {
		if cmd.Stdout, err = open(os.DevNull); err != nil {
			return measurement{}, err
		}
	} else if cmd.Stdout, err = open(outPath); err != nil {
		return measurement{}, err
	}
	if cmd.Stderr, err = open(errPath); err != nil {
		return measurement{}, err
	}
	start := time.Now()
	runErr := cmd.Run()
	m := measurement{wall: time.Since(start)}
	if st := cmd.ProcessState; st != nil {
		if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
			m.maxRSS = ru.Maxrss * 1024
			m.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	if !inv.devNullStdout {
		m.stdout, _ = os.ReadFile(outPath)
	}
	m.stderr, _ = os.ReadFile(errPath)
	if runErr != nil {
		return m, fmt.Errorf("%s: %w: %s", filepath.Base(inv.args[0]), runErr, tail(m.stderr, m.stdout))
	}
	return m, nil
}

// tail returns the last meaningful line of the first non-empty output.
func tail(outs ...[]byte) string {
	for _, b := range outs {
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		for i := len(lines) - 1; i >= 0; i-- {
			if l := strings.TrimSpace(lines[i]); l != "" {
				return l
			}
		}
	}
	return "no output"
}

// median returns the index of the run with the median wall time (the lower
// middle one for an even count).
func median(ms []measurement) int {
	idx := make([]int, len(ms))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return int(ms[a].wall - ms[b].wall) })
	return idx[(len(idx)-1)/2]
}

// haveTaskset reports whether CPU pinning is available.
func haveTaskset() bool {
	_, err := exec.LookPath("taskset")
	return err == nil
}

// errNotInstalled marks a peer tool that is not on this machine.
var errNotInstalled = errors.New("not installed")

// userHZ is the unit of the CPU times in /proc/PID/stat: USER_HZ, 100 on
// every Linux architecture Go supports (the kernel scales to it whatever
// its own tick).
const userHZ = 100

// ProcessCPU returns the CPU time (user + system, all threads) that process
// pid has used so far, from /proc/PID/stat.
func ProcessCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// parseStatCPU reads utime and stime (fields 14 and 15) from the contents
// of /proc/PID/stat. The command name (field 2) is in parentheses and may
// hold spaces and parentheses itself, so fields are counted after its last
// ')'.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc stat: no command name in %q", stat)
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc stat: %d fields after the command name, want at least 13", len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc stat: cpu time %q: %w", s, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}
