package flowtable

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"time"
	"unsafe"

	"github.com/tapflow/tapflow/internal/hugepage"
	"github.com/tapflow/tapflow/internal/mum"
	"github.com/tapflow/tapflow/internal/prefetch"
	"github.com/tapflow/tapflow/tap"
)

// Sink receives batches of finished flow reports. The slice and its records
// are reused after WriteFlows returns: a sink copies what it keeps. A Sink
// that also implements MetricsSink receives the aggregates too.
type Sink interface {
	WriteFlows(recs []FlowRecord)
}

// Config sizes a table and sets its timeouts.
type Config struct {
	// Capacity is the most flows held at once; a new flow beyond it evicts
	// the flow closest to its deadline, which is reported and counted.
	Capacity int `yaml:"capacity"`
	// BatchSize is how many records (and aggregate rows) are handed to the
	// sink at once. The batch buffer is held for the table's life (352
	// bytes a record), so the default is small: in replays of the bench
	// corpus 64 records cost no more CPU than 256 (min of 5 alternated
	// runs: 3.40 s against 3.42 s) nor 256 than 1,024, and at 10,000 flows a
	// buffer of 256 records would add 7 bytes a flow, of 1,024 36.
	BatchSize int `yaml:"batch_size"`
	// ReportInterval is the forced-report period for long flows (at most
	// 30m: per-flow times are kept as 32-bit µs offsets within a period).
	ReportInterval time.Duration `yaml:"report_interval"`
	Timeouts       Timeouts      `yaml:"timeouts"`
}

// Timeouts per flow state, DeepFlow's defaults (architecture §3).
type Timeouts struct {
	Opening         time.Duration `yaml:"opening"`
	Established     time.Duration `yaml:"established"`
	Closing         time.Duration `yaml:"closing"`
	EstablishedRST  time.Duration `yaml:"established_rst"`
	Exception       time.Duration `yaml:"exception"`
	ClosedFIN       time.Duration `yaml:"closed_fin"`
	SingleDirection time.Duration `yaml:"single_direction"`
	OpeningRST      time.Duration `yaml:"opening_rst"`
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		Capacity:       1 << 20,
		BatchSize:      64,
		ReportInterval: time.Minute,
		Timeouts: Timeouts{
			Opening:         5 * time.Second,
			Established:     300 * time.Second,
			Closing:         5 * time.Second,
			EstablishedRST:  35 * time.Second,
			Exception:       5 * time.Second,
			ClosedFIN:       2 * time.Second,
			SingleDirection: 5 * time.Second,
			OpeningRST:      1 * time.Second,
		},
	}
}

// Validate reports the first invalid setting, naming its key.
func (c Config) Validate() error {
	switch {
	case c.Capacity < 1 || c.Capacity > 1<<28:
		return fmt.Errorf("flowtable.capacity: must be 1..%d, got %d", 1<<28, c.Capacity)
	case c.BatchSize < 1:
		return fmt.Errorf("flowtable.batch_size: must be at least 1, got %d", c.BatchSize)
	case c.ReportInterval < time.Second || c.ReportInterval > 30*time.Minute:
		return fmt.Errorf("flowtable.report_interval: must be 1s..30m, got %s", c.ReportInterval)
	}
	// A flow's last-packet time is a 32-bit µs offset from its report
	// period's start, so an idle flow must end within about 35 minutes.
	for _, d := range []time.Duration{c.Timeouts.Opening, c.Timeouts.Established, c.Timeouts.Closing,
		c.Timeouts.EstablishedRST, c.Timeouts.Exception, c.Timeouts.ClosedFIN, c.Timeouts.SingleDirection, c.Timeouts.OpeningRST} {
		if d <= 0 || d > 30*time.Minute {
			return fmt.Errorf("flowtable.timeouts: every timeout must be within (0, 30m], got %s", d)
		}
	}
	return nil
}

// Stats are a table's counters. The owner reads them; they are plain values.
type Stats struct {
	Packets   uint64 // packets accounted to a flow
	Created   uint64 // flows created
	Active    uint64 // flows currently held
	Evicted   uint64 // flows ended early because the table was full
	Reports   uint64 // records emitted (incl. forced reports)
	Forced    uint64 // forced (periodic) reports
	Reused    uint64 // flows ended by a new SYN on the same 5-tuple
	SinkCalls uint64
	// TapGaps counts TCP sequence gaps the receiver ACKed past although the
	// tap never saw them filled: segments the capture missed (mirror or
	// capture drops), which are not network loss and not in lost_tx/rx.
	TapGaps uint64
	// MetricRows counts aggregate rows handed to the MetricsSink.
	MetricRows uint64
}

