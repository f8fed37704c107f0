package prefetch

import (
	"testing"
	"unsafe"
)

// Prefetching valid, unmapped and null addresses is harmless and changes
// nothing in memory.
func TestLines(t *testing.T) {
	buf := make([]byte, 4096)
	for i := range buf {
		buf[i] = byte(i)
	}
	addrs := []uintptr{uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&buf[4095])), 0, ^uintptr(0) >> 1, ^uintptr(0)}
	for n := range len(addrs) + 1 {
		Lines(addrs[:n])
	}
	for _, a := range addrs {
		Line(a)
	}
	for i := range buf {
		if buf[i] != byte(i) {
			t.Fatalf("byte %d changed", i)
		}
	}
}

func BenchmarkLines16(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 1<<20)
	var addrs [16]uintptr
	for i := range addrs {
		addrs[i] = uintptr(unsafe.Pointer(&buf[i*4096]))
	}
	for b.Loop() {
		Lines(addrs[:])
	}
}

// TestAppendRange: one address in each line a range touches, no more.
func TestAppendRange(t *testing.T) {
	for _, tc := range []struct {
		p, size uintptr
		want    []uintptr
	}{
		{0, 1, []uintptr{0}},
		{0, 64, []uintptr{0}},
		{0, 65, []uintptr{0, 64}},
		{63, 2, []uintptr{0, 64}},
		{48, 240, []uintptr{0, 64, 128, 192, 256}},
		{64, 240, []uintptr{64, 128, 192, 256}},
		{100, 0, nil},
	} {
		got := AppendRange(nil, tc.p, tc.size)
		if len(got) != len(tc.want) {
			t.Fatalf("AppendRange(%d, %d) = %v, want %v", tc.p, tc.size, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Fatalf("AppendRange(%d, %d) = %v, want %v", tc.p, tc.size, got, tc.want)
			}
		}
	}
}
