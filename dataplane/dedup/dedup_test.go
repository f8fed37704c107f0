package dedup_test

import (
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