// Key identifies a flow: tap identity plus the 5-tuple, in canonical order
// (Lo is the smaller address/port pair) so both directions share it.
type Key struct {
	Lo, Hi         [16]byte
	LoPort, HiPort uint16
	TapPort        uint32
	VLAN           uint16
	Proto          uint8
	TapType        uint8
}

// wheelSlots is the timing wheel's span in seconds; longer deadlines are
// rechecked when their slot comes round.
const wheelSlots = 512

const nilIdx = ^uint32(0)

// noSlot is flow.wslot of a flow that is not in the wheel.
const noSlot = ^uint16(0)

// Table is one worker's flow table. Not safe for concurrent use.
type Table struct {
	cfg      Config
	sink     Sink
	to       timeoutsUS
	report   int64 // forced report period, µs
	slab     []flow
	freeHead uint32   // free slab entries, linked through flow.nextFree
	nfree    int      // free entries: the free list plus the never-used tail
	fresh    uint32   // first never-used slab entry
	index    []uint32 // hash tag | slab index+1; 0 is empty (indexEntry)
	nslots   uint64   // len(index)
	wheel    wheel
	nowSec   int64 // last second the wheel has processed
	started  bool
	nextID   uint64
	idBase   uint64
	outers   outerTable
	out      []FlowRecord
	agg      aggregator
	stats    Stats
	l7       PayloadHandler // nil: no L7 stage
	l7touch  Toucher        // l7, if it has state beyond the L7 word to prefetch
	fv       FlowView
	pf       pipeline
}

type timeoutsUS struct {
	opening, established, closing, establishedRST, exception, closedFIN, single, openingRST int64
}

// New returns a table that reports to sink. idBase distinguishes flow ids of
// different workers: ids are idBase<<48 | sequence. If sink also implements
// MetricsSink, the table aggregates the network metrics (network and
// network_map, 1 s and 1 m) and hands the rows to it at each new second of
// its clock, at Tick and at Flush.
func New(cfg Config, sink Sink, idBase uint16) (*Table, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := indexSlots(cfg.Capacity)
	t := &Table{
		cfg:    cfg,
		sink:   sink,
		report: cfg.ReportInterval.Microseconds(),
		slab:   hugepage.Make[flow](cfg.Capacity),
		index:  hugepage.Make[uint32](int(n)),
		nslots: n,
		idBase: uint64(idBase) << 48,
		out:    make([]FlowRecord, 0, cfg.BatchSize),
	}
	// The most lines one call asks for: a step's slab entries and the
	// entry of a new flow (locate); the L7 sessions (touchL7) take fewer.
	t.pf.addrs = make([]uintptr, 0, (PrefetchBatch+1)*slabLines)
	t.pf.one = make([]uintptr, 0, slabLines)
	to := cfg.Timeouts
	t.to = timeoutsUS{to.Opening.Microseconds(), to.Established.Microseconds(), to.Closing.Microseconds(),
		to.EstablishedRST.Microseconds(), to.Exception.Microseconds(), to.ClosedFIN.Microseconds(),
		to.SingleDirection.Microseconds(), to.OpeningRST.Microseconds()}
	// Entries are handed out from the never-used tail first, so the slab's
	// pages are touched only as flows arrive: a small capture does not pay
	// for faulting in the whole preallocated table.
	t.freeHead = nilIdx
	t.nfree = cfg.Capacity
	t.outers.init()
	t.wheel.init(cfg.Capacity)
	t.agg.init(sink, cfg.BatchSize)
	return t, nil
}

// Stats returns the table's counters.
func (t *Table) Stats() Stats {
	s := t.stats
	s.Active = uint64(len(t.slab) - t.nfree)
	s.MetricRows = t.agg.rows
	return s
}

// KeyOf builds the canonical key of a decoded packet; fromLo says whether the
// packet's source is the key's Lo side.
func KeyOf(m *tap.Meta) (k Key, fromLo bool) {
	fromLo, _ = k.set(m)
	return k, fromLo
}

