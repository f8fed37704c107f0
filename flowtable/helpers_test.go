package flowtable

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/internal/pcapgen"
	"github.com/tapflow/tapflow/tap"
)

// Base is the time every test conversation starts at: 10 s after a minute
// boundary (1_699_999_980 s is one), so the first forced report is at
// Base + 50 s and shorter cases never meet one.
const Base = int64(1_699_999_990_000_000)

// C and S are the directions of a test packet: sent by the client, sent by
// the server.
const (
	C = 0
	S = 1
)

// Conv builds the packets of one test conversation. Sequence numbers in the
// builders are relative: a client packet's seq is relative to CISN and its
// ack to SISN; a server packet's the other way round. Times are µs after Base.
type Conv struct {
	Client, Server netip.AddrPort
	CISN, SISN     uint32
}

// DefaultConv is a client 10.0.0.1:40000 talking to 10.0.0.2:80.
var DefaultConv = Conv{
	Client: netip.MustParseAddrPort("10.0.0.1:40000"),
	Server: netip.MustParseAddrPort("10.0.0.2:80"),
	CISN:   1_000_000, SISN: 5_000_000,
}

// TCP returns a TCP packet from dir at Base+at with flags written as in
// tcpdump ("S", "SA", "A", "PA", "FA", "R", "RA"; "W" adds a zero window),
// relative seq/ack and n payload bytes.
func (c Conv) TCP(dir int, at int64, flags string, seq, ack uint32, n int) pcapgen.Packet {
	p := pcapgen.Packet{At: Base + at, Proto: pcapgen.TCP, Window: 65535, Payload: n}
	for _, ch := range flags {
		switch ch {
		case 'S':
			p.Flags |= pcapgen.SYN
		case 'A':
			p.Flags |= pcapgen.ACK
		case 'P':
			p.Flags |= pcapgen.PSH
		case 'F':
			p.Flags |= pcapgen.FIN
		case 'R':
			p.Flags |= pcapgen.RST
		case 'W':
			p.Window = 0
		default:
			panic("bad flag " + string(ch))
		}
	}
	if dir == C {
		p.Src, p.Dst, p.Seq = c.Client, c.Server, c.CISN+seq
		if p.Flags&pcapgen.ACK != 0 {
			p.Ack = c.SISN + ack
		}
	} else {
		p.Src, p.Dst, p.Seq = c.Server, c.Client, c.SISN+seq
		if p.Flags&pcapgen.ACK != 0 {
			p.Ack = c.CISN + ack
		}
	}
	return p
}

// UDP returns a UDP datagram from dir at Base+at with n payload bytes.
func (c Conv) UDP(dir int, at int64, n int) pcapgen.Packet {
	p := pcapgen.Packet{At: Base + at, Proto: pcapgen.UDP, Payload: n, Src: c.Client, Dst: c.Server}
	if dir == S {
		p.Src, p.Dst = c.Server, c.Client
	}
	return p
}

// ICMP returns an ICMP echo request (from C) or reply (from S).
func (c Conv) ICMP(dir int, at int64, n int) pcapgen.Packet {
	p := pcapgen.Packet{At: Base + at, Proto: pcapgen.ICMP, Payload: n, ICMPType: 8,
		Src: netip.AddrPortFrom(c.Client.Addr(), 0), Dst: netip.AddrPortFrom(c.Server.Addr(), 0)}
	if dir == S {
		p.Src, p.Dst, p.ICMPType = p.Dst, p.Src, 0
	}
	return p
}

// Handshake is SYN at 0, SYN-ACK at 10 000, ACK at 30 000 µs.
func (c Conv) Handshake() []pcapgen.Packet {
	return []pcapgen.Packet{
		c.TCP(C, 0, "S", 0, 0, 0),
		c.TCP(S, 10_000, "SA", 0, 1, 0),
		c.TCP(C, 30_000, "A", 1, 1, 0),
	}
}

