package dataplane

import (
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"testing"

	"github.com/tapflow/tapflow/flowtable"
)

// memSource replays frames held in memory, shifting timestamps on every lap
// so the flow tables see time move forward as on a live port.
type memSource struct {
	frames [][]byte
	infos  []FrameInfo
	i, n   int
	lap    int64
	span   int64
}

func (s *memSource) ReadFrame() ([]byte, FrameInfo, error) {
	if s.n == 0 {
		return nil, FrameInfo{}, io.EOF
	}
	s.n--
	if s.i == len(s.frames) {
		s.i = 0
		s.lap++
	}
	ci := s.infos[s.i]
	ci.Timestamp += s.lap * s.span
	f := s.frames[s.i]
	s.i++
	return f, ci, nil
}

func (s *memSource) Close() error { return nil }

func loadFrames(tb testing.TB, path string) *memSource {
	tb.Helper()
	if _, err := os.Stat(path); err != nil {
		tb.Skipf("capture %s not available: %v", path, err)
	}
	f, err := OpenPcap(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	s := &memSource{}
	for {
		data, ci, err := f.ReadFrame()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				tb.Logf("%s: %v", path, err)
			}
			break
		}
		s.frames = append(s.frames, append([]byte(nil), data...))
		s.infos = append(s.infos, ci)
	}
	if len(s.infos) > 1 {
		s.span = s.infos[len(s.infos)-1].Timestamp - s.infos[0].Timestamp + 1_000_000
	}
	return s
}

type discardSink struct{ n int }

func (d *discardSink) WriteFlows(recs []flowtable.FlowRecord) { d.n += len(recs) }

// BenchmarkPipeline measures decode → flow update on one core over a real
// capture held in memory. It reports packets/s and must show 0 allocs/op.
func BenchmarkPipeline(b *testing.B) {
	for _, name := range []string{"1kxun.pcap", "443-chrome.pcap"} {
		b.Run("capture="+name, func(b *testing.B) {
			src := loadFrames(b, "../../shared/pcaps/ndpi/"+name)
			cfg := DefaultConfig()
			cfg.Workers = 1
			cfg.Flow.Capacity = 1 << 16
			p, err := New(cfg, &discardSink{}, nil)
			if err != nil {
				b.Fatal(err)
			}
			// Warm the table so steady state, not first-touch growth, is measured.
			src.n = len(src.frames)
			for {
				data, ci, err := src.ReadFrame()
				if err != nil {
					break
				}
				p.handle(data, ci)
			}
			b.ReportAllocs()
			b.ResetTimer()
			var bytes int64
			for b.Loop() {
				src.n = 1
				data, ci, _ := src.ReadFrame()
				bytes += int64(len(data))
				p.handle(data, ci)
			}
			b.SetBytes(bytes / int64(max(b.N, 1)))
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}

// TestPipelineAllocs proves the per-packet path allocates nothing.
func TestPipelineAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	src := loadFrames(t, "../../shared/pcaps/ndpi/1kxun.pcap")
	cfg := DefaultConfig()
	cfg.Workers = 1
	cfg.Flow.Capacity = 1 << 16
	p, err := New(cfg, &discardSink{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	src.n = 4 * len(src.frames)
	for range len(src.frames) {
		data, ci, _ := src.ReadFrame()
		p.handle(data, ci)
	}
	// testing.AllocsPerRun rounds down, which would hide an allocation made
	// once per batch of 256 packets; count every malloc over all packets.
	// The count is the process's: the runtime's own goroutines (the
	// scavenger's timer) allocate now and then, so the best of three
	// passes must be zero. An allocation of the packet path recurs in
	// every pass.
	n := len(src.frames)
	var allocs uint64
	for range 3 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range n {
			data, ci, _ := src.ReadFrame()
			p.handle(data, ci)
		}
		runtime.ReadMemStats(&after)
		if allocs = after.Mallocs - before.Mallocs; allocs == 0 {
			break
		}
	}
	if allocs != 0 {
		t.Fatalf("decode → flow update allocated %d times over %d packets, want 0", allocs, n)
	}
	_ = p.Run(context.Background(), &memSource{})
}