// set makes k the canonical key of m in place and returns whether m's
// source is the Lo side, and k.Hash(). The table's pipeline builds keys
// into its arrays: a 44-byte result would be copied there, and hashing the
// key back from memory would read words that narrower stores have just
// written, which the CPU cannot forward (a stall of a dozen cycles a word).
// So the addresses are compared, stored and hashed as 8-byte words.
func (k *Key) set(m *tap.Meta) (fromLo bool, hash uint32) {
	l0, l1 := AddrWords(m.Src)
	h0, h1 := AddrWords(m.Dst)
	lp, hp := m.SrcPort, m.DstPort
	// A non-first fragment carries the ports of its first fragment when the
	// dataplane's fragment cache saw it, else 0 (the decoder sets none).
	fromLo = l0 < h0 || l0 == h0 && (l1 < h1 || l1 == h1 && lp <= hp)
	if !fromLo {
		l0, l1, h0, h1, lp, hp = h0, h1, l0, l1, hp, lp
	}
	be := binary.BigEndian
	be.PutUint64(k.Lo[:8], l0)
	be.PutUint64(k.Lo[8:], l1)
	be.PutUint64(k.Hi[:8], h0)
	be.PutUint64(k.Hi[8:], h1)
	k.LoPort, k.HiPort = lp, hp
	k.Proto, k.TapType, k.TapPort, k.VLAN = m.Proto, uint8(m.TapType), m.TapPort, m.VLAN
	// The words Hash loads, little-endian from the key's bytes. The calls
	// are spelled out: through a func variable the compiler inlines
	// ReverseBytes64's portable shifts and masks (60 instructions a
	// packet) instead of the one BSWAP it turns a direct call into.
	ports := uint64(lp) | uint64(hp)<<16 | uint64(m.TapPort)<<32
	rest := uint64(m.VLAN) | uint64(m.Proto)<<16 | uint64(uint8(m.TapType))<<24
	return fromLo, hashWords(bits.ReverseBytes64(l0), bits.ReverseBytes64(l1),
		bits.ReverseBytes64(h0), bits.ReverseBytes64(h1), ports, rest)
}

// AddrWords returns As16 of a as two big-endian words. An IPv4 address, the
// common case, goes through As4: the compiler copies As16's array with
// 16-byte moves of two 8-byte stores, which the CPU cannot forward.
func AddrWords(a netip.Addr) (hi, lo uint64) {
	if a.Is4() {
		b := a.As4()
		return 0, 0xffff<<32 | uint64(binary.BigEndian.Uint32(b[:]))
	}
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
}

// keySize is the size of a Key: five 64-bit words and a 32-bit one, no
// padding (TestKeyWords).
const keySize = 44

// words returns k's bytes, for hashing and comparing it a word at a time.
func (k *Key) words() *[keySize]byte { return (*[keySize]byte)(unsafe.Pointer(k)) }

// equal is k == *o, a word at a time: a 44-byte struct compare is a call
// to the runtime's memequal, which the lookup of every packet pays.
func (k *Key) equal(o *Key) bool {
	a, b := k.words(), o.words()
	le := binary.LittleEndian
	// ^ and | bind alike in Go: each difference needs its parentheses.
	d := (le.Uint64(a[0:]) ^ le.Uint64(b[0:])) | (le.Uint64(a[8:]) ^ le.Uint64(b[8:])) |
		(le.Uint64(a[16:]) ^ le.Uint64(b[16:])) | (le.Uint64(a[24:]) ^ le.Uint64(b[24:])) |
		(le.Uint64(a[32:]) ^ le.Uint64(b[32:])) | uint64(le.Uint32(a[40:])^le.Uint32(b[40:]))
	return d == 0
}

// Hash is a symmetric hash of the key (the key is already canonical), used
// by the index.
func (k *Key) Hash() uint32 {
	w := k.words()
	le := binary.LittleEndian
	return hashWords(le.Uint64(w[0:]), le.Uint64(w[8:]), le.Uint64(w[16:]), le.Uint64(w[24:]),
		le.Uint64(w[32:]), uint64(le.Uint32(w[40:])))
}

