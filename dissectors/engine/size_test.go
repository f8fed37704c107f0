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

// TestAppendLines: an identified flow's word yields each line its session
// touches, from its first byte's to its last's; any other word yields none.
func TestAppendLines(t *testing.T) {
	e, err := New(DefaultConfig(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		e.sess.add()
	}
	p := uintptr(unsafe.Pointer(e.sess.at(2)))
	lines := e.AppendLines(nil, sessionBit|2)
	if len(lines) == 0 || lines[0] != p&^63 || lines[len(lines)-1] != (p+sessionSize-1)&^63 {
		t.Fatalf("lines %x for a session at %x of %d bytes", lines, p, sessionSize)
	}
	for i := 1; i < len(lines); i++ {
		if lines[i]-lines[i-1] != 64 {
			t.Fatalf("lines %x leave a gap or repeat", lines)
		}
	}
	for _, w := range []uint32{0, 1, stateGiveUp, sessionBit | 3, sessionBit | 1<<20} {
		if got := e.AppendLines(nil, w); len(got) != 0 {
			t.Errorf("word %#x: lines %x, want none", w, got)
		}
	}
}
