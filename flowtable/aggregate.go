package flowtable

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"time"

	"github.com/tapflow/tapflow/internal/mum"
)

// Aggregation (network and network_map, 1 s and 1 m) without per-packet
// hashing and without per-flow delta counters.
//
// The table keeps one set of edge aggregates (client ip → server ip:port,
// tap, protocol) per second in a hash set keyed by a fixed-size comparable
// struct (aggSet). A flow remembers the index of its edge's entry (flow.agg): on a
// packet the entry is reused when its key (which holds the second) still
// matches, so the set is consulted once per flow and second, and the packet
// adds to the entry directly (Packets, Bytes, and each metric event at the
// place the flow counts it). When the clock enters a new second the
// entries become NetworkMap1s rows, are folded per server into Network1s
// rows and into the minute set; the minute set is emitted the same way when
// the clock enters a new minute. Sets and slices are emptied, not freed,
// so a warm table allocates nothing.

// aggKey identifies one aggregate: the start of its second or minute (unix
// seconds) and an edge, or a server when cli is zero.
type aggKey struct {
	sec      int64
	cli, srv [16]byte
	tapPort  uint32
	srvPort  uint16
	proto    uint8
	tapType  uint8
}

// aggSet is a hash set of aggregates whose entries live in a slice, so
// that a flow can keep an entry's index. It is its own open-addressing
// table rather than a Go map because it is emptied every second: clearing
// a map costs its largest size ever and deleting leaves tombstones that
// lengthen later probes, while a slot here is live only if it carries the
// set's current generation, so reset is O(1).
//
// The slots in use are the first mask+1 of the ones allocated (kept at the
// set's peak), sized at each reset for the entries the set has just held:
// a second usually holds some hundred edges, and probing them within a
// few KiB keeps them in the cache, where spread over the slots of a busy
// second's peak every probe was a miss.
type aggSet struct {
	// slots hold, for each entry, gen<<48 | tag<<32 | entry index, at its
	// hash's home slot or the first free one after it (linear probing)
	// within slots[:mask+1], a power of two at least twice the entries.
	slots   []uint64
	mask    uint64
	gen     uint64 // 1..aggGenMax; slots of other generations are free
	entries []aggEntry
}

type aggEntry struct {
	key  aggKey
	hash uint64
	m    Meter
}

const aggGenMax = 1<<16 - 1

func (s *aggSet) init(n int) {
	s.slots = make([]uint64, aggSlotsFor(n))
	s.mask = uint64(len(s.slots) - 1)
	s.gen = 1
	s.entries = make([]aggEntry, 0, n)
}

// hash mixes the key's words; the key has no padding to leave out.
func (k *aggKey) hash() uint64 {
	h := uint64(0x9E3779B97F4A7C15)
	h = mum.Mix(h, uint64(k.sec))
	h = mum.Mix(h, binary.LittleEndian.Uint64(k.cli[:8]))
	h = mum.Mix(h, binary.LittleEndian.Uint64(k.cli[8:]))
	h = mum.Mix(h, binary.LittleEndian.Uint64(k.srv[:8]))
	h = mum.Mix(h, binary.LittleEndian.Uint64(k.srv[8:]))
	return mum.Mix(h, k.tail())
}

// equal is k == *o, a word at a time: a struct compare of this size is a
// call to the runtime's memequal, which Table.meter pays per packet.
func (k *aggKey) equal(o *aggKey) bool {
	le := binary.LittleEndian
	// ^ and | bind alike in Go: each difference needs its parentheses.
	return (uint64(k.sec)^uint64(o.sec))|
		(le.Uint64(k.cli[:8])^le.Uint64(o.cli[:8]))|(le.Uint64(k.cli[8:])^le.Uint64(o.cli[8:]))|
		(le.Uint64(k.srv[:8])^le.Uint64(o.srv[:8]))|(le.Uint64(k.srv[8:])^le.Uint64(o.srv[8:]))|
		(k.tail()^o.tail()) == 0
}

// tail is the key's last word: the fields after the addresses.
func (k *aggKey) tail() uint64 {
	return uint64(k.tapPort) | uint64(k.srvPort)<<32 | uint64(k.proto)<<48 | uint64(k.tapType)<<56
}

// get returns the index of k's entry, adding a zero one if needed.
func (s *aggSet) get(k *aggKey) uint32 { return s.getHashed(k, k.hash()) }

