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
