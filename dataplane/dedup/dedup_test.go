package dedup_test

import (
	"fmt"
	"math/bits"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dataplane/dedup"
	"github.com/tapflow/tapflow/dataplane/internal/testframes"
	"github.com/tapflow/tapflow/tap"
)

func pkt(i int) testframes.Packet {
	return testframes.Packet{
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"),
		SrcPort: 40000, DstPort: 80, ID: uint16(i), Seq: 1000 + uint32(i)*100, Ack: 5000, Flags: 0x18,
		Payload: []byte("GET / HTTP/1.1\r\nHost: example\r\n\r\n"),
	}
}

func decode(t testing.TB, frame []byte, ts int64) *tap.Meta {
	var m tap.Meta
	require.NoError(t, tap.NewDecoder(tap.LinkEthernet).Decode(frame, ts, uint32(len(frame)), &m))
	return &m
}

func newFilter(t testing.TB, cfg dedup.Config) *dedup.Filter {
	f, err := dedup.New(cfg)
	require.NoError(t, err)
	return f
}

// TestDuplicateAcrossEncapsulations mirrors each packet four times — plain,
// in VXLAN, in GRE and in ERSPAN II, each copy with a lower TTL as if taken
// one hop further — and only the first copy is new.
func TestDuplicateAcrossEncapsulations(t *testing.T) {
	f := newFilter(t, dedup.DefaultConfig())
	encaps := []testframes.Encap{testframes.Plain, testframes.VXLAN, testframes.GRE, testframes.ERSPAN2}
	for i := range 100 {
		base := int64(1_700_000_000_000_000 + i*1000)
		for j, e := range encaps {
			p := pkt(i)
			p.TTL = uint8(64 - j)
			m := decode(t, p.Frame(e), base+int64(j)*700) // copies 0.7ms apart
			require.Equal(t, j > 0, f.Duplicate(m), "packet %d copy %d (encap %d)", i, j, e)
		}
	}
	s := f.Stats()
	require.Equal(t, uint64(400), s.Checked)
	require.Equal(t, uint64(300), s.Duplicates)
	require.Zero(t, s.Evicted)
}

func TestWindow(t *testing.T) {
	cfg := dedup.DefaultConfig()
	cfg.Window = time.Millisecond
	f := newFilter(t, cfg)
	frame := pkt(1).Frame(testframes.Plain)
	require.False(t, f.Duplicate(decode(t, frame, 10_000)))
	require.True(t, f.Duplicate(decode(t, frame, 10_999)), "within the window")
	require.True(t, f.Duplicate(decode(t, frame, 9_500)), "stamped before the first copy, within the window")
	require.False(t, f.Duplicate(decode(t, frame, 11_000)), "a window after the first copy is a new packet")
	require.True(t, f.Duplicate(decode(t, frame, 11_500)), "…which is remembered in turn")
}

// TestDistinctPackets: packets equal but for one invariant field are not
// duplicates of one another.
func TestDistinctPackets(t *testing.T) {
	f := newFilter(t, dedup.DefaultConfig())
	variants := []func(*testframes.Packet){
		func(p *testframes.Packet) {},
		func(p *testframes.Packet) { p.ID++ },
		func(p *testframes.Packet) { p.Seq++ },
		func(p *testframes.Packet) { p.Ack++ },
		func(p *testframes.Packet) { p.Flags = 0x10 },
		func(p *testframes.Packet) { p.SrcPort++ },
		func(p *testframes.Packet) { p.Dst = netip.MustParseAddr("10.0.0.3") },
		func(p *testframes.Packet) { p.Payload = []byte("GET / HTTP/1.1\r\nHost: examplf\r\n\r\n") }, // byte 29
		func(p *testframes.Packet) { p.Payload = append(p.Payload, 'x') },                            // length
		func(p *testframes.Packet) { p.UDP = true },
	}
	for i, v := range variants {
		p := pkt(7)
		v(&p)
		require.False(t, f.Duplicate(decode(t, p.Frame(testframes.Plain), int64(i))), "variant %d", i)
	}
	// A change past the payload head still changes the TCP checksum.
	p := pkt(7)
	p.Payload = []byte("GET / HTTP/1.1\r\nHost: example\r\n\r\nX")
	q := p
	q.Payload = []byte("GET / HTTP/1.1\r\nHost: example\r\n\r\nY")
	require.False(t, f.Duplicate(decode(t, p.Frame(testframes.Plain), 100)))
	require.False(t, f.Duplicate(decode(t, q.Frame(testframes.Plain), 101)))
	require.Zero(t, f.Stats().Duplicates)
}

// TestFullTable: more live packets than capacity evict, never drop a new
// packet.
func TestFullTable(t *testing.T) {
	cfg := dedup.DefaultConfig()
	cfg.Capacity = 64
	f := newFilter(t, cfg)
	for i := range 1000 {
		require.False(t, f.Duplicate(decode(t, testframes.SmallUDP(uint32(i)), int64(i))))
	}
	s := f.Stats()
	require.Zero(t, s.Duplicates)
	require.Equal(t, uint64(1000-64), s.Evicted+0, "every insert past capacity evicts a live entry")
}

// distinctMetas returns n packets that are all different to dedup.
func distinctMetas(t testing.TB, n int) []*tap.Meta {
	metas := make([]*tap.Meta, n)
	for i := range metas {
		metas[i] = decode(t, testframes.SmallUDP(uint32(i)), 0)
	}
	return metas
}

