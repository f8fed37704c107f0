package fragments

import (
	"fmt"
	"math/bits"
	"net/netip"
	"time"

	"github.com/tapflow/tapflow/internal/mum"
	"github.com/tapflow/tapflow/tap"
)

// Config sizes the cache.
type Config struct {
	// Capacity is the number of datagrams remembered (rounded up to a
	// power of two).
	Capacity int `yaml:"capacity"`
	// Window is how long the first fragment's ports are remembered.
	Window time.Duration `yaml:"window"`
}

// DefaultConfig returns the documented defaults: 16384 datagrams for 30 s
// (Linux's ipfrag_time).
func DefaultConfig() Config { return Config{Capacity: 16384, Window: 30 * time.Second} }

// Validate reports the first invalid setting, naming its key.
func (c Config) Validate() error {
	if c.Capacity < 1 || c.Capacity > 1<<24 {
		return fmt.Errorf("dataplane.fragments.capacity: must be 1..%d, got %d", 1<<24, c.Capacity)
	}
	if c.Window <= 0 {
		return fmt.Errorf("dataplane.fragments.window: must be positive, got %s", c.Window)
	}
	return nil
}

type key struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8
}

type entry struct {
	key              key
	seen             int64 // µs of the first fragment
	srcPort, dstPort uint16
	used             bool
}

// Cache remembers the ports of recent first fragments. Not safe for
// concurrent use: the dataplane reader owns it.
type Cache struct {
	slots   []entry
	mask    uint64
	window  int64
	Matched uint64 // non-first fragments given their datagram's ports
	Orphans uint64 // non-first fragments whose first fragment was not seen
}

// New returns a cache.
func New(cfg Config) (*Cache, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := uint64(1) << bits.Len64(uint64(cfg.Capacity)-1)
	return &Cache{slots: make([]entry, n), mask: n - 1, window: cfg.Window.Microseconds()}, nil
}

// Observe records the ports of a first fragment, or fills in the ports of
// a later one. Packets that are not fragments are left alone.
func (c *Cache) Observe(m *tap.Meta) {
	switch {
	case m.Fragment:
		k := key{m.Src, m.Dst, m.IPID, m.Proto}
		e := &c.slots[hash(&k)&c.mask]
		if e.used && e.key == k && m.Timestamp-e.seen <= c.window {
			m.SrcPort, m.DstPort = e.srcPort, e.dstPort
			c.Matched++
			return
		}
		c.Orphans++
	case m.MoreFrags:
		k := key{m.Src, m.Dst, m.IPID, m.Proto}
		c.slots[hash(&k)&c.mask] = entry{key: k, seen: m.Timestamp, srcPort: m.SrcPort, dstPort: m.DstPort, used: true}
	}
}

func hash(k *key) uint64 {
	a, b := k.src.As16(), k.dst.As16()
	h := uint64(k.id)<<8 | uint64(k.proto)
	for i := 0; i < 16; i += 8 {
		h = mix(h, le64(a[i:]))
		h = mix(h, le64(b[i:]))
	}
	return h
}

func le64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

func mix(h, v uint64) uint64 { return mum.Mum(h^v, 0x9E3779B97F4A7C15) }
