package dedup

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"time"

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
	// Capacity is the number of packets remembered, rounded up to a power
	// of two. It should hold at least window × peak packet rate: the
	// default 65536 (1 MiB) is four times 1.6 Mpps × 10ms, keeping the
	// table a quarter full at the veth line rate.
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

// Stats are a Filter's counters, plain values for the owner to publish.
type Stats struct {
	Checked    uint64 // packets looked up
	Duplicates uint64 // packets dropped as a copy of one seen within the window
	Evicted    uint64 // live entries overwritten because their bucket was full
}

// Filter remembers recently seen packets in a fixed-size, 4-way
// set-associative table keyed by a 64-bit hash of the invariant packet.
type Filter struct {
	window  int64 // µs
	buckets [][bucketSize]entry
	mask    uint64
	stats   Stats
}

// New returns a Filter sized by cfg. It is the only allocation.
func New(cfg Config) (*Filter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := uint64(1) << bits.Len64(uint64(cfg.Capacity/bucketSize)-1)
	return &Filter{window: cfg.Window.Microseconds(), buckets: make([][bucketSize]entry, n), mask: n - 1}, nil
}

// Stats returns the counters.
func (f *Filter) Stats() Stats { return f.stats }

// Duplicate reports whether m is a copy of a packet seen less than the
// window before (or after: copies from two interfaces may be stamped out
// of order). A packet that is not a duplicate is remembered.
func (f *Filter) Duplicate(m *tap.Meta) bool {
	f.stats.Checked++
	k := Key(m)
	ts := m.Timestamp
	b := &f.buckets[k&f.mask]
	victim, oldest := 0, int64(1<<63-1)
	for i := range b {
		e := &b[i]
		if e.key == k {
			if d := ts - e.ts; d < f.window && d > -f.window {
				f.stats.Duplicates++
				return true
			}
			victim, oldest = i, -1<<63 // the stale copy of this key is the one to replace
			continue
		}
		if e.ts < oldest {
			victim, oldest = i, e.ts
		}
	}
	e := &b[victim]
	if e.key != 0 && e.key != k {
		if d := ts - e.ts; d < f.window && d > -f.window {
			f.stats.Evicted++
		}
	}
	e.key, e.ts = k, ts
	return false
}

// Key hashes the parts of m that every copy of one packet shares,
// wherever it was mirrored: addresses, ports, IP protocol and id, TCP
// seq/ack/flags/window, the transport checksum (which covers the TCP
// options, so duplicate ACKs with new timestamps differ), the payload length
// and up to payloadHead bytes of payload. Not the tap identity, TTL or
// anything an encapsulation adds. Never 0.
func Key(m *tap.Meta) uint64 {
	src, dst := m.Src.As16(), m.Dst.As16()
	h := uint64(0x9E3779B97F4A7C15)
	h = mix(h, binary.LittleEndian.Uint64(src[:8]))
	h = mix(h, binary.LittleEndian.Uint64(src[8:]))
	h = mix(h, binary.LittleEndian.Uint64(dst[:8]))
	h = mix(h, binary.LittleEndian.Uint64(dst[8:]))
	h = mix(h, uint64(m.SrcPort)|uint64(m.DstPort)<<16|uint64(m.Proto)<<32|uint64(m.TCPFlags)<<40|uint64(m.L4Checksum)<<48)
	h = mix(h, uint64(m.IPID)|uint64(m.PayloadLen)<<32)
	h = mix(h, uint64(m.Seq)|uint64(m.Ack)<<32)
	var frag uint64
	if m.Fragment {
		frag = 1
	}
	h = mix(h, uint64(m.Window)|uint64(m.ICMPType)<<16|uint64(m.ICMPCode)<<24|frag<<32)
	p := m.Payload
	if len(p) > payloadHead {
		p = p[:payloadHead]
	}
	for len(p) >= 8 {
		h = mix(h, binary.LittleEndian.Uint64(p))
		p = p[8:]
	}
	if len(p) > 0 {
		var tail [8]byte
		copy(tail[:], p)
		h = mix(h, binary.LittleEndian.Uint64(tail[:])^uint64(len(p))<<56)
	}
	if h == 0 {
		h = 1
	}
	return h
}

func mix(h, v uint64) uint64 {
	hi, lo := bits.Mul64(h^v, 0xBF58476D1CE4E5B9)
	return hi ^ lo
}
