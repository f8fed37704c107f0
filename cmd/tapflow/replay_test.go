package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/flowtable"
)

func testFlows(n int) []flowtable.FlowRecord {
	t0 := time.Date(2024, 2, 29, 23, 59, 58, 123456000, time.UTC)
	recs := make([]flowtable.FlowRecord, n)
	for i := range recs {
		recs[i] = flowtable.FlowRecord{
			FlowID: uint64(i), Proto: 6, StartTime: t0.Add(time.Duration(i) * time.Millisecond),
			EndTime:  t0.Add(time.Duration(i) * time.Second),
			ClientIP: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), ServerIP: netip.MustParseAddr("2001:db8::1"),
			ClientPort: uint16(i), ServerPort: 443, PacketsTx: uint64(i * i), BytesTx: uint64(i) << 20,
		}
	}
	return recs
}

func testLogs(n int) []dissectors.Log {
	logs := make([]dissectors.Log, n)
	for i := range logs {
		l := &logs[i]
		l.FlowID, l.Type, l.StartTime, l.EndTime = uint64(i), dissectors.LogSession, 1_700_000_000_000_000+int64(i)*999, 1_700_000_000_000_000+int64(i)*1999
		l.ClientIP, l.ServerIP, l.Protocol = netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), netip.AddrFrom4([4]byte{10, 0, 1, 1}), dissectors.ProtoHTTP1
		l.SetString(&l.RequestResource, strings.Repeat("/\xff\"", i%200)) // up to 1200 bytes escaped
	}
	return logs
}

func wantLines[T any, P interface {
	*T
	AppendJSON([]byte) []byte
}](recs []T) string {
	var b []byte
	for i := range recs {
		b = append(P(&recs[i]).AppendJSON(b), '\n')
	}
	return string(b)
}

// TestJSONSink checks that the sink prints exactly each record's
// AppendJSON line, whether it formats the line in the writer's buffer or
// copies it there (near the end of the buffer, and for a line longer than
// the whole buffer).
func TestJSONSink(t *testing.T) {
	flows, logs := testFlows(3000), testLogs(3000)
	huge := testFlows(1)
	huge[0].ServerIP = netip.MustParseAddr("fe80::1%" + strings.Repeat("z", 100_000))

	var out bytes.Buffer
	s := newJSONSink(&out, true, true)
	var want strings.Builder
	for i := 0; i < len(flows); {
		n := min(1+i%37, len(flows)-i)
		s.WriteFlows(flows[i : i+n])
		want.WriteString(wantLines(flows[i : i+n]))
		s.WriteL7(logs[i : i+n])
		want.WriteString(wantLines(logs[i : i+n]))
		if i%1000 == 0 {
			s.WriteFlows(huge)
			want.WriteString(wantLines(huge))
		}
		i += n
	}
	require.NoError(t, s.Close())
	require.Greater(t, out.Len(), 3<<20)
	require.True(t, out.String() == want.String(), "the sink prints what AppendJSON gives")

	// --print l4 alone prints no l7 rows, and the other way round.
	out.Reset()
	s = newJSONSink(&out, true, false)
	s.WriteFlows(flows[:2])
	s.WriteL7(logs[:2])
	require.NoError(t, s.Close())
	require.Equal(t, wantLines(flows[:2]), out.String())
}

// TestJSONSinkConcurrent writes from several goroutines: every line comes
// out whole.
func TestJSONSinkConcurrent(t *testing.T) {
	flows, logs := testFlows(2000), testLogs(2000)
	var out bytes.Buffer
	s := newJSONSink(&out, true, true)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := g * 500; i < (g+1)*500; i += 10 {
				s.WriteFlows(flows[i : i+10])
				s.WriteL7(logs[i : i+10])
			}
		})
	}
	wg.Wait()
	require.NoError(t, s.Close())
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	want := strings.Split(strings.TrimSuffix(wantLines(flows)+wantLines(logs), "\n"), "\n")
	slices.Sort(got)
	slices.Sort(want)
	require.Equal(t, want, got)
	require.True(t, json.Valid([]byte(got[0])))
}

func TestJSONSinkAllocs(t *testing.T) {
	flows, logs := testFlows(100), testLogs(100)
	s := newJSONSink(io.Discard, true, true)
	n := testing.AllocsPerRun(100, func() {
		s.WriteFlows(flows)
		s.WriteL7(logs)
	})
	require.Zero(t, n)
}

// BenchmarkJSONSink measures printing flow reports and l7 rows, per line.
func BenchmarkJSONSink(b *testing.B) {
	flows, logs := testFlows(256), testLogs(256)
	for i := range logs {
		logs[i].Reset()
		logs[i].SetString(&logs[i].RequestResource, "/index.html")
	}
	s := newJSONSink(io.Discard, true, true)
	b.ReportAllocs()
	for b.Loop() {
		s.WriteFlows(flows)
		s.WriteL7(logs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*512), "ns/line")
}

// TestReplayProfiles replays the demo capture with --cpuprofile and
// --memprofile and checks both files are gzipped pprof profiles that name
// the pipeline's code.
func TestReplayProfiles(t *testing.T) {
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "mem.prof")
	cmd := newReplayCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs([]string{"../../deploy/demo/demo.pcap", "--print", "l4", "--cpuprofile", cpu, "--memprofile", mem})
	require.NoError(t, cmd.Execute(), errOut.String())
	require.NotZero(t, out.Len(), "flows printed")
	require.NotEmpty(t, gunzip(t, cpu), "the CPU profile")
	require.Contains(t, string(gunzip(t, mem)), "flowtable", "the heap profile's symbols name the flow table's allocations")
}

// gunzip returns the contents of the gzipped file at path (pprof writes
// its profiles gzipped).
func gunzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	b, err := io.ReadAll(zr)
	require.NoError(t, err)
	return b
}
