package flowtable

import (
	"net/netip"

	"github.com/tapflow/tapflow/tap"
)

// traffic generates an endless packet stream for benchmarks and allocation
// tests without allocating: n TCP connections that each do a handshake and
// then request/response rounds (client 100 B request with PSH, server pure
// ACK, server 1000 B response, client ACK), interleaved across connections,
// 1 ms apart so that minute boundaries (forced reports) come by; or, with
// churn, one-packet UDP flows 1 µs apart with a new source port each
// (through a few tunnels), which time out, get evicted and are reported.
type traffic struct {
	n     int
	churn bool
	step  int64 // µs between packets
	i     int
	now   int64
	m     tap.Meta
}

func newTraffic(n int, churn bool) *traffic {
	g := &traffic{n: n, churn: churn, now: Base, step: 1000}
	if churn {
		g.step = 1
	}
	g.m = tap.Meta{IPVersion: 4, Proto: tap.ProtoTCP, TTL: 64, WinScale: -1, Window: 65535}
	return g
}

var (
	trafficCli   = netip.MustParseAddr("10.2.0.1")
	trafficSrv   = netip.MustParseAddr("10.3.0.1")
	trafficOuter = [4]netip.Addr{
		netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"),
		netip.MustParseAddr("192.0.2.3"), netip.MustParseAddr("192.0.2.4"),
	}
)

// next returns the next packet; it is valid until the following call.
func (g *traffic) next() *tap.Meta {
	m := &g.m
	g.now += g.step
	m.Timestamp = g.now
	if g.churn {
		g.i++
		m.Proto, m.Src, m.Dst = tap.ProtoUDP, trafficCli, trafficSrv
		m.SrcPort, m.DstPort = uint16(1024+g.i%60000), 53
		m.TapPort = uint32(g.i / 60000 % 1024)
		m.OuterSrc, m.OuterDst = trafficOuter[g.i%2], trafficOuter[2+g.i%2]
		m.PayloadLen, m.WireLen = 40, 82
		return m
	}
	conn := g.i % g.n
	step := g.i / g.n // the connection's packet number
	g.i++
	port := uint16(1024 + conn%60000)
	m.TapPort = uint32(conn / 60000)
	cISN, sISN := uint32(conn)*7919, uint32(conn)*104729
	client := true
	var flags uint8
	var seq, ack, n uint32
	switch step {
	case 0:
		flags, seq = tap.TCPSyn, cISN
	case 1:
		client, flags, seq, ack = false, tap.TCPSyn|tap.TCPAck, sISN, cISN+1
	case 2:
		flags, seq, ack = tap.TCPAck, cISN+1, sISN+1
	default:
		r := uint32(step-3) / 4 // round
		cs, ss := cISN+1+r*100, sISN+1+r*1000
		switch (step - 3) % 4 {
		case 0:
			flags, seq, ack, n = tap.TCPAck|tap.TCPPsh, cs, ss, 100
		case 1:
			client, flags, seq, ack = false, tap.TCPAck, ss, cs+100
		case 2:
			client, flags, seq, ack, n = false, tap.TCPAck|tap.TCPPsh, ss, cs+100, 1000
		case 3:
			flags, seq, ack = tap.TCPAck, cs+100, ss+1000
		}
	}
	m.Proto, m.TCPFlags, m.Seq, m.Ack, m.PayloadLen, m.WireLen = tap.ProtoTCP, flags, seq, ack, n, 54+n
	if client {
		m.Src, m.Dst, m.SrcPort, m.DstPort = trafficCli, trafficSrv, port, 80
	} else {
		m.Src, m.Dst, m.SrcPort, m.DstPort = trafficSrv, trafficCli, 80, port
	}
	return m
}