// hashWords hashes a key given as its words. It multiplies pairs of words
// in three independent lanes and then folds the lanes, as wyhash does, so
// the multiplications overlap instead of each waiting for the one before.
func hashWords(w0, w1, w2, w3, w4, w5 uint64) uint32 {
	a := mum.Mum(w0^mum.Seed0, w1^mum.Seed1)
	b := mum.Mum(w2^mum.Seed2, w3^mum.Seed3)
	c := mum.Mum(w4^mum.Seed4, w5^mum.Seed5)
	h := mum.Mum(a^c^mum.Seed1, b^mum.Seed4)
	return uint32(h ^ h>>32)
}

// Index entries are 32 bits: the slab index + 1 in the low idxBits (0 is
// an empty slot) and the top tagBits of the flow's hash above it. The tag
// spares most slab reads on a probe that is not the flow; an entry's home
// slot, which deletion needs, is recomputed from its flow's key, so an
// entry costs 4 bytes instead of 8.
const (
	idxBits = 29
	idxMask = 1<<idxBits - 1
)

// indexSlots sizes the index for capacity flows: 1.6 slots a flow, so a
// full table's linear probes stay short (load 0.625: about 1.8 slots read
// for a hit and 4 for a new flow, nearly always within one cache line)
// and the index costs 6.4 bytes a flow at any capacity. A power-of-two
// size would cost 8 to 16 (13.1 at the bench's 10,000 flows). Rounded up
// to whole cache lines.
func indexSlots(capacity int) uint64 {
	n := (uint64(capacity)*8/5 + 15) &^ 15
	return max(n, 16)
}

func indexEntry(h, idx uint32) uint32 { return h&^idxMask | (idx + 1) }

// home is the index slot where the probe for hash h starts: the hash bits
// below the tag scaled to the index size (a multiply and a shift, no
// division), so tag and slot use different bits.
func (t *Table) home(h uint32) uint64 { return uint64(h&idxMask) * t.nslots >> idxBits }

// next is the slot after i, wrapping at the end of the index.
func (t *Table) next(i uint64) uint64 {
	if i++; i == t.nslots {
		return 0
	}
	return i
}

// lookup returns the slab index of key, or nilIdx, and the index slot where
// it is or would go.
func (t *Table) lookup(k *Key, h uint32) (uint32, uint64) {
	i := t.home(h)
	tag := h &^ idxMask
	for {
		e := t.index[i]
		if e == 0 {
			return nilIdx, i
		}
		if e&^idxMask == tag {
			idx := e&idxMask - 1
			if t.slab[idx].key.equal(k) {
				return idx, i
			}
		}
		i = t.next(i)
	}
}

// unindex removes slot i with backward-shift deletion, keeping every probe
// chain unbroken without tombstones.
func (t *Table) unindex(i uint64) {
	for {
		t.index[i] = 0
		j := i
		for {
			j = t.next(j)
			e := t.index[j]
			if e == 0 {
				return
			}
			home := t.home(t.slab[e&idxMask-1].key.Hash())
			// Move e back to i unless its home lies cyclically in (i, j].
			if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
				t.index[i] = e
				i = j
				break
			}
		}
	}
}

// Update accounts one decoded packet. m.Timestamp drives the table's clock.
func (t *Table) Update(m *tap.Meta) {
	var k Key
	fromLo, h := k.set(m)
	t.update(m, &k, h, fromLo)
}

// PrefetchBatch is how many packets UpdateBatch prepares at once: enough
// misses in flight to cover the memory latency, few enough that the lines
// asked for first are still cached when their packet's turn comes.
const PrefetchBatch = 16

// UpdateBatch accounts ms in order, exactly as Update of each would. With a
// few hundred thousand flows the index slot, the slab entry and the L7
// session of nearly every packet miss the cache, and one packet at a time
// those misses would wait one after another. UpdateBatch runs the packets
// through a pipeline of PrefetchBatch-packet steps instead: while it
// accounts one step, the lines of the next ones are on their way (see
// prepare, locate and touchL7). Only prefetches are issued ahead, never
// loads, so nothing waits for a line before its packet needs it. *done
// counts the packets accounted so far; a caller that recovers from a panic
// resumes after ms[*done].
func (t *Table) UpdateBatch(ms []tap.Meta, done *int) {
	pf := &t.pf
	t.prepare(&pf.steps[0], ms[:min(PrefetchBatch, len(ms))])
	for base, cur := 0, 0; base < len(ms); base, cur = base+PrefetchBatch, 1-cur {
		st := &pf.steps[cur]
		batch := ms[base:min(base+PrefetchBatch, len(ms))]
		t.locate(st)
		if next := base + PrefetchBatch; next < len(ms) {
			// Hashing the next step gives this step's slab lines time to
			// arrive before touchL7 reads their L7 words.
			t.prepare(&pf.steps[1-cur], ms[next:min(next+PrefetchBatch, len(ms))])
		}
		t.touchL7(st.idxs)
		for i := range batch {
			*done = base + i
			t.update(&batch[i], &st.keys[i], st.hashes[i], st.fromLo[i])
		}
	}
	*done = len(ms)
}

