package dedup

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"time"
	"unsafe"

	"github.com/tapflow/tapflow/internal/hugepage"
	"github.com/tapflow/tapflow/internal/mum"
	"github.com/tapflow/tapflow/internal/prefetch"
	"github.com/tapflow/tapflow/tap"
)

// Config sets the dedup window and table size. YAML key: dataplane.dedup.
type Config struct {
	// Enabled turns dedup on (the default).
	Enabled bool `yaml:"enabled"`
	// Window is how far apart, by capture timestamp, two copies of one
	// packet may be and still count once.
	//
	// The default, 10ms, covers the skew between two copies of a packet:
	// the rx and tx sides of one SPAN session arrive microseconds apart,
	// and two mirror points on a path differ by the path's latency plus
	// the mirror transport's queueing (ERSPAN/VXLAN to the collector),
	// which stays within a few milliseconds in a data centre even under
	// load. It is well below the shortest interval at which an end host
	// legitimately sends an identical packet again: TCP's minimum RTO is
	// 200ms on Linux (and a retransmission carries a new IP id and TCP
	// timestamp anyway), DNS and other UDP retries wait 100s of ms.
	Window time.Duration `yaml:"window"`
	// Capacity is the most packets remembered, rounded up to a power of
	// two. It should hold at least window × peak packet rate: the default
	// 65536 (1 MiB) is four times 1.6 Mpps × 10ms, keeping the table a
	// quarter full at the veth line rate.
	//
	// The table starts at min(Capacity, 4096) entries (64 KiB, which stays
	// in the L1/L2 cache where a 1 MiB table at random misses on nearly
	// every packet) and doubles, up to Capacity, once it has to overwrite
	// entries still inside the window more than about once per 512 new
	// packets: a quiet link never pays for the peak-rate table.
	Capacity int `yaml:"capacity"`
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{Enabled: true, Window: 10 * time.Millisecond, Capacity: 1 << 16}
}

// Validate reports the first invalid setting, naming its key.
func (c Config) Validate() error {
	switch {
	case c.Window < time.Microsecond || c.Window > time.Second:
		return fmt.Errorf("dataplane.dedup.window: must be 1µs..1s, got %s", c.Window)
	case c.Capacity < bucketSize || c.Capacity > 1<<26:
		return fmt.Errorf("dataplane.dedup.capacity: must be %d..%d, got %d", bucketSize, 1<<26, c.Capacity)
	}
	return nil
}

// bucketSize entries of 16 bytes fill one 64-byte cache line.
const bucketSize = 4

// payloadHead is how many payload bytes go into the key: enough to tell
// apart packets that share every header field, few enough that a mirror
// which truncates frames (ERSPAN's T bit, a snap length) still matches.
const payloadHead = 32

type entry struct {
	key uint64 // 0 is empty; Key never returns 0
	ts  int64  // µs, first copy's capture time
}

// initialEntries is the table size a Filter starts at (unless Capacity is
// smaller): 64 KiB, small enough to stay cache-resident next to the flow
// table, large enough for ~500 packets per window (50 kpps at 10ms) before
// the first growth.
const initialEntries = 4096

// growShift sets when the table doubles: when more than entries>>growShift
// inserts in one epoch (as many inserts as the table has entries) had to
// overwrite a live entry. With hashes spread at random over 4-way buckets,
// that rate (1/512) is reached at about an eighth full; a rarer collision
// is left alone, so a long-running filter does not creep up to Capacity.
const growShift = 9

// Stats are a Filter's counters, plain values for the owner to publish.
type Stats struct {
	Checked    uint64 // packets looked up
	Duplicates uint64 // packets dropped as a copy of one seen within the window
	Evicted    uint64 // live entries overwritten because their bucket was full
	Grown      uint64 // times the table doubled
	Size       uint64 // entries the table holds now (at most Capacity)
}

