package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/ndpi-mismatches.txt")

// replayTimeout bounds one `tapflow replay`; a hang fails that capture.
const replayTimeout = 60 * time.Second

var (
	repoRoot string // absolute path of the module root (..)
	binPath  string // the tapflow binary built by TestMain, "" if none
	// binMissing is set when cmd/tapflow has no Go files yet; binErr when
	// building failed for any other reason.
	binMissing string
	binErr     error
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: resolving repository root:", err)
		return 2
	}
	repoRoot = root
	tmp, err := os.MkdirTemp("", "tapflow-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 2
	}
	defer os.RemoveAll(tmp)
	buildBinary(tmp)
	return m.Run()
}

// buildBinary builds ./cmd/tapflow once for all tests. TAPFLOW_BIN names a
// prebuilt binary to test instead, such as a release build.
func buildBinary(dir string) {
	if bin := os.Getenv("TAPFLOW_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			binErr = fmt.Errorf("TAPFLOW_BIN: %w", err)
		}
		binPath = bin
		return
	}
	if _, err := os.Stat(filepath.Join(repoRoot, "go.mod")); err != nil {
		binErr = fmt.Errorf("no go.mod in %s: %w", repoRoot, err)
		return
	}
	gofiles, _ := filepath.Glob(filepath.Join(repoRoot, "cmd", "tapflow", "*.go"))
	if len(gofiles) == 0 {
		binMissing = "cmd/tapflow has no Go files yet"
		return
	}
	out := filepath.Join(dir, "tapflow")
	cmd := exec.Command("go", "build", "-pgo=off", "-o", out, "./cmd/tapflow")
	cmd.Dir = repoRoot
	if msg, err := cmd.CombinedOutput(); err != nil {
		binErr = fmt.Errorf("go build ./cmd/tapflow: %w\n%s", err, msg)
		return
	}
	binPath = out
}

// inCI reports whether the CI environment variable is set: there a missing
// dependency fails instead of skipping.
func inCI() bool { return os.Getenv("CI") != "" }

// skipOrFail skips loudly locally and fails in CI.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if inCI() {
		t.Fatalf("%s (CI is set, so this fails instead of skipping)", msg)
	}
	fmt.Printf("SKIP %s: %s\n", t.Name(), msg)
	t.Skipf("SKIPPED LOUDLY: %s (this fails when CI is set)", msg)
}

// requireBinary returns the path of the tapflow binary built by TestMain.
func requireBinary(t *testing.T) string {
	t.Helper()
	switch {
	case binErr != nil:
		t.Fatalf("building tapflow: %v", binErr)
	case binMissing != "":
		skipOrFail(t, "%s", binMissing)
	}
	return binPath
}

// requireCorpus returns the absolute path of shared/pcaps/<name>. The shared
// folder sits beside the repository (../shared from the repo root) on
// developer machines and in CI; TAPFLOW_PCAPS may name the pcaps folder
// instead.
func requireCorpus(t *testing.T, name string) string {
	t.Helper()
	var candidates []string
	if dir := os.Getenv("TAPFLOW_PCAPS"); dir != "" {
		candidates = append(candidates, filepath.Join(dir, name))
	}
	for dir := repoRoot; ; {
		candidates = append(candidates, filepath.Join(dir, "shared", "pcaps", name))
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	for _, c := range candidates {
		if fi, err := os.Stat(c); err == nil && fi.IsDir() {
			return c
		}
	}
	skipOrFail(t, "capture corpus %q not found; looked in %s", name, strings.Join(candidates, ", "))
	return ""
}

// replayResult is what one `tapflow replay FILE --print l4` did.
type replayResult struct {
	Stdout, Stderr []byte
	ExitCode       int // -1 if the process did not exit normally
	TimedOut       bool
	Err            error // set when the process could not run or was killed
	Elapsed        time.Duration
}

// replay runs the binary on one file with replayTimeout.
func replay(bin, file string) replayResult {
	ctx, cancel := context.WithTimeout(context.Background(), replayTimeout)
	defer cancel()
	// nDPI counts every copy of a duplicated packet; compare like with like.
	cmd := exec.CommandContext(ctx, bin, "replay", file, "--print", "l4,l7", "--dedup=false")
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := replayResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), Elapsed: time.Since(start)}
	var exitErr *exec.ExitError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		r.TimedOut, r.ExitCode, r.Err = true, -1, fmt.Errorf("timed out after %v", replayTimeout)
	case err == nil:
		r.ExitCode = 0
	case errors.As(err, &exitErr):
		r.ExitCode = exitErr.ExitCode()
		if r.ExitCode < 0 {
			r.Err = err // killed by a signal
		}
	default:
		r.ExitCode, r.Err = -1, err
	}
	return r
}

// crashed reports why a replay counts as a crash, or "" if it exited cleanly
// with 0 or 1 and no Go panic or runtime trace on stderr.
func (r replayResult) crashed() string {
	switch {
	case r.TimedOut:
		return fmt.Sprintf("hung: no exit within %v", replayTimeout)
	case r.Err != nil:
		return fmt.Sprintf("did not exit normally: %v", r.Err)
	case bytes.Contains(r.Stderr, []byte("panic:")):
		return "panic on stderr"
	case bytes.Contains(r.Stderr, []byte("goroutine ")):
		return "goroutine trace on stderr"
	case r.ExitCode != 0 && r.ExitCode != 1:
		return fmt.Sprintf("exit code %d, want 0 or 1", r.ExitCode)
	}
	return ""
}

// stderrHead returns the first few lines of stderr for messages.
func (r replayResult) stderrHead() string {
	s := strings.TrimSpace(string(r.Stderr))
	lines := strings.SplitN(s, "\n", 6)
	if len(lines) > 5 {
		lines = append(lines[:5], "…")
	}
	return strings.Join(lines, "\n")
}

// stderrLines returns the non-empty lines of stderr.
func (r replayResult) stderrLines() []string {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(r.Stderr))
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			lines = append(lines, sc.Text())
		}
	}
	return lines
}

// forEach calls fn(i) for i in [0, n) on runtime.NumCPU() goroutines.
func forEach(n int, fn func(i int)) {
	workers := min(runtime.NumCPU(), n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
