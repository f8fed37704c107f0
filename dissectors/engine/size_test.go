package engine

import (
	"testing"
	"unsafe"
)

// TestSessionSize keeps an identified flow's L7 state small: it is paid per
// active L7 flow on top of the flow table's 256 bytes (the text of waiting
// requests lives in the pending slab, which is bounded by max_pending).
func TestSessionSize(t *testing.T) {
	if n := unsafe.Sizeof(session{}); n > 160 {
		t.Fatalf("sizeof(session) = %d bytes, want ≤ 160", n)
	} else {
		t.Logf("sizeof(session) = %d bytes, sizeof(pending) = %d bytes", n, unsafe.Sizeof(pending{}))
	}
}