// Filter remembers recently seen packets in a 4-way set-associative table
// keyed by a 64-bit hash of the invariant packet. The table grows by
// doubling, from initialEntries up to the configured Capacity.
type Filter struct {
	window  int64 // µs
	buckets [][bucketSize]entry
	mask    uint64
	max     int // most buckets: Capacity/bucketSize rounded up to a power of two

	// pressure counts inserts in this epoch that found their bucket full of
	// live entries; epochLeft counts down the epoch's remaining inserts.
	pressure  uint64
	epochLeft uint64
	stats     Stats
}

// New returns a Filter sized by cfg. Besides New, only a growth allocates
// (at most log2(Capacity/4096) times over the Filter's life).
func New(cfg Config) (*Filter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	maxBuckets := 1 << bits.Len64(uint64(cfg.Capacity/bucketSize)-1)
	n := min(maxBuckets, initialEntries/bucketSize)
	f := &Filter{window: cfg.Window.Microseconds(), max: maxBuckets}
	f.resize(hugepage.Make[[bucketSize]entry](n))
	return f, nil
}

// Stats returns the counters.
func (f *Filter) Stats() Stats { return f.stats }

// resize installs buckets as the table and starts a new epoch.
func (f *Filter) resize(buckets [][bucketSize]entry) {
	f.buckets = buckets
	f.mask = uint64(len(buckets) - 1)
	f.pressure = 0
	f.epochLeft = uint64(len(buckets)) * bucketSize
	f.stats.Size = f.epochLeft
}

// grow doubles the table. Bucket i splits into buckets i and i+n of the new
// table by the next bit of the key, so each new bucket takes at most the
// four entries of its one parent: every entry, live or stale, survives the
// move, and a packet remembered before still matches after.
func (f *Filter) grow() {
	old := f.buckets
	nb := hugepage.Make[[bucketSize]entry](2 * len(old))
	split := uint64(len(old)) // the key bit that picks i or i+n
	for i := range old {
		var used [2]int // entries placed in buckets i and i+n
		for _, e := range old[i] {
			if e.key == 0 {
				continue
			}
			half := 0
			if e.key&split != 0 {
				half = 1
			}
			nb[i+half*len(old)][used[half]] = e
			used[half]++
		}
	}
	f.stats.Grown++
	f.resize(nb)
}

// Duplicate reports whether m is a copy of a packet seen less than the
// window before (or after: copies from two interfaces may be stamped out
// of order). A packet that is not a duplicate is remembered.
func (f *Filter) Duplicate(m *tap.Meta) bool {
	return f.DuplicateKey(Key(m), m.Timestamp)
}

// PrefetchKey asks the CPU for the bucket of key k (from Key) without
// waiting for it or changing anything. A reader that batches packets calls
// it as it decodes each, well before DuplicateKey of that packet, so the
// bucket's cache miss overlaps with the work in between.
func (f *Filter) PrefetchKey(k uint64) {
	prefetch.Line(uintptr(unsafe.Pointer(&f.buckets[k&f.mask])))
}

// DuplicateKey is Duplicate of the packet whose Key is k, captured at ts (µs).
//
// The four slots are compared one by one rather than in a loop: this runs
// for every packet, and the unrolled form takes half the instructions (68
// rather than 138 a packet under cachegrind, on the first 1.5 M packets of
// the bench corpus).
func (f *Filter) DuplicateKey(k uint64, ts int64) bool {
	f.stats.Checked++
again:
	b := &f.buckets[k&f.mask]
	var victim int
	switch k {
	case b[0].key:
		victim = 0
	case b[1].key:
		victim = 1
	case b[2].key:
		victim = 2
	case b[3].key:
		victim = 3
	default:
		// No copy of k: replace the entry seen longest ago (an empty
		// one has ts 0, so it goes first).
		victim = oldest(b)
		if e := &b[victim]; e.key != 0 && within(ts-e.ts, f.window) {
			f.pressure++
			if f.pressure > uint64(len(f.buckets))*bucketSize>>growShift && len(f.buckets) < f.max {
				// Growing rather than overwriting keeps the live
				// entry; the lookup above found no copy of k, so
				// redoing it in the bigger table only picks a victim.
				f.grow()
				goto again
			}
			f.stats.Evicted++
		}
		b[victim] = entry{key: k, ts: ts}
		f.inserted()
		return false
	}
	e := &b[victim]
	if within(ts-e.ts, f.window) {
		f.stats.Duplicates++
		return true
	}
	// A stale copy of this key: the packet is new, in its place.
	e.ts = ts
	f.inserted()
	return false
}

