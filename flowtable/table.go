package flowtable

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"time"

	"github.com/tapflow/tapflow/tap"
)

// Sink receives batches of finished flow reports. The slice and its records
// are reused after WriteFlows returns: a sink copies what it keeps.
type Sink interface {
	WriteFlows(recs []FlowRecord)
}

// Config sizes a table and sets its timeouts.
type Config struct {
	// Capacity is the most flows held at once; a new flow beyond it evicts
	// the flow closest to its deadline, which is reported and counted.
	Capacity int `yaml:"capacity"`
	// BatchSize is how many records are handed to the sink at once.
	BatchSize int `yaml:"batch_size"`
	// ReportInterval is the forced-report period for long flows.
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
		BatchSize:      1024,
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
	case c.ReportInterval < time.Second:
		return fmt.Errorf("flowtable.report_interval: must be at least 1s, got %s", c.ReportInterval)
	}
	for _, d := range []time.Duration{c.Timeouts.Opening, c.Timeouts.Established, c.Timeouts.Closing,
		c.Timeouts.EstablishedRST, c.Timeouts.Exception, c.Timeouts.ClosedFIN, c.Timeouts.SingleDirection, c.Timeouts.OpeningRST} {
		if d <= 0 {
			return fmt.Errorf("flowtable.timeouts: every timeout must be positive")
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

// Table is one worker's flow table. Not safe for concurrent use.
type Table struct {
	cfg     Config
	sink    Sink
	to      timeoutsUS
	report  int64 // forced report period, µs
	slab    []flow
	free    []uint32
	index   []uint64 // hash<<32 | slab index+1; 0 is empty
	mask    uint64
	wheel   [wheelSlots]uint32
	nowSec  int64 // last second the wheel has processed
	started bool
	nextID  uint64
	idBase  uint64
	out     []FlowRecord
	stats   Stats
}

type timeoutsUS struct {
	opening, established, closing, establishedRST, exception, closedFIN, single, openingRST int64
}

// New returns a table that reports to sink. idBase distinguishes flow ids of
// different workers: ids are idBase<<48 | sequence.
func New(cfg Config, sink Sink, idBase uint16) (*Table, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := uint64(1) << bits.Len64(uint64(cfg.Capacity)*2-1)
	t := &Table{
		cfg:    cfg,
		sink:   sink,
		report: cfg.ReportInterval.Microseconds(),
		slab:   make([]flow, cfg.Capacity),
		free:   make([]uint32, cfg.Capacity),
		index:  make([]uint64, n),
		mask:   n - 1,
		idBase: uint64(idBase) << 48,
		out:    make([]FlowRecord, 0, cfg.BatchSize),
	}
	to := cfg.Timeouts
	t.to = timeoutsUS{to.Opening.Microseconds(), to.Established.Microseconds(), to.Closing.Microseconds(),
		to.EstablishedRST.Microseconds(), to.Exception.Microseconds(), to.ClosedFIN.Microseconds(),
		to.SingleDirection.Microseconds(), to.OpeningRST.Microseconds()}
	for i := range t.free {
		t.free[i] = uint32(cfg.Capacity - 1 - i)
	}
	for i := range t.wheel {
		t.wheel[i] = nilIdx
	}
	return t, nil
}

// Stats returns the table's counters.
func (t *Table) Stats() Stats {
	s := t.stats
	s.Active = uint64(len(t.slab) - len(t.free))
	return s
}

// KeyOf builds the canonical key of a decoded packet; fromLo says whether the
// packet's source is the key's Lo side.
func KeyOf(m *tap.Meta) (k Key, fromLo bool) {
	src, dst := m.Src.As16(), m.Dst.As16()
	sp, dp := m.SrcPort, m.DstPort
	k.Proto, k.TapType, k.TapPort, k.VLAN = m.Proto, uint8(m.TapType), m.TapPort, m.VLAN
	if m.Fragment {
		sp, dp = 0, 0
	}
	c := compare16(&src, &dst)
	if c < 0 || (c == 0 && sp <= dp) {
		k.Lo, k.Hi, k.LoPort, k.HiPort = src, dst, sp, dp
		return k, true
	}
	k.Lo, k.Hi, k.LoPort, k.HiPort = dst, src, dp, sp
	return k, false
}

func compare16(a, b *[16]byte) int {
	a0, b0 := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])
	if a0 != b0 {
		if a0 < b0 {
			return -1
		}
		return 1
	}
	a1, b1 := binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:])
	switch {
	case a1 < b1:
		return -1
	case a1 > b1:
		return 1
	}
	return 0
}

// Hash is a symmetric hash of the key (the key is already canonical), used
// both by the index and by the dataplane to pick a worker.
func (k *Key) Hash() uint32 {
	h := uint64(0x9E3779B97F4A7C15)
	h = mix(h, binary.LittleEndian.Uint64(k.Lo[:8]))
	h = mix(h, binary.LittleEndian.Uint64(k.Lo[8:]))
	h = mix(h, binary.LittleEndian.Uint64(k.Hi[:8]))
	h = mix(h, binary.LittleEndian.Uint64(k.Hi[8:]))
	h = mix(h, uint64(k.LoPort)|uint64(k.HiPort)<<16|uint64(k.VLAN)<<32|uint64(k.Proto)<<48|uint64(k.TapType)<<56)
	h = mix(h, uint64(k.TapPort))
	return uint32(h ^ h>>32)
}

func mix(h, v uint64) uint64 {
	hi, lo := bits.Mul64(h^v, 0xBF58476D1CE4E5B9)
	return hi ^ lo
}

