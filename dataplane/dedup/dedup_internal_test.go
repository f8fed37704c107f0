package dedup

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/tap"
)

// TestGrowKeepsEveryEntry: doubling moves every entry, live or stale, to the
// bucket its key selects in the bigger table, and loses none, even from
// full buckets.
func TestGrowKeepsEveryEntry(t *testing.T) {
	cfg := DefaultConfig()
	f, err := New(cfg)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range f.buckets {
		for j := range rng.IntN(bucketSize + 1) { // empty to full buckets
			k := rng.Uint64()<<12 | uint64(i) // a key of bucket i
			f.buckets[i][j] = entry{key: k, ts: rng.Int64()}
		}
	}
	snapshot := func() map[entry]bool {
		m := map[entry]bool{}
		for i, b := range f.buckets {
			for _, e := range b {
				if e.key != 0 {
					require.Equal(t, uint64(i), e.key&f.mask, "entry in its bucket")
					require.False(t, m[e], "entry twice")
					m[e] = true
				}
			}
		}
		return m
	}
	want := snapshot()
	for f.stats.Size < uint64(cfg.Capacity) {
		size := f.stats.Size
		f.grow()
		require.Equal(t, 2*size, f.stats.Size)
		require.Equal(t, want, snapshot())
	}
	require.Equal(t, uint64(4), f.stats.Grown)
}

// TestKeySeesEveryField: flipping any one bit of anything Key covers
// (addresses of either family, ports, protocol, flags, checksum, IP id,
// payload length, seq, ack, window, ICMP type and code, the fragment flag,
// each byte of the payload head and its length) changes the key, and the
// tap identity and TTL do not.
func TestKeySeesEveryField(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for round := range 200 {
		var m tap.Meta
		m.Src, m.Dst = netip.AddrFrom4([4]byte{10, 0, 0, byte(round)}), netip.AddrFrom4([4]byte{10, 0, 1, 2})
		if round%2 == 1 {
			m.Src, m.Dst = netip.AddrFrom16([16]byte{0x20, 1, 15: byte(round)}), netip.AddrFrom16([16]byte{0x20, 1, 15: 9})
		}
		m.SrcPort, m.DstPort, m.Proto, m.TCPFlags = uint16(rng.Uint32()), uint16(rng.Uint32()), uint8(rng.Uint32()), uint8(rng.Uint32())
		m.L4Checksum, m.IPID, m.Seq, m.Ack = uint16(rng.Uint32()), rng.Uint32(), rng.Uint32(), rng.Uint32()
		m.Window, m.ICMPType, m.ICMPCode = uint16(rng.Uint32()), uint8(rng.Uint32()), uint8(rng.Uint32())
		m.Payload = make([]byte, rng.IntN(2*payloadHead))
		for i := range m.Payload {
			m.Payload[i] = byte(rng.Uint32())
		}
		m.PayloadLen = uint32(len(m.Payload))
		base := Key(&m)
		require.NotZero(t, base)
		flip := func(what string, change func(*tap.Meta)) {
			c := m
			c.Payload = append([]byte(nil), m.Payload...)
			change(&c)
			require.NotEqual(t, base, Key(&c), "round %d: %s", round, what)
		}
		for bit := range 128 {
			flipAddr := func(a netip.Addr) netip.Addr {
				if a.Is4() {
					b := a.As4()
					b[bit/8%4] ^= 1 << (bit % 8)
					return netip.AddrFrom4(b)
				}
				b := a.As16()
				b[bit/8] ^= 1 << (bit % 8)
				return netip.AddrFrom16(b)
			}
			flip("src", func(c *tap.Meta) { c.Src = flipAddr(c.Src) })
			flip("dst", func(c *tap.Meta) { c.Dst = flipAddr(c.Dst) })
		}
		for bit := range 32 {
			flip("seq", func(c *tap.Meta) { c.Seq ^= 1 << bit })
			flip("ack", func(c *tap.Meta) { c.Ack ^= 1 << bit })
			flip("payload length", func(c *tap.Meta) { c.PayloadLen ^= 1 << bit })
			flip("ip id", func(c *tap.Meta) { c.IPID ^= 1 << bit })
			if bit < 16 {
				flip("src port", func(c *tap.Meta) { c.SrcPort ^= 1 << bit })
				flip("dst port", func(c *tap.Meta) { c.DstPort ^= 1 << bit })
				flip("checksum", func(c *tap.Meta) { c.L4Checksum ^= 1 << bit })
				flip("window", func(c *tap.Meta) { c.Window ^= 1 << bit })
			}
			if bit < 8 {
				flip("proto", func(c *tap.Meta) { c.Proto ^= 1 << bit })
				flip("flags", func(c *tap.Meta) { c.TCPFlags ^= 1 << bit })
				flip("icmp type", func(c *tap.Meta) { c.ICMPType ^= 1 << bit })
				flip("icmp code", func(c *tap.Meta) { c.ICMPCode ^= 1 << bit })
			}
		}
		flip("fragment", func(c *tap.Meta) { c.Fragment = !c.Fragment })
		for i := range min(len(m.Payload), payloadHead) {
			flip("payload byte", func(c *tap.Meta) { c.Payload[i] ^= 1 << (i % 8) })
		}
		if len(m.Payload) < payloadHead {
			flip("payload head length", func(c *tap.Meta) { c.Payload = append(c.Payload, 0) })
		}
		c := m
		c.TapPort, c.TapType, c.TTL, c.VLAN = 99, tap.TapType(3), 1, 7
		require.Equal(t, base, Key(&c), "round %d: tap identity", round)
	}
}