// TestGrowth: at a packet rate that puts more packets in one window than
// the initial table holds, the table doubles instead of overwriting live
// entries, and every packet remembered before a growth is still found after
// it.
func TestGrowth(t *testing.T) {
	f := newFilter(t, dedup.DefaultConfig()) // window 10ms, Capacity 65536
	require.Equal(t, uint64(4096), f.Stats().Size, "starts small")
	metas := distinctMetas(t, 12000)
	for i, m := range metas {
		m.Timestamp = int64(i / 2) // 12000 packets in 6ms: 2 Mpps
		require.False(t, f.Duplicate(m), "packet %d", i)
	}
	s := f.Stats()
	require.GreaterOrEqual(t, s.Size, uint64(32768), "12000 live packets")
	require.LessOrEqual(t, s.Size, uint64(65536))
	require.Equal(t, uint64(bits.TrailingZeros64(s.Size/4096)), s.Grown)
	require.Less(t, s.Evicted, uint64(len(metas)/50), "grown before many live entries were lost")

	// The second copy of each, 3ms later: all still in the window. A copy
	// is missed only if the first one's entry was overwritten while live.
	for _, m := range metas {
		m.Timestamp += 3000
		f.Duplicate(m)
	}
	s = f.Stats()
	require.GreaterOrEqual(t, s.Duplicates+s.Evicted, uint64(len(metas)), "%+v", s)
	require.Greater(t, s.Duplicates, uint64(len(metas)*98/100), "%+v", s)
}

// TestNoGrowthWhenQuiet: a rate well within the initial table, or live
// entries lost only now and then to a full bucket, never grow the table.
func TestNoGrowthWhenQuiet(t *testing.T) {
	f := newFilter(t, dedup.DefaultConfig())
	metas := distinctMetas(t, 4096)
	for lap := range 50 {
		for i, m := range metas {
			m.Timestamp = int64(lap*len(metas)+i) * 20 // 50 kpps: 500 packets in the window
			require.False(t, f.Duplicate(m))
		}
	}
	s := f.Stats()
	require.Equal(t, uint64(4096), s.Size, "%+v", s)
	require.Zero(t, s.Grown)

	cfg := dedup.DefaultConfig()
	cfg.Capacity = 64
	require.Equal(t, uint64(64), newFilter(t, cfg).Stats().Size, "a Capacity below the initial size is the size")
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*dedup.Config)
		want string
	}{
		{func(c *dedup.Config) { c.Window = 0 }, "dataplane.dedup.window"},
		{func(c *dedup.Config) { c.Window = 2 * time.Second }, "dataplane.dedup.window"},
		{func(c *dedup.Config) { c.Capacity = 1 }, "dataplane.dedup.capacity"},
	} {
		c := dedup.DefaultConfig()
		tc.mod(&c)
		require.ErrorContains(t, c.Validate(), tc.want)
	}
	require.NoError(t, dedup.DefaultConfig().Validate())
}

func TestKeyIgnoresTapIdentity(t *testing.T) {
	p := pkt(3)
	a := decode(t, p.Frame(testframes.Plain), 0)
	p.TTL = 12
	b := decode(t, p.Frame(testframes.ERSPAN2), 0)
	require.NotEqual(t, a.TapType, b.TapType)
	require.NotEqual(t, a.TTL, b.TTL)
	require.Equal(t, dedup.Key(a), dedup.Key(b))
}

func TestDuplicateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	f := newFilter(t, dedup.DefaultConfig())
	m := decode(t, pkt(1).Frame(testframes.VXLAN), 0)
	require.Zero(t, testing.AllocsPerRun(1000, func() {
		m.Timestamp += 20_000
		f.Duplicate(m)
	}))
}

// TestDuplicateAllocsDistinct: many distinct packets, growth done or not
// possible, allocate nothing.
func TestDuplicateAllocsDistinct(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	metas := distinctMetas(t, 8192)
	f := newFilter(t, dedup.DefaultConfig())
	ts, i := int64(0), 0
	next := func() {
		m := metas[i%len(metas)]
		ts += 2 // 5000 packets in the window
		m.Timestamp = ts
		f.Duplicate(m)
		i++
	}
	for range 4 * len(metas) { // grow to the size the rate needs
		next()
	}
	grown := f.Stats().Grown
	require.Positive(t, grown)
	require.Zero(t, testing.AllocsPerRun(4*len(metas), next))
	require.Equal(t, grown, f.Stats().Grown)
}

// BenchmarkDuplicateDistinct looks up a stream of distinct packets at
// several rates (live = packets within one window), so the table grows to
// the size the rate needs; its final size is reported as entries.
func BenchmarkDuplicateDistinct(b *testing.B) {
	metas := distinctMetas(b, 1<<16)
	for _, live := range []int{500, 4000, 16000} {
		b.Run(fmt.Sprintf("live=%d", live), func(b *testing.B) {
			f, _ := dedup.New(dedup.DefaultConfig())
			step := max(int64(10_000/live), 1) // µs between packets
			var ts int64
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				m := metas[i&(1<<16-1)]
				ts += step
				if live > 10_000 && i%(live/10_000) != 0 {
					ts -= step // several packets per µs
				}
				m.Timestamp = ts
				f.Duplicate(m)
				i++
			}
			b.ReportMetric(float64(f.Stats().Size), "entries")
		})
	}
}

func BenchmarkDuplicate(b *testing.B) {
	for _, tc := range []struct {
		name string
		dup  bool
	}{{"case=new", false}, {"case=dup", true}} {
		b.Run(tc.name, func(b *testing.B) {
			f, _ := dedup.New(dedup.DefaultConfig())
			metas := make([]*tap.Meta, 4096)
			for i := range metas {
				metas[i] = decode(b, testframes.SmallUDP(uint32(i)), 0)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				m := metas[i&4095]
				if !tc.dup {
					m.Timestamp += 20_000 // past the window: always new
				}
				f.Duplicate(m)
				i++
			}
		})
	}
}