// lookup returns the slab index of key, or nilIdx, and the index slot where
// it is or would go.
func (t *Table) lookup(k *Key, h uint32) (uint32, uint64) {
	i := uint64(h) & t.mask
	for {
		e := t.index[i]
		if e == 0 {
			return nilIdx, i
		}
		if uint32(e>>32) == h {
			idx := uint32(e) - 1
			if t.slab[idx].key == *k {
				return idx, i
			}
		}
		i = (i + 1) & t.mask
	}
}

// unindex removes slot i with backward-shift deletion, keeping every probe
// chain unbroken without tombstones.
func (t *Table) unindex(i uint64) {
	for {
		t.index[i] = 0
		j := i
		for {
			j = (j + 1) & t.mask
			e := t.index[j]
			if e == 0 {
				return
			}
			home := uint64(uint32(e>>32)) & t.mask
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
	t.advance(m.Timestamp)
	k, fromLo := KeyOf(m)
	h := k.Hash()
	idx, slot := t.lookup(&k, h)
	if idx == nilIdx {
		if len(t.free) == 0 {
			t.evictOne(m.Timestamp)
			_, slot = t.lookup(&k, h)
		}
		idx = t.free[len(t.free)-1]
		t.free = t.free[:len(t.free)-1]
		t.index[slot] = uint64(h)<<32 | uint64(idx+1)
		f := &t.slab[idx]
		t.initFlow(f, &k, h, fromLo, m)
		t.schedule(idx, f.wake())
	}
	f := &t.slab[idx]
	if ct, ok := f.reuse(m, fromLo); ok {
		t.stats.Reused++
		t.emit(f, ct)
		t.unschedule(idx)
		t.initFlow(f, &k, h, fromLo, m)
		t.schedule(idx, f.wake())
	}
	t.stats.Packets++
	f.update(m, fromLo, &t.to)
	if w := f.wake(); w < (f.wsec-1)*1_000_000 {
		t.unschedule(idx)
		t.schedule(idx, w)
	}
}

func (t *Table) initFlow(f *flow, k *Key, h uint32, fromLo bool, m *tap.Meta) {
	t.nextID++
	t.stats.Created++
	*f = flow{key: *k, hash: h, id: t.idBase | t.nextID&(1<<48-1), wnext: nilIdx, wprev: nilIdx}
	f.start(m, fromLo, t.report)
}

// schedule puts flow idx in the wheel slot of the second that contains at
// (µs), rounded up; the slot is rechecked then, so late is safe and early is
// impossible.
func (t *Table) schedule(idx uint32, at int64) {
	sec := (at + 999_999) / 1_000_000
	if sec <= t.nowSec {
		sec = t.nowSec + 1
	}
	if sec > t.nowSec+wheelSlots-1 {
		sec = t.nowSec + wheelSlots - 1
	}
	s := sec % wheelSlots
	f := &t.slab[idx]
	f.wsec = sec
	f.wprev = nilIdx
	f.wnext = t.wheel[s]
	if f.wnext != nilIdx {
		t.slab[f.wnext].wprev = idx
	}
	t.wheel[s] = idx
}

// unschedule takes flow idx out of its wheel slot.
func (t *Table) unschedule(idx uint32) {
	f := &t.slab[idx]
	if f.wprev != nilIdx {
		t.slab[f.wprev].wnext = f.wnext
	} else {
		t.wheel[f.wsec%wheelSlots] = f.wnext
	}
	if f.wnext != nilIdx {
		t.slab[f.wnext].wprev = f.wprev
	}
	f.wnext, f.wprev = nilIdx, nilIdx
}

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
}

func (t *Table) tick(s int64, now int64) {
	idx := t.wheel[s]
	t.wheel[s] = nilIdx
	for idx != nilIdx {
		f := &t.slab[idx]
		next := f.wnext
		f.wnext, f.wprev = nilIdx, nilIdx
		switch {
		case f.deadline <= now:
			t.emit(f, f.timeoutClose())
			t.release(idx)
		case f.nextReport <= now:
			t.stats.Forced++
			t.emit(f, CloseForcedReport)
			f.resetPeriod(now, t.report)
			t.schedule(idx, f.wake())
		default:
			t.schedule(idx, f.wake())
		}
		idx = next
	}
}

// evictOne ends the flow closest to its deadline to make room.
func (t *Table) evictOne(now int64) {
	for i := int64(1); i <= wheelSlots; i++ {
		s := (t.nowSec + i) % wheelSlots
		idx := t.wheel[s]
		if idx == nilIdx {
			continue
		}
		f := &t.slab[idx]
		t.unschedule(idx)
		t.stats.Evicted++
		t.emit(f, f.timeoutClose())
		t.release(idx)
		return
	}
	panic("BUG: flowtable full but wheel empty")
}

func (t *Table) release(idx uint32) {
	f := &t.slab[idx]
	_, slot := t.lookup(&f.key, f.hash)
	t.unindex(slot)
	t.free = append(t.free, idx)
}

// emit appends f's report to the outgoing batch.
func (t *Table) emit(f *flow, ct CloseType) {
	t.out = append(t.out, FlowRecord{})
	f.record(&t.out[len(t.out)-1], ct)
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
// them and hands the last batch to the sink. The table is empty afterwards.
func (t *Table) Flush() {
	for s := range t.wheel {
		idx := t.wheel[s]
		t.wheel[s] = nilIdx
		for idx != nilIdx {
			f := &t.slab[idx]
			next := f.wnext
			f.wnext, f.wprev = nilIdx, nilIdx
			t.emit(f, f.timeoutClose())
			t.release(idx)
			idx = next
		}
	}
	t.flushOut()
}

// addr16 turns a key address back into a netip.Addr, unmapping IPv4.
func addr16(b [16]byte) netip.Addr { return netip.AddrFrom16(b).Unmap() }
