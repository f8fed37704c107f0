package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tapflow/tapflow/dataplane"
)

// A replay of a large capture into ClickHouse runs for minutes with nothing
// to show; the progress line says how far it is and how long is left.

// progressSource is what the progress line reads: the capture file's bytes
// read and size (0 for a pipe), and the pipeline's counters. Both are safe
// to call while the replay runs.
type progressSource struct {
	file  func() (read, size int64)
	stats func() dataplane.Stats
}

// startProgress writes src's progress to w every interval until the
// returned stop is called, which writes the final figures. On a terminal
// (tty) it rewrites one line in place; elsewhere it writes a line each time.
func startProgress(w io.Writer, tty bool, src progressSource, interval time.Duration) (stop func()) {
	start := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	width := 0 // of the line on screen, to blank what a shorter one leaves
	show := func(final bool) {
		read, size := src.file()
		s := src.stats()
		line := formatProgress(read, size, s.Received, s.Flows.Created, time.Since(start), final)
		switch {
		case !tty:
			fmt.Fprintln(w, line)
		case final:
			fmt.Fprintf(w, "\r%-*s\n", width, line)
		default:
			fmt.Fprintf(w, "\r%-*s", width, line)
			width = max(width, len(line))
		}
	}
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				show(false)
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		show(true)
	}
}

// formatProgress is one progress line: how much of the file is read, the
// packets and flows so far, the packet rate and, while a file of known size
// is being read, the time left at the rate so far.
func formatProgress(read, size int64, packets, flows uint64, elapsed time.Duration, final bool) string {
	var b strings.Builder
	b.WriteString("replay: ")
	if size > 0 {
		fmt.Fprintf(&b, "%d%% (%s of %s)", min(100, read*100/size), formatSize(read), formatSize(size))
	} else {
		fmt.Fprintf(&b, "%s read", formatSize(read))
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(packets) / s
	}
	fmt.Fprintf(&b, ", %s packets (%s/s), %s flows", formatCount(float64(packets)), formatCount(rate), formatCount(float64(flows)))
	switch {
	case final:
		fmt.Fprintf(&b, ", %s", elapsed.Round(time.Millisecond))
	case size > 0 && read > 0 && read < size:
		left := max(time.Second, time.Duration(float64(elapsed)*float64(size-read)/float64(read)))
		fmt.Fprintf(&b, ", about %s left", left.Round(time.Second))
	}
	return b.String()
}

func formatSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func formatCount(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f M", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1f k", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
