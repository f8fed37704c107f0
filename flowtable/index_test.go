package flowtable

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"github.com/tapflow/tapflow/tap"
)

// TestIndexChurn runs flows in and out of full tables whose index sizes
// are not powers of two, through evictions, RSTs and timeouts, and checks
// after every packet that the index holds exactly the live flows, each
// reachable from its home slot: a probe that wrapped past the end or a
// backward shift that broke a chain would lose a flow here.
func TestIndexChurn(t *testing.T) {
	for _, capacity := range []int{1, 5, 37, 300} {
		cfg := testConfig()
		cfg.Capacity = capacity
		tb, _ := newTestTable(t, cfg)
		require.Equal(t, indexSlots(capacity), uint64(len(tb.index)))
		wrapped := 0
		rng := rand.New(rand.NewPCG(uint64(capacity), 1))
		server := netip.MustParseAddr("192.0.2.1")
		at := int64(1_700_000_000_000_000)
		for i := range 50 * capacity {
			flags := uint8(tap.TCPAck)
			switch rng.IntN(8) {
			case 0:
				flags = tap.TCPSyn
			case 1:
				flags = tap.TCPRst | tap.TCPAck
			}
			c := rng.IntN(4*capacity + 8) // a client among 4 per entry
			at += rng.Int64N(2_000)
			if rng.IntN(4*capacity) == 0 {
				at += 3_000_000 // now and then the wheel ends flows too
			}
			m := tap.Meta{
				Timestamp: at, WireLen: 60, IPVersion: 4, Proto: tap.ProtoTCP,
				Src:     netip.AddrFrom4([4]byte{10, 0, byte(c >> 8), byte(c)}),
				Dst:     server,
				SrcPort: 40000, DstPort: 443, TCPFlags: flags, Window: 1000,
			}
			tb.Update(&m)
			checkIndex(t, tb, i)
			if tb.index[len(tb.index)-1] != 0 && tb.index[0] != 0 {
				wrapped++
			}
		}
		st := tb.Stats()
		t.Logf("capacity %d: %d index slots, %d flows created, %d evicted, %d steps with a chain across the end",
			capacity, len(tb.index), st.Created, st.Evicted, wrapped)
		require.NotZero(t, st.Evicted, "the table never filled")
		if capacity >= 37 {
			require.NotZero(t, wrapped, "no probe chain crossed the end of the index")
		}
	}
}

func checkIndex(t *testing.T, tb *Table, step int) {
	t.Helper()
	used := 0
	for slot, e := range tb.index {
		if e == 0 {
			continue
		}
		used++
		idx := e&idxMask - 1
		k := tb.slab[idx].key
		got, at := tb.lookup(&k, k.Hash())
		if got != idx || at != uint64(slot) {
			t.Fatalf("step %d: slot %d names flow %d, but its lookup finds %d at slot %d", step, slot, idx, got, at)
		}
	}
	if uint64(used) != tb.Stats().Active {
		t.Fatalf("step %d: %d index entries for %d active flows", step, used, tb.Stats().Active)
	}
}

// TestKeyWords: Key is exactly its fields' bytes, so words sees every field
// and no padding, and equal agrees with == whichever byte differs.
func TestKeyWords(t *testing.T) {
	require.Equal(t, uintptr(keySize), unsafe.Sizeof(Key{}))
	var sum uintptr
	typ := reflect.TypeFor[Key]()
	for i := range typ.NumField() {
		sum += typ.Field(i).Type.Size()
	}
	require.Equal(t, uintptr(keySize), sum, "Key has padding")

	rng := rand.New(rand.NewPCG(3, 4))
	var a Key
	for i := range a.words() {
		a.words()[i] = byte(rng.Uint32())
	}
	require.True(t, a.equal(&a))
	hashes := map[uint32]int{a.Hash(): -1}
	for i := range keySize {
		b := a
		b.words()[i] ^= 1 << (i % 8)
		require.Equal(t, a == b, a.equal(&b), "byte %d", i)
		require.False(t, a.equal(&b), "byte %d", i)
		hashes[b.Hash()] = i
	}
	require.Len(t, hashes, keySize+1, "a one-bit change of any byte changes the hash")
}

// TestKeySet: the key set builds is the canonical one (the lower address,
// then the lower port, is Lo), and the hash it returns is Hash's.
func TestKeySet(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	addr := func() netip.Addr {
		var b [16]byte
		for i := range b {
			b[i] = byte(rng.IntN(3)) // small alphabet: equal prefixes and equal addresses happen
		}
		if rng.IntN(2) == 0 {
			return netip.AddrFrom4([4]byte(b[:4]))
		}
		return netip.AddrFrom16(b)
	}
	for range 20_000 {
		m := tap.Meta{Src: addr(), Dst: addr(), SrcPort: uint16(rng.IntN(3)), DstPort: uint16(rng.IntN(3)),
			Proto: uint8(rng.Uint32()), TapType: tap.TapType(rng.Uint32()), TapPort: rng.Uint32(), VLAN: uint16(rng.Uint32())}
		var k Key
		fromLo, h := k.set(&m)
		require.Equal(t, k.Hash(), h)
		src, dst := m.Src.As16(), m.Dst.As16()
		c := bytes.Compare(src[:], dst[:])
		wantLo := c < 0 || c == 0 && m.SrcPort <= m.DstPort
		require.Equal(t, wantLo, fromLo, "%v:%d → %v:%d", m.Src, m.SrcPort, m.Dst, m.DstPort)
		lo, hi, lp, hp := src, dst, m.SrcPort, m.DstPort
		if !wantLo {
			lo, hi, lp, hp = dst, src, m.DstPort, m.SrcPort
		}
		require.Equal(t, Key{Lo: lo, Hi: hi, LoPort: lp, HiPort: hp, TapPort: m.TapPort, VLAN: m.VLAN,
			Proto: m.Proto, TapType: uint8(m.TapType)}, k)
		k2, fromLo2 := KeyOf(&m)
		require.Equal(t, k, k2)
		require.Equal(t, fromLo, fromLo2)
	}
}

// TestAggKeyEqual: aggKey has no padding, and equal and hash see every
// byte of it.
func TestAggKeyEqual(t *testing.T) {
	const size = unsafe.Sizeof(aggKey{})
	var sum uintptr
	typ := reflect.TypeFor[aggKey]()
	for i := range typ.NumField() {
		sum += typ.Field(i).Type.Size()
	}
	require.Equal(t, size, sum, "aggKey has padding")
	words := func(k *aggKey) *[size]byte { return (*[size]byte)(unsafe.Pointer(k)) }

	rng := rand.New(rand.NewPCG(8, 9))
	var a aggKey
	for i := range words(&a) {
		words(&a)[i] = byte(rng.Uint32())
	}
	require.True(t, a.equal(&a))
	hashes := map[uint64]int{a.hash(): -1}
	for i := range size {
		b := a
		words(&b)[i] ^= 1 << (i % 8)
		require.False(t, a.equal(&b), "byte %d", i)
		require.False(t, b.equal(&a), "byte %d", i)
		hashes[b.hash()] = int(i)
	}
	require.Len(t, hashes, int(size)+1, "a one-bit change of any byte changes the hash")
}
