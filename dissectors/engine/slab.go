package engine

import (
	"unsafe"

	"github.com/tapflow/tapflow/internal/hugepage"
)

// slab holds the engine's sessions and pendings, indexed by uint32, in
// fixed chunks: growing adds a chunk instead of copying every entry into a
// slice twice the size (which cost about 4% of a corpus replay, and left
// the old copy for the GC), and a pointer to an entry stays valid.
//
// A chunk holds at least chunkBytes, so that it spans whole huge pages: a
// session is read at random for nearly every payload packet, and with
// 4 KiB pages each of those reads would also miss the TLB. Memory comes
// from the OS untouched, so a chunk costs only the pages used.
type slab[T any] struct {
	chunks [][]T
	n      uint32 // entries handed out
	shift  uint8  // log2 of the entries per chunk, set by the first add
}

// chunkBytes is the least size of a chunk: twice a huge page, since Go
// aligns a large allocation to its own 8 KiB pages only, so that at least
// one whole huge page lies inside.
const chunkBytes = 2 * hugepage.Size

// at returns entry i (below n).
func (s *slab[T]) at(i uint32) *T {
	return &s.chunks[i>>s.shift][i&(1<<s.shift-1)]
}

// add hands out the next never-used entry, zero.
func (s *slab[T]) add() uint32 {
	if s.shift == 0 {
		var zero T
		for s.shift = 10; uintptr(1)<<s.shift*unsafe.Sizeof(zero) < chunkBytes; s.shift++ {
		}
	}
	if s.n&(1<<s.shift-1) == 0 {
		s.chunks = append(s.chunks, hugepage.Make[T](1<<s.shift))
	}
	s.n++
	return s.n - 1
}
