package flowmem

import (
	"fmt"
	"testing"
)

// TestMeasure checks that the measurement sees every flow and a plausible
// size; the ≤ 256 B goal is reported by make bench, not asserted here.
func TestMeasure(t *testing.T) {
	row, err := Measure(10_000)
	if err != nil {
		t.Fatal(err)
	}
	if row.HeapBytes <= 0 {
		t.Fatalf("heap grew by %d bytes for 10000 flows", row.HeapBytes)
	}
	t.Logf("%d flows: %d bytes, %.1f B/flow", row.Flows, row.HeapBytes, row.BytesPerFlow())
}

// BenchmarkTableMemory reports heap bytes per active flow for the sizes of
// the memory-vs-active-flows table; `make bench` runs it and prints its
// metrics as a table.
func BenchmarkTableMemory(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000, 4_000_000} {
		b.Run(fmt.Sprintf("flows=%d", n), func(b *testing.B) {
			var heap int64
			for b.Loop() {
				r, err := Measure(n)
				if err != nil {
					b.Fatal(err)
				}
				heap = r.HeapBytes
			}
			b.ReportMetric(float64(heap)/float64(n), "B/flow")
			b.ReportMetric(float64(heap), "heap-B")
		})
	}
}
