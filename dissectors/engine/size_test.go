package engine

import (
	"testing"
	"unsafe"
)

// TestSessionSize keeps an identified flow's L7 state small and its hot
// part in one line: it is paid per active L7 flow on top of the flow
// table's 256 bytes (the text of waiting requests lives in the pending
// slab, which is bounded by max_pending), and AppendLines prefetches only
// the first line.
func TestSessionSize(t *testing.T) {
	var s session
	if n := unsafe.Sizeof(s); n != 128 {
		t.Fatalf("sizeof(session) = %d bytes, want 128 (two whole lines)", n)
	}
	// Every payload packet reads d and n, and ring up to the requests
	// waiting; all but the 16th request must be in the first line.
	if off := unsafe.Offsetof(s.ring) + 15*4; off > 64 {
		t.Errorf("ring[14] ends at byte %d, beyond the first line", off)
	}
	for name, off := range map[string]uintptr{"d": unsafe.Offsetof(s.d), "n": unsafe.Offsetof(s.n), "proto": unsafe.Offsetof(s.proto)} {
		if off >= 64 {
			t.Errorf("%s at byte %d, beyond the first line", name, off)
		}
	}
	t.Logf("sizeof(pending) = %d bytes", unsafe.Sizeof(pending{}))
}

// TestAppendLines: an identified flow's word yields its session's first
// line, and sessions start on a line; any other word yields none.
func TestAppendLines(t *testing.T) {
	e, err := New(DefaultConfig(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		e.sess.add()
	}
	for i := range uint32(3) {
		p := uintptr(unsafe.Pointer(e.sess.at(i)))
		if p%64 != 0 {
			t.Errorf("session %d at %#x, not on a line", i, p)
		}
		if lines := e.AppendLines(nil, sessionBit|i); len(lines) != 1 || lines[0] != p {
			t.Errorf("session %d at %#x: lines %x", i, p, lines)
		}
	}
	for _, w := range []uint32{0, 1, stateGiveUp, sessionBit | 3, sessionBit | 1<<20} {
		if got := e.AppendLines(nil, w); len(got) != 0 {
			t.Errorf("word %#x: lines %x, want none", w, got)
		}
	}
}

// TestSlabChunks: entries stay where they were handed out as the slab
// grows past a chunk, and each chunk spans a whole huge page.
func TestSlabChunks(t *testing.T) {
	var s slab[session]
	per := 0
	for i := range 3 << 15 {
		if got := s.add(); got != uint32(i) {
			t.Fatalf("add %d returned %d", i, got)
		}
		s.at(uint32(i)).flow = uint64(i)
		if per == 0 && len(s.chunks) == 2 {
			per = i
		}
	}
	if per*int(unsafe.Sizeof(session{})) < chunkBytes {
		t.Errorf("%d sessions per chunk: %d bytes, want ≥ %d", per, per*int(unsafe.Sizeof(session{})), chunkBytes)
	}
	for i := range uint32(3 << 15) {
		if s.at(i).flow != uint64(i) {
			t.Fatalf("entry %d holds %d", i, s.at(i).flow)
		}
	}
}