// pipeline is UpdateBatch's state: two steps of packets, one accounted
// while the other is prepared, and the address lists it prefetches.
type pipeline struct {
	steps [2]step
	addrs []uintptr // lines to prefetch, reused
	one   []uintptr // the lines of one entry, reused
}

// step is the keys of up to PrefetchBatch packets in flight.
type step struct {
	keys   [PrefetchBatch]Key
	hashes [PrefetchBatch]uint32
	fromLo [PrefetchBatch]bool
	n      int
	idxs   []uint32 // locate's guesses at the packets' flows
	buf    [PrefetchBatch]uint32
}

// prepare computes the keys of ms into st and prefetches their index slots.
func (t *Table) prepare(st *step, ms []tap.Meta) {
	addrs := t.pf.addrs[:0]
	for i := range ms {
		st.fromLo[i], st.hashes[i] = st.keys[i].set(&ms[i])
		addrs = append(addrs, uintptr(unsafe.Pointer(&t.index[t.home(st.hashes[i])])))
	}
	st.n = len(ms)
	prefetch.Lines(addrs)
	t.pf.addrs = addrs
}

// locate reads the index slots prepare asked for and prefetches the lines
// of the slab entry the first matching slot names that the packet will
// touch: all of them for TCP, the first hotBytes otherwise. A wrong guess
// (a tag collision, a flow further along the probe chain) costs only a
// wasted prefetch.
func (t *Table) locate(st *step) {
	addrs := t.pf.addrs[:0]
	st.idxs = st.buf[:0]
	maybeNew := false
	for i, h := range st.hashes[:st.n] {
		e := t.index[t.home(h)]
		if e == 0 || e&^idxMask != h&^idxMask {
			maybeNew = true
			continue
		}
		idx := e&idxMask - 1
		size := flowSize
		if st.keys[i].Proto != tap.ProtoTCP {
			size = hotBytes // the rest is TCP's state
		}
		addrs = prefetch.AppendRange(addrs, uintptr(unsafe.Pointer(&t.slab[idx])), size)
		st.idxs = append(st.idxs, idx)
	}
	if next := t.nextEntry(); maybeNew && next != nilIdx {
		// A packet that may start a flow: the entry it would take.
		addrs = t.appendSlabLines(addrs, next)
	}
	prefetch.Lines(addrs)
	t.pf.addrs = addrs
}

// touchL7 prefetches what the L7 stage keeps for flows idxs, beyond the L7
// word in the slab entry.
func (t *Table) touchL7(idxs []uint32) {
	if t.l7touch == nil {
		return
	}
	addrs := t.pf.addrs[:0]
	for _, idx := range idxs {
		if w := t.slab[idx].l7; w != 0 {
			addrs = t.l7touch.AppendLines(addrs, w)
		}
	}
	prefetch.Lines(addrs)
	t.pf.addrs = addrs
}

// nextEntry is the slab entry a new flow would take next, or nilIdx when
// the table is full.
func (t *Table) nextEntry() uint32 {
	switch {
	case t.freeHead != nilIdx:
		return t.freeHead
	case int(t.fresh) < len(t.slab):
		return t.fresh
	}
	return nilIdx
}

// slabLines is the most addresses appendSlabLines appends.
const slabLines = (flowSize+prefetch.LineSize-2)/prefetch.LineSize + 1

// appendSlabLines appends an address in every cache line of slab entry idx.
func (t *Table) appendSlabLines(addrs []uintptr, idx uint32) []uintptr {
	return prefetch.AppendRange(addrs, uintptr(unsafe.Pointer(&t.slab[idx])), flowSize)
}

// flowSize is the size of a slab entry.
const flowSize = unsafe.Sizeof(flow{})