// getHashed is get with k's hash computed.
func (s *aggSet) getHashed(k *aggKey, h uint64) uint32 {
	mask := s.mask
	want := s.gen<<48 | (h>>48)<<32
	for i := h & mask; ; i = (i + 1) & mask {
		v := s.slots[i]
		if v>>48 != s.gen {
			if 2*(uint64(len(s.entries))+1) > mask+1 {
				s.grow()
				return s.getHashed(k, h)
			}
			n := uint32(len(s.entries))
			if len(s.entries) == cap(s.entries) {
				// Double: append grows a slice this large by a quarter,
				// copying the entries (304 bytes each) ever more
				// often on the way to a busy minute's peak.
				s.entries = slices.Grow(s.entries, len(s.entries))
			}
			s.entries = append(s.entries, aggEntry{key: *k, hash: h})
			s.slots[i] = want | uint64(n)
			return n
		}
		if v&^(1<<32-1) == want && s.entries[uint32(v)].key.equal(k) {
			return uint32(v)
		}
	}
}

// aggSlotsFor is the slots for n entries: a power of two, at least 16 and
// twice n.
func aggSlotsFor(n int) int { return max(16, 1<<bits.Len(uint(2*n-1))) }

// grow doubles the slots in use, allocating more when all are, and places
// every entry again.
func (s *aggSet) grow() {
	if n := 2 * (s.mask + 1); n <= uint64(len(s.slots)) {
		s.mask = n - 1
		s.nextGen()
	} else {
		s.slots = make([]uint64, n)
		s.mask = n - 1
		s.gen = 1
	}
	mask := s.mask
	for n := range s.entries {
		h := s.entries[n].hash
		i := h & mask
		for s.slots[i]>>48 == s.gen {
			i = (i + 1) & mask
		}
		s.slots[i] = s.gen<<48 | (h>>48)<<32 | uint64(n)
	}
}

func (s *aggSet) add(k *aggKey, m *Meter) { s.entries[s.get(k)].m.Add(m) }

// touch loads the home slot of hash h and the entry it names, if any: a
// guess at what getHashed will read, issued early so that the misses of
// several keys overlap.
func (s *aggSet) touch(h uint64) uint64 {
	v := s.slots[h&s.mask]
	if v>>48 != s.gen || uint32(v) >= uint32(len(s.entries)) {
		return v
	}
	e := &s.entries[uint32(v)]
	return v + e.hash + e.m.Packets[0]
}

// reset empties the set: a new generation frees every slot at once. Only
// when the generations wrap are the slots cleared. The slots in use are
// sized for as many entries as the set held.
func (s *aggSet) reset() {
	s.mask = uint64(min(aggSlotsFor(len(s.entries)), len(s.slots)) - 1)
	s.entries = s.entries[:0]
	s.nextGen()
}

func (s *aggSet) nextGen() {
	if s.gen++; s.gen > aggGenMax {
		clear(s.slots)
		s.gen = 1
	}
}

// aggregator is a table's aggregation state. It is off (sink nil) unless
// the table's sink implements MetricsSink.
type aggregator struct {
	sink    MetricsSink
	sec     aggSet // edges per second: the clock's second and late contributions to earlier ones
	min     aggSet // edges per minute
	fold    aggSet // scratch: the servers of the edges being emitted
	minLast int64  // newest minute in min
	last    uint32 // sec entry Table.meter found last
	lastEnd uint32 // sec entry Table.endMeter found last
	out     []MetricRow
	rows    uint64
	touched uint64 // foldSeconds' loads, kept so that they are not optimized away
	discard Meter  // where a table without a MetricsSink counts
}

// aggInitEntries is the initial size of each set; they grow to the working
// set and keep that size.
const aggInitEntries = 1024

func (a *aggregator) init(sink Sink, batch int) {
	ms, ok := sink.(MetricsSink)
	if !ok {
		return
	}
	a.sink = ms
	a.sec.init(aggInitEntries)
	a.min.init(aggInitEntries)
	a.fold.init(aggInitEntries)
	a.out = make([]MetricRow, 0, batch)
}

// edgeKey returns the key of f's edge in second sec.
func (f *flow) edgeKey(sec int64) aggKey {
	k := &f.key
	e := aggKey{sec: sec, tapPort: k.TapPort, proto: k.Proto, tapType: k.TapType}
	if f.flags&fClientIsLo != 0 {
		e.cli, e.srv, e.srvPort = k.Lo, k.Hi, k.HiPort
	} else {
		e.cli, e.srv, e.srvPort = k.Hi, k.Lo, k.LoPort
	}
	return e
}

