package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dataplane"
	"github.com/tapflow/tapflow/flowtable"
	"github.com/tapflow/tapflow/internal/testserver"
)

func TestFormatProgress(t *testing.T) {
	for _, c := range []struct {
		read, size     int64
		packets, flows uint64
		elapsed        time.Duration
		final          bool
		want           string
	}{
		{512 << 20, 2 << 30, 1_500_000, 120_000, 2 * time.Second, false,
			"replay: 25% (512.0 MiB of 2.00 GiB), 1.50 M packets (750.0 k/s), 120.0 k flows, about 6s left"},
		{2 << 30, 2 << 30, 6_000_000, 500_000, 4500 * time.Millisecond, true,
			"replay: 100% (2.00 GiB of 2.00 GiB), 6.00 M packets (1.33 M/s), 500.0 k flows, 4.5s"},
		{1 << 20, 0, 900, 12, time.Second, false, // a pipe: no size, no time left
			"replay: 1.0 MiB read, 900 packets (900/s), 12 flows"},
		{24, 1000, 0, 0, 0, false, // the first tick can come before a packet
			"replay: 2% (24 B of 1000 B), 0 packets (0/s), 0 flows, about 1s left"},
		{999, 1000, 10, 1, time.Millisecond, false, // never "0s left" while reading
			"replay: 99% (999 B of 1000 B), 10 packets (10.0 k/s), 1 flows, about 1s left"},
	} {
		require.Equal(t, c.want, formatProgress(c.read, c.size, c.packets, c.flows, c.elapsed, c.final))
	}
}

// TestProgressLines: off a terminal every tick is a line of its own; on
// one each tick rewrites the line (\r, padded over a longer one) and stop
// ends it with a newline; stop writes the final figures either way.
func TestProgressLines(t *testing.T) {
	var read atomic.Int64
	src := progressSource{
		file: func() (int64, int64) { return read.Load(), 1000 },
		stats: func() dataplane.Stats {
			return dataplane.Stats{Received: uint64(read.Load()), Flows: flowtable.Stats{Created: 3}}
		},
	}
	for _, tty := range []bool{false, true} {
		var out testserver.SyncBuffer
		read.Store(0)
		stop := startProgress(&out, tty, src, 5*time.Millisecond)
		for _, r := range []int64{100, 500, 999} {
			read.Store(r)
			n := strings.Count(out.String(), "replay:")
			require.Eventually(t, func() bool { return strings.Count(out.String(), "replay:") > n }, 5*time.Second, time.Millisecond)
		}
		read.Store(1000)
		stop()
		s := out.String()
		after := strings.Count(s, "replay:")
		time.Sleep(20 * time.Millisecond)
		require.Equal(t, after, strings.Count(out.String(), "replay:"), "a line after stop")
		require.Regexp(t, `replay: 100% \(1000 B of 1000 B\), 1\.0 k packets \([0-9.]+ k/s\), 3 flows, [0-9.]+m?s *\n$`, s)
		if tty {
			require.NotContains(t, strings.TrimSuffix(s, "\n"), "\n", "a terminal gets one line, rewritten")
			require.True(t, strings.HasPrefix(s, "\r"))
		} else {
			require.NotContains(t, s, "\r")
			require.Equal(t, after, strings.Count(s, "\n"), "one line per tick")
		}
	}
}

// TestReplayProgress replays the demo capture with --progress: the last
// line on stderr gives the whole file and the replay's flows, and without
// the flag (stderr not a terminal) there is none.
func TestReplayProgress(t *testing.T) {
	const demo = "../../deploy/demo/demo.pcap"
	fi, err := os.Stat(demo)
	require.NoError(t, err)
	for _, on := range []bool{true, false} {
		cmd := newReplayCmd()
		var out, errOut bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&errOut)
		args := []string{demo, "--print", "l4", "--stats"}
		if on {
			args = append(args, "--progress")
		}
		cmd.SetArgs(args)
		require.NoError(t, cmd.Execute(), errOut.String())
		if !on {
			require.NotContains(t, errOut.String(), "replay:")
			continue
		}
		flows := regexp.MustCompile(`flows (\d+),`).FindStringSubmatch(errOut.String())
		require.NotNil(t, flows, errOut.String())
		whole := regexp.QuoteMeta(formatSize(fi.Size()))
		require.Regexp(t, `replay: 100% \(`+whole+` of `+whole+`\), 1\.7 k packets \(.*\), `+flows[1]+` flows, `, errOut.String())
	}
}
