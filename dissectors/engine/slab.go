package engine

// slab holds the engine's sessions and pendings, indexed by uint32, in
// fixed chunks: growing adds a chunk instead of copying every entry into a
// slice twice the size (which cost about 4% of a corpus replay, and left
// the old copy for the GC), and a pointer to an entry stays valid.
type slab[T any] struct {
	chunks [][]T
	n      uint32 // entries handed out
}

const slabChunk = 1024

// at returns entry i (below n).
func (s *slab[T]) at(i uint32) *T { return &s.chunks[i/slabChunk][i%slabChunk] }

// add hands out the next never-used entry, zero.
func (s *slab[T]) add() uint32 {
	if s.n%slabChunk == 0 {
		s.chunks = append(s.chunks, make([]T, slabChunk))
	}
	s.n++
	return s.n - 1
}