// meter returns the aggregate that f's packets count in now: its edge in the
// clock's second. The entry the flow used last, then the one any flow used
// last (a new flow of a busy edge), are tried before the set.
func (t *Table) meter(f *flow) *Meter {
	a := &t.agg
	if a.sink == nil {
		return &a.discard
	}
	k := f.edgeKey(t.nowSec)
	e := a.sec.entries
	if i := f.agg; i < uint32(len(e)) && e[i].key.equal(&k) {
		return &e[i].m
	}
	i := a.find(&k, &a.last)
	f.agg = i
	return &a.sec.entries[i].m
}

// find returns the index of k's entry in sec, trying *last (the entry a
// previous find returned) before the set, and updates *last.
func (a *aggregator) find(k *aggKey, last *uint32) uint32 {
	if i := *last; i < uint32(len(a.sec.entries)) && a.sec.entries[i].key.equal(k) {
		return i
	}
	i := a.sec.get(k)
	*last = i
	return i
}

// endMeter returns the aggregate that what is known when f's report is
// emitted counts in: its edge in the second of the report's EndTime.
func (t *Table) endMeter(f *flow) *Meter {
	a := &t.agg
	if a.sink == nil {
		return &a.discard
	}
	sec := max(f.lastTime(), f.periodFrom) / 1_000_000
	if sec == t.nowSec {
		return t.meter(f)
	}
	// Flows ending together often ended (went idle) in the same second.
	k := f.edgeKey(sec)
	return &a.sec.entries[a.find(&k, &a.lastEnd)].m
}

// emit hands every second aggregated so far to the sink and folds it into
// its minute; the minutes go out once the clock (second now) has left the
// newest of them, or at once when all is set (Flush).
func (a *aggregator) emit(now int64, all bool) {
	if a.sink == nil {
		return
	}
	if len(a.sec.entries) > 0 {
		a.foldSeconds()
		a.sec.reset()
		a.emitFold(Network1s)
	}
	if len(a.min.entries) > 0 && (all || a.minLast < now-now%60) {
		for i := range a.min.entries {
			e := &a.min.entries[i]
			a.row(NetworkMap1m, e)
			k := e.key
			k.cli = [16]byte{}
			a.fold.add(&k, &e.m)
		}
		a.min.reset()
		a.emitFold(Network1m)
	}
	a.flush()
}

// foldBatch is how many second entries foldSeconds looks ahead.
const foldBatch = 16

// foldSeconds emits the second entries as NetworkMap1s rows and folds each
// into its server (fold) and its minute (min). The minute set of a busy
// capture holds some 100,000 edges, far beyond the caches, so the minute
// keys of the next foldBatch entries are hashed and their slots and
// entries touched before any is added (as UpdateBatch does for flows).
func (a *aggregator) foldSeconds() {
	var (
		keys   [foldBatch]aggKey
		hashes [foldBatch]uint64
		sink   uint64
	)
	sec := a.sec.entries
	for base := 0; base < len(sec); base += foldBatch {
		batch := sec[base:min(base+foldBatch, len(sec))]
		for i := range batch {
			k := &keys[i]
			*k = batch[i].key
			k.sec -= k.sec % 60
			hashes[i] = k.hash()
			sink += a.min.touch(hashes[i])
		}
		for i := range batch {
			e := &batch[i]
			a.row(NetworkMap1s, e)
			k := e.key
			k.cli = [16]byte{}
			a.fold.add(&k, &e.m)
			if len(a.min.entries) == 0 || keys[i].sec > a.minLast {
				a.minLast = keys[i].sec
			}
			a.min.entries[a.min.getHashed(&keys[i], hashes[i])].m.Add(&e.m)
		}
	}
	a.touched += sink
}

func (a *aggregator) emitFold(tbl MetricTable) {
	for i := range a.fold.entries {
		a.row(tbl, &a.fold.entries[i])
	}
	a.fold.reset()
}

func (a *aggregator) row(tbl MetricTable, e *aggEntry) {
	a.out = append(a.out, MetricRow{
		Table: tbl, Time: time.Unix(e.key.sec, 0).UTC(),
		TapType: e.key.tapType, TapPort: e.key.tapPort, Proto: e.key.proto,
		ServerIP: addr16(e.key.srv), ServerPort: e.key.srvPort,
		Meter: e.m,
	})
	if tbl.IsMap() {
		a.out[len(a.out)-1].ClientIP = addr16(e.key.cli)
	}
	if len(a.out) == cap(a.out) {
		a.flush()
	}
}

func (a *aggregator) flush() {
	if len(a.out) == 0 {
		return
	}
	a.rows += uint64(len(a.out))
	a.sink.WriteMetrics(a.out)
	a.out = a.out[:0]
}