// update is Update with the key, its hash and the direction computed.
func (t *Table) update(m *tap.Meta, k *Key, h uint32, fromLo bool) {
	t.advance(m.Timestamp)
	idx, slot := t.lookup(k, h)
	if idx == nilIdx {
		if t.nfree == 0 {
			t.evictOne()
			_, slot = t.lookup(k, h)
		}
		if t.freeHead != nilIdx {
			idx = t.freeHead
			t.freeHead = t.slab[idx].nextFree
		} else {
			idx = t.fresh
			t.fresh++
		}
		if next := t.nextEntry(); next != nilIdx {
			// The next new flow's entry: locate asks for it only once
			// a step.
			t.pf.one = t.appendSlabLines(t.pf.one[:0], next)
			prefetch.Lines(t.pf.one)
		}
		t.nfree--
		t.index[slot] = indexEntry(h, idx)
		t.initFlow(idx, k, fromLo, m)
	} else {
		f := &t.slab[idx]
		ct, restart := CloseType(0), false
		if m.Timestamp >= f.deadline(&t.to) {
			// Past its timeout, though the wheel (1 s slots) has not ended
			// it yet: the packet belongs to a new flow.
			ct, restart = f.closeType(), true
		} else if m.TCPFlags&(tap.TCPSyn|tap.TCPAck|tap.TCPRst) == tap.TCPSyn {
			if ct, restart = f.reuse(m, fromLo); restart {
				t.stats.Reused++
			}
		}
		if restart {
			t.unschedule(idx)
			t.close(idx, ct)
			t.initFlow(idx, k, fromLo, m)
		}
	}
	f := &t.slab[idx]
	t.stats.Packets++
	before := f.flags
	f.update(m, fromLo, &t.stats, t.meter(f))
	if t.l7 != nil && len(m.Payload) > 0 && (m.Proto == tap.ProtoTCP || m.Proto == tap.ProtoUDP) && !m.Fragment {
		v := t.view(f)
		v.ToServer = fromLo == v.clientLo
		t.l7.Payload(v, m)
	}
	// lastTime only grows and the next report does not move, so the wheel
	// must look earlier only when the state's timeout got shorter, which
	// needs a change of state: most packets change no timeout flag.
	if (f.flags^before)&timeoutFlags != 0 && f.timeout(&t.to) < timeoutOf(before, f.key.Proto, &t.to) {
		if w := t.wake(f); w < (t.wsec(f)-1)*1_000_000 {
			t.schedule(idx, w) // its entry in the later slot lapses
		}
	}
}

// initFlow starts a new flow in slab entry idx (free, or just closed) with
// its first packet and schedules it.
func (t *Table) initFlow(idx uint32, k *Key, fromLo bool, m *tap.Meta) {
	t.nextID++
	t.stats.Created++
	f := &t.slab[idx]
	// agg is kept: the entry's previous flow may have had the same edge.
	*f = flow{key: *k, id: t.idBase | t.nextID&(1<<48-1), wslot: noSlot, agg: f.agg}
	f.outer = t.outers.ref(m)
	f.start(m, fromLo)
	t.meter(f).NewFlow++
	t.schedule(idx, t.wake(f))
}

// wake is when the wheel must next look at the flow: its deadline or its
// next forced report.
func (t *Table) wake(f *flow) int64 { return min(f.deadline(&t.to), f.nextReport(t.report)) }

// wsec is the wheel second a scheduled flow is in: scheduled flows lie
// within (nowSec, nowSec+wheelSlots), so the slot determines it.
func (t *Table) wsec(f *flow) int64 {
	return t.nowSec + (int64(f.wslot)-t.nowSec%wheelSlots+wheelSlots)%wheelSlots
}

// schedule puts flow idx in the wheel slot of the second that contains at
// (µs), rounded up; the slot is rechecked then, so late is safe and early is
// impossible. An entry the flow had in another slot lapses.
func (t *Table) schedule(idx uint32, at int64) {
	sec := (at + 999_999) / 1_000_000
	if sec <= t.nowSec {
		sec = t.nowSec + 1
	}
	if sec > t.nowSec+wheelSlots-1 {
		sec = t.nowSec + wheelSlots - 1
	}
	s := sec % wheelSlots
	t.slab[idx].wslot = uint16(s)
	t.wheel.push(s, idx)
}