// within reports whether d is less than window either way: copies from two
// interfaces may be stamped out of order.
func within(d, window int64) bool { return d < window && d > -window }

// oldest returns the slot of b with the smallest timestamp, the first such.
func oldest(b *[bucketSize]entry) int {
	v, o := 0, b[0].ts
	if b[1].ts < o {
		v, o = 1, b[1].ts
	}
	if b[2].ts < o {
		v, o = 2, b[2].ts
	}
	if b[3].ts < o {
		v = 3
	}
	return v
}

// inserted counts an insert into the growth epoch.
func (f *Filter) inserted() {
	if f.epochLeft--; f.epochLeft == 0 {
		f.pressure, f.epochLeft = 0, uint64(len(f.buckets))*bucketSize
	}
}

// Key hashes the parts of m that every copy of one packet shares,
// wherever it was mirrored: addresses, ports, IP protocol and id, TCP
// seq/ack/flags/window, the transport checksum (which covers the TCP
// options, so duplicate ACKs with new timestamps differ), the payload length
// and up to payloadHead bytes of payload. Not the tap identity, TTL or
// anything an encapsulation adds. Never 0.
func Key(m *tap.Meta) uint64 {
	le := binary.LittleEndian
	// The words are multiplied in pairs, in independent lanes folded at
	// the end (as wyhash does), so the multiplications overlap instead of
	// each waiting for the one before: this runs for every packet.
	var addrs uint64
	if m.Src.Is4() && m.Dst.Is4() {
		// One word for both addresses. A v4 pair and a v6 pair never
		// compare: the v4 lane's second word is a constant.
		src, dst := m.Src.As4(), m.Dst.As4()
		addrs = mum.Mum(uint64(le.Uint32(src[:]))|uint64(le.Uint32(dst[:]))<<32^mum.Seed0, 4^mum.Seed1)
	} else {
		src, dst := m.Src.As16(), m.Dst.As16()
		addrs = mum.Mum(le.Uint64(src[:8])^mum.Seed0, le.Uint64(src[8:])^mum.Seed1) ^
			mum.Mum(le.Uint64(dst[:8])^mum.Seed2, le.Uint64(dst[8:])^mum.Seed3)
	}
	var frag uint64
	if m.Fragment {
		frag = 1
	}
	l4 := mum.Mum(uint64(m.SrcPort)|uint64(m.DstPort)<<16|uint64(m.Proto)<<32|uint64(m.TCPFlags)<<40|uint64(m.L4Checksum)<<48^mum.Seed2,
		uint64(m.IPID)|uint64(m.PayloadLen)<<32^mum.Seed3)
	tcp := mum.Mum(uint64(m.Seq)|uint64(m.Ack)<<32^mum.Seed4,
		uint64(m.Window)|uint64(m.ICMPType)<<16|uint64(m.ICMPCode)<<24|frag<<32^mum.Seed5)
	// The payload head, zero-padded to payloadHead bytes, with its length.
	p := m.Payload
	var head [payloadHead]byte
	w, n := &head, len(p)
	if n >= payloadHead {
		w, n = (*[payloadHead]byte)(p), payloadHead // most packets: no copy
	} else {
		copy(head[:], p)
	}
	body := mum.Mum(le.Uint64(w[0:])^mum.Seed0^uint64(n), le.Uint64(w[8:])^mum.Seed1) ^
		mum.Mum(le.Uint64(w[16:])^mum.Seed2, le.Uint64(w[24:])^mum.Seed3)
	h := mum.Mum(addrs^l4^mum.Seed4, tcp^body^mum.Seed5)
	if h == 0 {
		h = 1
	}
	return h
}