// refDuplicateKey is DuplicateKey as a plain loop over the bucket, the form
// it had before it was unrolled: the reference TestDuplicateKeyModel holds
// the unrolled one to.
func (f *Filter) refDuplicateKey(k uint64, ts int64) bool {
	f.stats.Checked++
again:
	b := &f.buckets[k&f.mask]
	victim, oldest := 0, int64(1<<63-1)
	for i := range b {
		e := &b[i]
		if e.key == k {
			if d := ts - e.ts; d < f.window && d > -f.window {
				f.stats.Duplicates++
				return true
			}
			victim, oldest = i, -1<<63
			continue
		}
		if e.ts < oldest {
			victim, oldest = i, e.ts
		}
	}
	e := &b[victim]
	if e.key != 0 && e.key != k {
		if d := ts - e.ts; d < f.window && d > -f.window {
			f.pressure++
			if f.pressure > uint64(len(f.buckets))*bucketSize>>growShift && len(f.buckets) < f.max {
				f.grow()
				goto again
			}
			f.stats.Evicted++
		}
	}
	e.key, e.ts = k, ts
	if f.epochLeft--; f.epochLeft == 0 {
		f.pressure, f.epochLeft = 0, uint64(len(f.buckets))*bucketSize
	}
	return false
}

// TestDuplicateKeyModel: on random streams that hit copies inside and
// outside the window, stale entries, full buckets and growth, the unrolled
// DuplicateKey answers, fills the table and counts exactly as the loop.
func TestDuplicateKeyModel(t *testing.T) {
	cases := []struct {
		capacity, keys, step int // step: the most µs between packets
	}{
		{64, 16, 3000},        // few keys, copies in and out of the window
		{256, 1000, 20},       // a small full table: evictions
		{1 << 14, 1 << 14, 2}, // many live keys: growth past 4096
		{1 << 16, 1 << 20, 1}, // growth to capacity, then evictions
		{4096, 50, 100000},    // nearly every copy stale
	}
	for i, c := range cases {
		for seed := range uint64(4) {
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			cfg := Config{Enabled: true, Window: 10 * time.Millisecond, Capacity: c.capacity}
			got, err := New(cfg)
			require.NoError(t, err)
			want, err := New(cfg)
			require.NoError(t, err)
			ts := int64(rng.IntN(1000))
			for n := range 40000 {
				ts += int64(rng.IntN(c.step+1)) - int64(c.step/6) // out of order now and then
				k := uint64(rng.IntN(c.keys))*0x9E3779B97F4A7C15 | 1
				require.Equal(t, want.refDuplicateKey(k, ts), got.DuplicateKey(k, ts), "case %d seed %d packet %d", i, seed, n)
			}
			require.Equal(t, want.stats, got.stats, "case %d seed %d", i, seed)
			require.Equal(t, want.buckets, got.buckets, "case %d seed %d", i, seed)
			require.Equal(t, [3]uint64{want.pressure, want.epochLeft, want.mask}, [3]uint64{got.pressure, got.epochLeft, got.mask})
		}
	}
}
