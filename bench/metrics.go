package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
)

// promText is a parsed Prometheus text exposition: series → value.
type promText map[string]float64

// scrape fetches tapflow's /metrics inside the receiver namespace (with
// curl, since the listener is only reachable from there).
func scrape() (promText, error) {
	out, err := exec.Command("ip", "netns", "exec", nsRx, "curl", "-sf", "--max-time", "2", "http://"+rxHTTP+"/metrics").Output()
	if err != nil {
		return nil, fmt.Errorf("scrape /metrics: %w", err)
	}
	return parseProm(out), nil
}

// parseProm reads `name{labels} value` lines, skipping comments.
func parseProm(b []byte) promText {
	m := promText{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		m[line[:i]] = v
	}
	return m
}

// metricName is the series' name without its labels.
func metricName(series string) string {
	if i := strings.IndexByte(series, '{'); i >= 0 {
		return series[:i]
	}
	return series
}

// sum adds every series of metric name; ok is false if there is none.
func (p promText) sum(name string) (float64, bool) {
	return p.sumMatch(func(n string) bool { return n == name })
}

// sumMatch adds every series whose metric name matches.
func (p promText) sumMatch(match func(name string) bool) (float64, bool) {
	var s float64
	var ok bool
	for series, v := range p {
		if match(metricName(series)) {
			s += v
			ok = true
		}
	}
	return s, ok
}

// lockedBuffer is a bytes.Buffer written by a child process and read while
// it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