// MetaOf is the tap.Meta the decoder produces for p.
func MetaOf(p pcapgen.Packet) tap.Meta {
	m := tap.Meta{
		Timestamp: p.At, WireLen: uint32(pcapgen.FrameLen(p)),
		Src: p.Src.Addr(), Dst: p.Dst.Addr(), IPVersion: 4, Proto: p.Proto, TTL: 64,
		SrcPort: p.Src.Port(), DstPort: p.Dst.Port(), WinScale: -1,
		PayloadLen: uint32(p.Payload), Payload: make([]byte, p.Payload),
	}
	switch p.Proto {
	case pcapgen.TCP:
		m.TCPFlags, m.Seq, m.Ack, m.Window = p.Flags, p.Seq, p.Ack, p.Window
	case pcapgen.ICMP:
		m.ICMPType, m.SrcPort, m.DstPort = p.ICMPType, 0, 0
	}
	return m
}

// collect is a Sink that keeps copies of every record.
type collect struct{ recs []FlowRecord }

func (c *collect) WriteFlows(recs []FlowRecord) { c.recs = append(c.recs, recs...) }

// testConfig is DefaultConfig sized for tests.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Capacity, cfg.BatchSize = 1024, 16
	return cfg
}

// Replay runs pkts through a new table with DefaultConfig timeouts and
// returns the records: with flush, ended by Flush (the end of a replay);
// otherwise ended by the clock moving one hour past the last packet.
func Replay(t testing.TB, pkts []pcapgen.Packet, flush bool) ([]FlowRecord, Stats) {
	t.Helper()
	sink := &collect{}
	tb, err := New(testConfig(), sink, 0)
	require.NoError(t, err)
	var last int64
	for _, p := range pkts {
		m := MetaOf(p)
		tb.Update(&m)
		last = max(last, p.At)
	}
	if flush {
		tb.Flush()
	} else {
		tb.Tick(last + int64(time.Hour/time.Microsecond))
		require.Zero(t, tb.Stats().Active, "flows left after the clock moved an hour on")
	}
	return sink.recs, tb.Stats()
}

// Metrics is the part of a FlowRecord the metric tests compare: all of the
// per-flow counters, so a case also proves nothing else was counted.
type Metrics struct {
	CloseType                        CloseType
	PacketsTx, PacketsRx             uint64
	RTT, RTTClient, RTTServer        uint32
	SRTSum, SRTMax                   uint64
	SRTCount                         uint32
	ARTSum, ARTMax                   uint64
	ARTCount                         uint32
	CITSum, CITMax                   uint64
	CITCount                         uint32
	RetransTx, RetransRx             uint32
	ZeroWinTx, ZeroWinRx             uint32
	OOOTx, OOORx                     uint32
	LostTx, LostRx                   uint32
	LostBeforeTapTx, LostBeforeTapRx uint32
	SYNCount, SYNACKCount, FINCount  uint32
}

// MetricsOf projects r.
func MetricsOf(r *FlowRecord) Metrics {
	return Metrics{
		CloseType: r.CloseType, PacketsTx: r.PacketsTx, PacketsRx: r.PacketsRx,
		RTT: r.RTT, RTTClient: r.RTTClient, RTTServer: r.RTTServer,
		SRTSum: r.SRTSum, SRTMax: r.SRTMax, SRTCount: r.SRTCount,
		ARTSum: r.ARTSum, ARTMax: r.ARTMax, ARTCount: r.ARTCount,
		CITSum: r.CITSum, CITMax: r.CITMax, CITCount: r.CITCount,
		RetransTx: r.RetransTx, RetransRx: r.RetransRx,
		ZeroWinTx: r.ZeroWinTx, ZeroWinRx: r.ZeroWinRx,
		OOOTx: r.OOOTx, OOORx: r.OOORx,
		LostTx: r.LostTx, LostRx: r.LostRx,
		LostBeforeTapTx: r.LostBeforeTapTx, LostBeforeTapRx: r.LostBeforeTapRx,
		SYNCount: r.SYNCount, SYNACKCount: r.SYNACKCount, FINCount: r.FINCount,
	}
}

// cat concatenates packet lists.
func cat(ps ...[]pcapgen.Packet) []pcapgen.Packet {
	var out []pcapgen.Packet
	for _, p := range ps {
		out = append(out, p...)
	}
	return out
}

// P is shorthand for a packet list.
func P(ps ...pcapgen.Packet) []pcapgen.Packet { return ps }