// unschedule takes flow idx out of the wheel: its entry lapses.
func (t *Table) unschedule(idx uint32) { t.slab[idx].wslot = noSlot }

// advance runs the wheel up to now (µs): flows past their deadline end,
// flows past their report time are reported and carry on.
func (t *Table) advance(now int64) {
	sec := now / 1_000_000
	if !t.started {
		t.started = true
		t.nowSec = sec
		return
	}
	if sec <= t.nowSec {
		return
	}
	// After a long gap, one lap of the wheel visits every flow.
	if sec-t.nowSec > wheelSlots {
		t.nowSec = sec - wheelSlots
	}
	for t.nowSec < sec {
		t.nowSec++
		t.tick(t.nowSec%wheelSlots, now)
	}
	t.flushOut()
	t.agg.emit(t.nowSec, false)
	if t.l7 != nil {
		t.l7.Advance(now, false)
	}
}

func (t *Table) tick(s int64, now int64) {
	// Newest entries first, PrefetchBatch at a time, and pipelined as
	// UpdateBatch pipelines packets: the next batch is taken off the wheel
	// and its slab lines prefetched before this one is handled. Handling a
	// flow moves it out of slot s, so an older entry of a flow handled
	// already has lapsed by the time the loop reaches it; nothing is added
	// to slot s meanwhile (schedule picks a later second), so taking ahead
	// takes what the loop would have taken.
	var due [2][PrefetchBatch]uint32
	cur := due[0][:t.wheel.take(s, due[0][:])]
	t.prefetchSlab(cur)
	for k := 1; len(cur) > 0; k = 1 - k {
		t.prefetchEnd(cur)
		next := due[k][:t.wheel.take(s, due[k][:])]
		t.prefetchSlab(next)
		for _, idx := range cur {
			if t.slab[idx].wslot == uint16(s) {
				t.due(idx, now)
			}
		}
		cur = next
	}
}

// due handles flow idx, just taken off the wheel slot of the current
// second: it ends, is reported, or goes back in the wheel.
func (t *Table) due(idx uint32, now int64) {
	f := &t.slab[idx]
	f.wslot = noSlot
	switch {
	case f.deadline(&t.to) <= now:
		t.release(idx, f.closeType())
	case f.nextReport(t.report) <= now:
		// A quiet minute has nothing to report; the flow's close report
		// will carry its state.
		if f.packets != [2]uint32{} {
			t.stats.Forced++
			t.emit(f, CloseForcedReport)
		}
		f.resetPeriod(now)
		t.schedule(idx, t.wake(f))
	default:
		t.schedule(idx, t.wake(f))
	}
}

// prefetchSlab prefetches every line of the slab entries idxs.
func (t *Table) prefetchSlab(idxs []uint32) {
	addrs := t.pf.addrs[:0]
	for _, idx := range idxs {
		addrs = t.appendSlabLines(addrs, idx)
	}
	prefetch.Lines(addrs)
	t.pf.addrs = addrs
}

// prefetchEnd prefetches what ending flows idxs reads beyond their slab
// entries (prefetched already): their index slots and L7 state.
func (t *Table) prefetchEnd(idxs []uint32) {
	addrs := t.pf.addrs[:0]
	for _, idx := range idxs {
		addrs = append(addrs, uintptr(unsafe.Pointer(&t.index[t.home(t.slab[idx].key.Hash())])))
	}
	prefetch.Lines(addrs)
	t.pf.addrs = addrs
	t.touchL7(idxs)
}

// evictOne ends the flow closest to its deadline to make room: the newest
// entry of the first slot ahead that has one that has not lapsed. The
// lapsed entries it passes are dropped.
func (t *Table) evictOne() {
	var one [1]uint32
	for i := int64(1); i <= wheelSlots; i++ {
		s := (t.nowSec + i) % wheelSlots
		for t.wheel.take(s, one[:]) == 1 {
			idx := one[0]
			if t.slab[idx].wslot != uint16(s) {
				continue
			}
			t.unschedule(idx)
			t.stats.Evicted++
			t.release(idx, t.slab[idx].closeType())
			return
		}
	}
	panic("BUG: flowtable full but wheel empty")
}

// release ends flow idx (already out of the wheel) with close type ct and
// returns its entry to the free list.
func (t *Table) release(idx uint32, ct CloseType) {
	f := &t.slab[idx]
	t.close(idx, ct)
	_, slot := t.lookup(&f.key, f.key.Hash())
	t.unindex(slot)
	f.nextFree = t.freeHead
	t.freeHead = idx
	t.nfree++
}

