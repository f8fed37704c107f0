package fragments

import (
	"net/netip"
	"testing"

	"github.com/tapflow/tapflow/tap"
)

func frag(ts int64, id uint32, first, more bool) tap.Meta {
	m := tap.Meta{Timestamp: ts, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"),
		Proto: tap.ProtoUDP, IPID: id, MoreFrags: more, Fragment: !first}
	if first {
		m.SrcPort, m.DstPort = 5353, 53
	}
	return m
}

func TestObserve(t *testing.T) {
	for _, tc := range []struct {
		name          string
		pkts          []tap.Meta
		wantPorts     [2]uint16 // of the last packet
		matched, orph uint64
	}{
		{"first then last", []tap.Meta{frag(0, 7, true, true), frag(10, 7, false, false)}, [2]uint16{5353, 53}, 1, 0},
		{"first then two more", []tap.Meta{frag(0, 7, true, true), frag(10, 7, false, true), frag(20, 7, false, false)}, [2]uint16{5353, 53}, 2, 0},
		{"orphan", []tap.Meta{frag(10, 7, false, false)}, [2]uint16{0, 0}, 0, 1},
		{"other datagram id", []tap.Meta{frag(0, 7, true, true), frag(10, 8, false, false)}, [2]uint16{0, 0}, 0, 1},
		// 31 s after the first fragment the datagram is gone (30 s window).
		{"expired", []tap.Meta{frag(0, 7, true, true), frag(31_000_000, 7, false, false)}, [2]uint16{0, 0}, 0, 1},
		{"not a fragment", []tap.Meta{frag(0, 7, true, false)}, [2]uint16{5353, 53}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			for i := range tc.pkts {
				c.Observe(&tc.pkts[i])
			}
			last := tc.pkts[len(tc.pkts)-1]
			if got := [2]uint16{last.SrcPort, last.DstPort}; got != tc.wantPorts {
				t.Errorf("ports %v, want %v", got, tc.wantPorts)
			}
			if c.Matched != tc.matched || c.Orphans != tc.orph {
				t.Errorf("matched %d orphans %d, want %d %d", c.Matched, c.Orphans, tc.matched, tc.orph)
			}
		})
	}
}

func TestObserveAllocs(t *testing.T) {
	c, _ := New(DefaultConfig())
	a, b := frag(0, 7, true, true), frag(10, 7, false, false)
	if n := testing.AllocsPerRun(100, func() { c.Observe(&a); c.Observe(&b) }); n != 0 {
		t.Fatalf("Observe allocates %.1f times", n)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []Config{{Capacity: 0, Window: 1}, {Capacity: 16, Window: 0}} {
		if c.Validate() == nil {
			t.Errorf("%+v: want an error", c)
		}
	}
}

func BenchmarkObserve(b *testing.B) {
	c, _ := New(DefaultConfig())
	a, f := frag(0, 7, true, true), frag(10, 7, false, false)
	b.ReportAllocs()
	for b.Loop() {
		c.Observe(&a)
		c.Observe(&f)
	}
}
