package dataplane

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/tapflow/tapflow/tap"
)

// TestShard: both directions of a flow go to one worker, whatever the tap
// that saw them, and random flows spread evenly over the workers.
func TestShard(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	addr := func(v6 bool) netip.Addr {
		if v6 {
			var b [16]byte
			b[0], b[1] = 0x20, 0x01
			for i := 8; i < 16; i++ {
				b[i] = byte(rng.Uint32())
			}
			return netip.AddrFrom16(b)
		}
		return netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.Uint32()), byte(rng.Uint32())})
	}
	for _, n := range []int{1, 2, 3, 4, 8} {
		count := make([]int, n)
		const flows = 40000
		for i := range flows {
			v6 := i%4 == 0
			m := tap.Meta{Src: addr(v6), Dst: addr(v6), SrcPort: uint16(rng.Uint32()), DstPort: uint16(rng.IntN(1024)),
				Proto: tap.ProtoTCP, TapPort: uint32(rng.IntN(4))}
			if i%3 == 0 {
				m.Proto = tap.ProtoUDP
			}
			w := shard(&m, n)
			if w < 0 || w >= n {
				t.Fatalf("%d workers: shard %d", n, w)
			}
			r := m
			r.Src, r.Dst, r.SrcPort, r.DstPort = m.Dst, m.Src, m.DstPort, m.SrcPort
			r.TapPort, r.VLAN = m.TapPort+1, 7
			if got := shard(&r, n); got != w {
				t.Fatalf("%d workers: %v:%d → %v:%d in shard %d, the reverse in %d", n, m.Src, m.SrcPort, m.Dst, m.DstPort, w, got)
			}
			count[w]++
		}
		for w, c := range count {
			if want := flows / n; c < want*9/10 || c > want*11/10 {
				t.Errorf("%d workers: worker %d has %d of %d flows, want about %d", n, w, c, flows, want)
			}
		}
	}
}
