package flowtable

import (
	"net/netip"
	"testing"

	"github.com/tapflow/tapflow/internal/pcapgen"
	"github.com/tapflow/tapflow/tap"
)

// fuzzConvs are the conversations a fuzz input's packets belong to: two
// IPv4 and one IPv6 5-tuple, and a second flow on the first pair of hosts.
var fuzzConvs = [4]Conv{
	DefaultConv,
	{Client: DefaultConv.Client, Server: DefaultConv.Server, CISN: 0xfffffff0, SISN: 7}, // sequence numbers about to wrap
	{Client: netip.MustParseAddrPort("[2001:db8::1]:5000"), Server: netip.MustParseAddrPort("[2001:db8::2]:443"), CISN: 1, SISN: 1 << 31},
	{Client: netip.MustParseAddrPort("10.0.0.1:40001"), Server: netip.MustParseAddrPort("10.0.0.2:80"), CISN: 42, SISN: 4242},
}

// fuzzPackets turns each 8 bytes of b into a packet of one of fuzzConvs:
//
//	0: conversation (bits 0-1), direction (bit 2), protocol (bits 3-4: TCP, TCP, UDP, ICMP)
//	1: TCP flags
//	2-3: sequence number, relative to the direction's ISN
//	4: acknowledgement number, relative to the other ISN, in 64-byte steps
//	5: payload length
//	6: time step: bits 0-5 in ms, ×1000 (up to 63 s, for timeouts and
//	   forced reports) when bit 6 is set; backwards when bit 7 is set
//	7: window (0 is a zero window)
//
// Anything goes: flags no stack sends, sequence numbers far outside the
// window, time going backwards. The clock never goes before Base.
func fuzzPackets(b []byte) []tap.Meta {
	var ms []tap.Meta
	at := int64(0)
	for ; len(b) >= 8; b = b[8:] {
		c := fuzzConvs[b[0]&3]
		dir := int(b[0]>>2) & 1
		step := int64(b[6]&63) * 1000
		if b[6]&64 != 0 {
			step *= 1000
		}
		if b[6]&128 != 0 {
			step = -step
		}
		at = max(0, at+step)
		var p pcapgen.Packet
		switch b[0] >> 3 & 3 {
		case 2:
			p = c.UDP(dir, at, int(b[5]))
		case 3:
			p = c.ICMP(dir, at, int(b[5]))
		default:
			p = c.TCP(dir, at, "", uint32(b[2])|uint32(b[3])<<8, 0, int(b[5]))
			p.Flags = b[1]
			p.Ack = c.SISN + uint32(b[4])*64
			if dir == S {
				p.Ack = c.CISN + uint32(b[4])*64
			}
			p.Window = uint16(b[7]) << 8
		}
		ms = append(ms, MetaOf(p))
	}
	return ms
}

// FuzzUpdate feeds the table packet sequences of a few flows, half of them
// through Update and half through UpdateBatch, with forced reports,
// timeouts and a full table all reachable (the table holds two flows).
// Invariants, besides not panicking: every packet the table took is in
// exactly one record, each record is counted in Stats, and nothing is left
// after Flush.
func FuzzUpdate(f *testing.F) {
	c := DefaultConv
	seed := func(ps ...pcapgen.Packet) []byte {
		var b []byte
		var last int64
		for _, p := range ps {
			d := (p.At - Base - last) / 1000
			last = p.At - Base
			proto := byte(0)
			if p.Proto == pcapgen.UDP {
				proto = 2
			}
			dir := byte(0)
			if p.Src == c.Server {
				dir = 1
			}
			b = append(b, dir<<2|proto<<3, p.Flags, 0, 0, 0, byte(p.Payload), byte(min(d, 63)), 0xff)
		}
		return b
	}
	f.Add(seed(c.Handshake()...))
	f.Add(seed(append(c.Handshake(), c.TCP(C, 40_000, "PA", 1, 1, 100), c.TCP(S, 50_000, "PA", 1, 101, 200),
		c.TCP(C, 60_000, "FA", 101, 201, 0), c.TCP(S, 70_000, "FA", 201, 102, 0), c.TCP(C, 80_000, "A", 102, 202, 0))...))
	f.Add(seed(c.UDP(C, 0, 40), c.UDP(S, 5_000, 200), c.TCP(C, 6_000, "R", 0, 0, 0)))
	f.Add([]byte{0, 2, 0, 0, 0, 0, 0x7f, 0, 4, 0x12, 0, 0, 0, 0, 0xff, 0, 1, 0x10, 0, 0, 1, 10, 0xc1, 0})

	f.Fuzz(func(t *testing.T, b []byte) {
		ms := fuzzPackets(b)
		cfg := testConfig()
		cfg.Capacity = 2
		sink := &collect{}
		tb, err := New(cfg, sink, 0)
		if err != nil {
			t.Fatal(err)
		}
		half := len(ms) / 2
		for i := range ms[:half] {
			tb.Update(&ms[i])
		}
		var done int
		tb.UpdateBatch(ms[half:], &done)
		tb.Flush()

		st := tb.Stats()
		var pkts uint64
		for _, r := range sink.recs {
			pkts += r.PacketsTx + r.PacketsRx
		}
		if pkts != st.Packets {
			t.Errorf("records hold %d packets, the table took %d", pkts, st.Packets)
		}
		if st.Packets > uint64(len(ms)) {
			t.Errorf("the table took %d packets of %d", st.Packets, len(ms))
		}
		if st.Reports != uint64(len(sink.recs)) {
			t.Errorf("%d records, Stats.Reports %d", len(sink.recs), st.Reports)
		}
		if st.Active != 0 {
			t.Errorf("%d flows left after Flush", st.Active)
		}
	})
}