// close reports the end of the flow in slab entry idx with close type ct
// (to the L7 stage first, so its waiting requests are reported before the
// slot is reused) and drops its references; the entry is then free or
// reinitialised by the caller.
func (t *Table) close(idx uint32, ct CloseType) {
	f := &t.slab[idx]
	if t.l7 != nil {
		t.l7.FlowEnd(t.view(f))
	}
	a := t.endMeter(f)
	f.finish(a)
	a.countClose(ct)
	t.emit(f, ct)
	t.outers.unref(f.outer)
	f.outer = 0
}

// emit appends f's report to the outgoing batch.
func (t *Table) emit(f *flow, ct CloseType) {
	t.out = append(t.out, FlowRecord{})
	f.record(&t.out[len(t.out)-1], ct, t.outers.pair(f.outer))
	t.stats.Reports++
	if len(t.out) == cap(t.out) {
		t.flushOut()
	}
}

func (t *Table) flushOut() {
	if len(t.out) == 0 {
		return
	}
	t.stats.SinkCalls++
	t.sink.WriteFlows(t.out)
	t.out = t.out[:0]
}

// Tick moves the table's clock to now (µs) without a packet, so a quiet
// live capture still expires flows. now must come from the same clock as
// packet timestamps.
func (t *Table) Tick(now int64) {
	if t.started {
		t.advance(now)
	}
}

// Flush ends every flow as if time had moved past every timeout, reports
// them and hands the last batch and every aggregate, the current second and
// minute included, to the sink. The table is empty afterwards.
func (t *Table) Flush() {
	var due [PrefetchBatch]uint32
	for s := range int64(wheelSlots) {
		for n := t.wheel.take(s, due[:]); n > 0; n = t.wheel.take(s, due[:]) {
			for _, idx := range due[:n] {
				if t.slab[idx].wslot == uint16(s) {
					t.unschedule(idx)
					t.release(idx, t.slab[idx].closeType())
				}
			}
		}
	}
	t.flushOut()
	t.agg.emit(t.nowSec, true)
	if t.l7 != nil {
		t.l7.Advance(t.nowSec*1_000_000, true)
	}
}

// addr16 turns a key address back into a netip.Addr, unmapping IPv4.
func addr16(b [16]byte) netip.Addr { return netip.AddrFrom16(b).Unmap() }

// outerTable interns tunnel outer address pairs: many flows share one
// mirror session's endpoints, so a flow keeps a 4-byte reference instead of
// 32 bytes of addresses. Entry 0 is "no tunnel".
type outerTable struct {
	pairs []outerPair
	free  []uint32
	ids   map[[32]byte]uint32
}

type outerPair struct {
	addr [32]byte // outer source, outer destination (16 bytes each)
	refs uint32
}

func (o *outerTable) init() {
	o.pairs = make([]outerPair, 1, 16)
	o.ids = make(map[[32]byte]uint32)
}

// ref returns the id of m's outer pair, counting one more reference.
func (o *outerTable) ref(m *tap.Meta) uint32 {
	if !m.OuterSrc.IsValid() {
		return 0
	}
	var a [32]byte
	src, dst := m.OuterSrc.As16(), m.OuterDst.As16()
	copy(a[:16], src[:])
	copy(a[16:], dst[:])
	if id, ok := o.ids[a]; ok {
		o.pairs[id].refs++
		return id
	}
	var id uint32
	if n := len(o.free); n > 0 {
		id = o.free[n-1]
		o.free = o.free[:n-1]
	} else {
		id = uint32(len(o.pairs))
		o.pairs = append(o.pairs, outerPair{})
	}
	o.pairs[id] = outerPair{addr: a, refs: 1}
	o.ids[a] = id
	return id
}

func (o *outerTable) unref(id uint32) {
	if id == 0 {
		return
	}
	p := &o.pairs[id]
	if p.refs--; p.refs == 0 {
		delete(o.ids, p.addr)
		o.free = append(o.free, id)
	}
}

// pair returns the addresses of id, nil for 0.
func (o *outerTable) pair(id uint32) *outerPair {
	if id == 0 {
		return nil
	}
	return &o.pairs[id]
}
