package flowtable

// wheel holds, for each second slot, the slab indices of the flows to look
// at in that second. Entries are not removed when a flow leaves the slot
// (it ends, or a shorter timeout moves it earlier): an entry counts only
// while its flow's wslot still names the slot, and a lapsed one is dropped
// when the slot is read. So moving a flow costs one push and no access to
// the slot's other flows, and a tick reads the slot's flows in order from
// a few cache lines, free to touch the flows ahead of handling them (a
// list linked through the slab would be walked one miss at a time).
//
// The entries live in blocks from one pool shared by all slots, which
// recycles the blocks of drained slots: once the table has seen its peak
// of scheduled flows, scheduling allocates nothing.
type wheel struct {
	heads  [wheelSlots]uint32 // each slot's newest block, nilIdx if none
	blocks []wblock
	free   uint32 // free blocks, linked through next
}

// blockEntries makes a block 256 bytes.
const blockEntries = 62

type wblock struct {
	n    uint32 // entries used
	next uint32 // the slot's next older block, or the next free block
	e    [blockEntries]uint32
}

// init prepares a wheel for a table of capacity flows. The pool reserves a
// block entry per flow (4 bytes a flow) and a few part-filled blocks; the
// pool grows (to its peak, once) only when slots are part-filled or
// entries lapse beyond that.
func (w *wheel) init(capacity int) {
	for i := range w.heads {
		w.heads[i] = nilIdx
	}
	w.free = nilIdx
	w.blocks = make([]wblock, 0, capacity/blockEntries+16)
}

// push adds flow idx to slot s.
func (w *wheel) push(s int64, idx uint32) {
	b := w.heads[s]
	if b == nilIdx || w.blocks[b].n == blockEntries {
		nb := w.alloc()
		w.blocks[nb].next = b
		w.heads[s] = nb
		b = nb
	}
	blk := &w.blocks[b]
	blk.e[blk.n] = idx
	blk.n++
}

func (w *wheel) alloc() uint32 {
	if b := w.free; b != nilIdx {
		w.free = w.blocks[b].next
		w.blocks[b].n = 0
		return b
	}
	w.blocks = append(w.blocks, wblock{})
	return uint32(len(w.blocks) - 1)
}

// take moves up to len(dst) entries of slot s into dst, newest first, and
// returns how many it moved: 0 once the slot is empty.
func (w *wheel) take(s int64, dst []uint32) int {
	n := 0
	for n < len(dst) {
		b := w.heads[s]
		if b == nilIdx {
			break
		}
		blk := &w.blocks[b]
		k := min(int(blk.n), len(dst)-n)
		for i := range k {
			dst[n+i] = blk.e[int(blk.n)-1-i]
		}
		blk.n -= uint32(k)
		n += k
		if blk.n == 0 {
			w.heads[s] = blk.next
			blk.next = w.free
			w.free = b
		}
	}
	return n
}
