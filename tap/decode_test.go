package tap_test

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/tap"
)

// Addresses and ports of the crafted frames: the inner conversation is
// innerSrc:40000 → innerDst:80 (or their IPv6 twins); tunnels run between
// outerSrc and outerDst.
var (
	innerSrc  = netip.MustParseAddr("10.0.0.1")
	innerDst  = netip.MustParseAddr("10.0.0.2")
	innerSrc6 = netip.MustParseAddr("2001:db8::1")
	innerDst6 = netip.MustParseAddr("2001:db8::2")
	outerSrc  = netip.MustParseAddr("192.0.2.1")
	outerDst  = netip.MustParseAddr("192.0.2.254")
	outerSrc6 = netip.MustParseAddr("2001:db8:ffff::1")
	outerDst6 = netip.MustParseAddr("2001:db8:ffff::fe")
	macA      = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	macB      = net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
	payload   = []byte("hello tapflow")
)

// outerXOR is the tap port of a tunnel between outerSrc and outerDst that
// carries no id of its own.
func outerXOR(a, b netip.Addr) uint32 {
	x, y := a.As16(), b.As16()
	return binary.BigEndian.Uint32(x[12:]) ^ binary.BigEndian.Uint32(y[12:])
}

// build serializes layers, fixing lengths; raw header bytes go in as
// gopacket.Payload.
func build(tb testing.TB, ls ...gopacket.SerializableLayer) []byte {
	tb.Helper()
	buf := gopacket.NewSerializeBuffer()
	require.NoError(tb, gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, ls...))
	return append([]byte(nil), buf.Bytes()...)
}

func eth(t layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: t}
}

func dot1q(vlan uint16, next layers.EthernetType) *layers.Dot1Q {
	return &layers.Dot1Q{VLANIdentifier: vlan, Type: next}
}

func ip4(src, dst netip.Addr, proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: 0x1234, Protocol: proto,
		SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
}

func ip6(src, dst netip.Addr, next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: next, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
}

func tcpSYN() *layers.TCP {
	return &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: 1000, SYN: true, Window: 64240, DataOffset: 8,
		Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}}}}
}

func tcpData() *layers.TCP {
	return &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: 1001, Ack: 5001, ACK: true, PSH: true, Window: 502}
}

func udp(sp, dp uint16) *layers.UDP {
	return &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
}

// inner4 is Ethernet + IPv4 + TCP data, the frame most tunnels carry.
func inner4(tb testing.TB) []gopacket.SerializableLayer {
	return []gopacket.SerializableLayer{eth(layers.EthernetTypeIPv4), ip4(innerSrc, innerDst, layers.IPProtocolTCP), tcpData(), gopacket.Payload(payload)}
}

// ipOnly is IPv4 + TCP data without Ethernet.
func ipOnly() []gopacket.SerializableLayer {
	return []gopacket.SerializableLayer{ip4(innerSrc, innerDst, layers.IPProtocolTCP), tcpData(), gopacket.Payload(payload)}
}

func cat(ls ...any) []gopacket.SerializableLayer {
	var out []gopacket.SerializableLayer
	for _, l := range ls {
		switch v := l.(type) {
		case gopacket.SerializableLayer:
			out = append(out, v)
		case []gopacket.SerializableLayer:
			out = append(out, v...)
		default:
			panic("cat: not a layer")
		}
	}
	return out
}

// ERSPAN type III header (draft-foschiano-erspan §4.2); ft is the frame type.
func erspan3(session uint16, vlan uint16, ft uint8, platform bool) gopacket.Payload {
	h := make([]byte, 12)
	binary.BigEndian.PutUint16(h, 2<<12|vlan&0x0FFF)
	binary.BigEndian.PutUint16(h[2:], session&0x03FF)
	binary.BigEndian.PutUint32(h[4:], 0xDEADBEEF) // timestamp
	h[10] = ft << 2
	if platform {
		h[11] |= 1
		h = append(h, 0x08, 0, 0, 0, 0, 0, 0, 1) // platform id 1, timestamp high bits
	}
	return h
}

// vxlanGPE is a VXLAN-GPE header (draft-ietf-nvo3-vxlan-gpe) with next protocol np.
func vxlanGPE(vni uint32, np uint8) gopacket.Payload {
	h := make([]byte, 8)
	h[0] = 0x0C // I and P flags
	h[3] = np
	binary.BigEndian.PutUint32(h[4:], vni<<8)
	return h
}

// nsh is an NSH MD type 2 base + service path header (RFC 8300) without
// metadata, followed by next protocol np.
func nsh(np uint8) gopacket.Payload {
	h := make([]byte, 8)
	binary.BigEndian.PutUint16(h, 0x0FC2) // TTL 63, length 2 words
	h[2] = 0x02                           // MD type 2
	h[3] = np
	binary.BigEndian.PutUint32(h[4:], 0x00030907) // SPI 0x309, SI 7
	return h
}

type want struct {
	err              error
	src, dst         netip.Addr
	sport, dport     uint16
	proto            uint8
	tapType          tap.TapType
	tapPort          uint32
	vlan             uint16
	outerSrc, outerD netip.Addr
	payload          []byte
	fragment         bool
	winScale         int8
	icmpType         uint8
}

// tcpInner is the inner TCP data packet's expectation, without tunnel.
func tcpInner() want {
	return want{src: innerSrc, dst: innerDst, sport: 40000, dport: 80, proto: tap.ProtoTCP, payload: payload, winScale: -1}
}

func (w want) tunnel(t tap.TapType, port uint32, os, od netip.Addr) want {
	w.tapType, w.tapPort, w.outerSrc, w.outerD = t, port, os, od
	return w
}

func (w want) withVLAN(v uint16) want { w.vlan = v; return w }

func TestDecodeCrafted(t *testing.T) {
	tunnel4 := func(proto layers.IPProtocol) *layers.IPv4 { return ip4(outerSrc, outerDst, proto) }
	xor4 := outerXOR(outerSrc, outerDst)
	xor6 := outerXOR(outerSrc6, outerDst6)
	cases := []struct {
		name  string
		link  uint32
		dec   tap.Decoder // LinkType is set from link
		frame func(tb testing.TB) []byte
		want  want
	}{
		{name: "ethernet/ipv4/tcp", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte { return build(tb, inner4(tb)...) },
			want:  tcpInner()},
		{name: "ethernet/ipv4/tcp syn with window scale", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, eth(layers.EthernetTypeIPv4), ip4(innerSrc, innerDst, layers.IPProtocolTCP), tcpSYN())
			},
			want: want{src: innerSrc, dst: innerDst, sport: 40000, dport: 80, proto: tap.ProtoTCP, payload: []byte{}, winScale: 7}},
		{name: "ethernet/ipv6/udp", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, eth(layers.EthernetTypeIPv6), ip6(innerSrc6, innerDst6, layers.IPProtocolUDP), udp(5353, 53), gopacket.Payload(payload))
			},
			want: want{src: innerSrc6, dst: innerDst6, sport: 5353, dport: 53, proto: tap.ProtoUDP, payload: payload, winScale: -1}},
		{name: "ipv6 hop-by-hop and destination options", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				hbh := gopacket.Payload{60, 0, 1, 4, 0, 0, 0, 0}                         // next: dst opts, PadN
				dst := gopacket.Payload{6, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0} // next: TCP, 16 bytes
				return build(tb, eth(layers.EthernetTypeIPv6), ip6(innerSrc6, innerDst6, 0), hbh, dst, tcpData(), gopacket.Payload(payload))
			},
			want: want{src: innerSrc6, dst: innerDst6, sport: 40000, dport: 80, proto: tap.ProtoTCP, payload: payload, winScale: -1}},
		{name: "ipv6 non-first fragment", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				frag := gopacket.Payload{17, 0, 0x05, 0x01, 0, 0, 0, 42} // UDP, offset 160, M, id 42
				return build(tb, eth(layers.EthernetTypeIPv6), ip6(innerSrc6, innerDst6, 44), frag, gopacket.Payload(payload))
			},
			want: want{src: innerSrc6, dst: innerDst6, proto: tap.ProtoUDP, payload: payload, fragment: true, winScale: -1}},
		{name: "ipv4 non-first fragment", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				ip := ip4(innerSrc, innerDst, layers.IPProtocolUDP)
				ip.FragOffset = 185
				return build(tb, eth(layers.EthernetTypeIPv4), ip, gopacket.Payload(payload))
			},
			want: want{src: innerSrc, dst: innerDst, proto: tap.ProtoUDP, payload: payload, fragment: true, winScale: -1}},
		{name: "802.1Q", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeDot1Q), dot1q(100, layers.EthernetTypeIPv4), ipOnly())...)
			},
			want: tcpInner().withVLAN(100)},
		{name: "802.1ad QinQ 0x88A8 over 0x8100", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeQinQ), dot1q(200, layers.EthernetTypeDot1Q), dot1q(2001, layers.EthernetTypeIPv4), ipOnly())...)
			},
			want: tcpInner().withVLAN(2001)},
		{name: "QinQ 0x9100 over 0x8100", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(0x9100), dot1q(300, layers.EthernetTypeDot1Q), dot1q(301, layers.EthernetTypeIPv4), ipOnly())...)
			},
			want: tcpInner().withVLAN(301)},
		{name: "MPLS two labels then IPv4", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeMPLSUnicast), &layers.MPLS{Label: 16, TTL: 64}, &layers.MPLS{Label: 17, StackBottom: true, TTL: 64}, ipOnly())...)
			},
			want: tcpInner().tunnel(tap.TapMPLS, 0, netip.Addr{}, netip.Addr{})},
		{name: "MPLS then IPv6", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, eth(layers.EthernetTypeMPLSUnicast), &layers.MPLS{Label: 16, StackBottom: true, TTL: 64},
					ip6(innerSrc6, innerDst6, layers.IPProtocolUDP), udp(5353, 53), gopacket.Payload(payload))
			},
			want: want{src: innerSrc6, dst: innerDst6, sport: 5353, dport: 53, proto: tap.ProtoUDP, payload: payload, tapType: tap.TapMPLS, winScale: -1}},
		{name: "MPLS Ethernet pseudowire with control word", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeMPLSUnicast), &layers.MPLS{Label: 16, StackBottom: true, TTL: 64},
					gopacket.Payload{0, 0, 0, 1}, eth(layers.EthernetTypeDot1Q), dot1q(55, layers.EthernetTypeIPv4), ipOnly())...)
			},
			want: tcpInner().tunnel(tap.TapMPLS, 0, netip.Addr{}, netip.Addr{}).withVLAN(55)},
		{name: "PPPoE session", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypePPPoESession), &layers.PPPoE{Version: 1, Type: 1, Code: layers.PPPoECodeSession, SessionId: 7},
					gopacket.Payload{0x00, 0x21}, ipOnly())...)
			},
			want: tcpInner()},
		{name: "GRE with key carrying IPv4", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolGRE),
					&layers.GRE{KeyPresent: true, Key: 0xABCD, Protocol: layers.EthernetTypeIPv4}, ipOnly())...)
			},
			want: tcpInner().tunnel(tap.TapGRE, 0xABCD, outerSrc, outerDst)},
		{name: "GRE checksum+key+seq, transparent Ethernet bridging", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolGRE),
					&layers.GRE{ChecksumPresent: true, KeyPresent: true, Key: 9, SeqPresent: true, Seq: 77, Protocol: layers.EthernetTypeTransparentEthernetBridging},
					eth(layers.EthernetTypeDot1Q), dot1q(12, layers.EthernetTypeIPv4), ipOnly())...)
			},
			want: tcpInner().tunnel(tap.TapGRE, 9, outerSrc, outerDst).withVLAN(12)},
		{name: "GRE keyless: tap port is outer src xor dst", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeIPv4), ip4(outerDst, outerSrc, layers.IPProtocolGRE),
					&layers.GRE{Protocol: layers.EthernetTypeIPv4}, ipOnly())...)
			},
			want: tcpInner().tunnel(tap.TapGRE, xor4, outerDst, outerSrc)},
		{name: "GRE keepalive is an outer GRE flow", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, eth(layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolGRE), &layers.GRE{Protocol: 0})
			},
			want: want{src: outerSrc, dst: outerDst, proto: tap.ProtoGRE, payload: []byte{0, 0, 0, 0}, winScale: -1}},
		{name: "PPTP enhanced GRE (version 1) with PPP", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolGRE),
					&layers.GRE{KeyPresent: true, Key: 40<<16 | 38992, SeqPresent: true, Seq: 106, AckPresent: true, Ack: 140, Version: 1, Protocol: 0x880B},
					gopacket.Payload{0xFF, 0x03, 0x00, 0x21}, ipOnly())...)
			},
			want: tcpInner().tunnel(tap.TapGRE, xor4, outerSrc, outerDst)},
		{name: "WCCP v2 redirect in GRE", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolGRE),
					&layers.GRE{Protocol: 0x883E}, gopacket.Payload{0, 0x59, 0, 0x48}, ipOnly())...)
			},
			want: tcpInner().tunnel(tap.TapGRE, xor4, outerSrc, outerDst)},
		{name: "ERSPAN type I", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolGRE),
					&layers.GRE{Protocol: layers.EthernetTypeERSPAN}, inner4(tb))...)
			},
			want: tcpInner().tunnel(tap.TapERSPAN, xor4, outerSrc, outerDst)},
		{name: "ERSPAN type II session and VLAN", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolGRE),
					&layers.GRE{SeqPresent: true, Seq: 1, Protocol: layers.EthernetTypeERSPAN},
					&layers.ERSPANII{Version: 1, VLANIdentifier: 5, SessionID: 101, TrunkEncap: 2, Index: 3}, inner4(tb))...)
			},
			want: tcpInner().tunnel(tap.TapERSPAN, 101, outerSrc, outerDst).withVLAN(5)},
		{name: "ERSPAN type II, tag preserved in the frame wins", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeDot1Q), dot1q(999, layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolGRE),
					&layers.GRE{SeqPresent: true, Seq: 1, Protocol: layers.EthernetTypeERSPAN},
					&layers.ERSPANII{Version: 1, VLANIdentifier: 7, SessionID: 1023, TrunkEncap: 3},
					eth(layers.EthernetTypeDot1Q), dot1q(7, layers.EthernetTypeIPv4), ipOnly())...)
			},
			want: tcpInner().tunnel(tap.TapERSPAN, 1023, outerSrc, outerDst).withVLAN(7)},
		{name: "ERSPAN type III Ethernet frame", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolGRE),
					&layers.GRE{SeqPresent: true, Seq: 1, Protocol: 0x22EB}, erspan3(300, 20, 0, false), inner4(tb))...)
			},
			want: tcpInner().tunnel(tap.TapERSPAN, 300, outerSrc, outerDst).withVLAN(20)},
		{name: "ERSPAN type III with platform subheader", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolGRE),
					&layers.GRE{SeqPresent: true, Seq: 1, Protocol: 0x22EB}, erspan3(301, 0, 0, true), inner4(tb))...)
			},
			want: tcpInner().tunnel(tap.TapERSPAN, 301, outerSrc, outerDst)},
		{name: "ERSPAN type III IP frame", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolGRE),
					&layers.GRE{SeqPresent: true, Seq: 1, Protocol: 0x22EB}, erspan3(302, 0, 2, true), ipOnly())...)
			},
			want: tcpInner().tunnel(tap.TapERSPAN, 302, outerSrc, outerDst)},
		{name: "ERSPAN type III unknown frame type 7 is dropped", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolGRE),
					&layers.GRE{SeqPresent: true, Seq: 1, Protocol: 0x22EB}, erspan3(303, 0, 7, false), ipOnly())...)
			},
			want: want{err: tap.ErrNotIP}},
		{name: "VXLAN", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolUDP), udp(51000, 4789),
					&layers.VXLAN{ValidIDFlag: true, VNI: 42}, inner4(tb))...)
			},
			want: tcpInner().tunnel(tap.TapVXLAN, 42, outerSrc, outerDst)},
		{name: "VXLAN on Linux's port 8472 by default", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolUDP), udp(51000, 8472),
					&layers.VXLAN{ValidIDFlag: true, VNI: 43}, inner4(tb))...)
			},
			want: tcpInner().tunnel(tap.TapVXLAN, 43, outerSrc, outerDst)},
		{name: "VXLAN on a configured port", link: tap.LinkEthernet, dec: tap.Decoder{VXLANPorts: []uint16{9999}},
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolUDP), udp(51000, 9999),
					&layers.VXLAN{ValidIDFlag: true, VNI: 44}, inner4(tb))...)
			},
			want: tcpInner().tunnel(tap.TapVXLAN, 44, outerSrc, outerDst)},
		{name: "VXLAN over IPv6 underlay, outer VLAN kept for an untagged inner frame", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeDot1Q), dot1q(10, layers.EthernetTypeIPv6), ip6(outerSrc6, outerDst6, layers.IPProtocolUDP), udp(51000, 4789),
					&layers.VXLAN{ValidIDFlag: true, VNI: 0xFFFFFF}, inner4(tb))...)
			},
			want: tcpInner().tunnel(tap.TapVXLAN, 0xFFFFFF, outerSrc6, outerDst6).withVLAN(10)},
		{name: "VXLAN without the I flag is a UDP flow", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, eth(layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolUDP), udp(51000, 4789),
					gopacket.Payload{0, 0, 0, 0, 0, 0, 0x2A, 0})
			},
			want: want{src: outerSrc, dst: outerDst, sport: 51000, dport: 4789, proto: tap.ProtoUDP, payload: []byte{0, 0, 0, 0, 0, 0, 0x2A, 0}, winScale: -1}},
		{name: "VXLAN with NoDecap is the outer flow", link: tap.LinkEthernet, dec: tap.Decoder{NoDecap: true},
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolUDP), udp(51000, 4789),
					&layers.VXLAN{ValidIDFlag: true, VNI: 42}, gopacket.Payload(payload))...)
			},
			want: want{src: outerSrc, dst: outerDst, sport: 51000, dport: 4789, proto: tap.ProtoUDP,
				payload: append([]byte{0x08, 0, 0, 0, 0, 0, 0x2A, 0}, payload...), winScale: -1}},
		{name: "ICMP inside VXLAN has no ports of the outer UDP", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, eth(layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolUDP), udp(51000, 4789),
					&layers.VXLAN{ValidIDFlag: true, VNI: 42}, eth(layers.EthernetTypeIPv4), ip4(innerSrc, innerDst, layers.IPProtocolICMPv4),
					&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 1, Seq: 1}, gopacket.Payload(payload))
			},
			want: want{src: innerSrc, dst: innerDst, proto: tap.ProtoICMP, icmpType: 8, payload: append([]byte{0, 1, 0, 1}, payload...),
				winScale: -1}.tunnel(tap.TapVXLAN, 42, outerSrc, outerDst)},
		{name: "VXLAN-GPE carrying IPv4", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolUDP), udp(51000, 4790), vxlanGPE(77, 1), ipOnly())...)
			},
			want: tcpInner().tunnel(tap.TapVXLAN, 77, outerSrc, outerDst)},
		{name: "VXLAN-GPE with NSH then Ethernet", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolUDP), udp(51000, 4790), vxlanGPE(78, 4), nsh(3), inner4(tb))...)
			},
			want: tcpInner().tunnel(tap.TapVXLAN, 78, outerSrc, outerDst)},
		{name: "NSH on Ethernet", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte { return build(tb, cat(eth(0x894F), nsh(1), ipOnly())...) },
			want:  tcpInner()},
		{name: "Geneve with options, Ethernet payload", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolUDP), udp(51000, 6081),
					&layers.Geneve{Protocol: layers.EthernetTypeTransparentEthernetBridging, VNI: 0xA,
						Options: []*layers.GeneveOption{{Class: 0x0102, Type: 0x80, Length: 8, Data: []byte{0, 0, 0, 12}}}},
					inner4(tb))...)
			},
			want: tcpInner().tunnel(tap.TapGeneve, 0xA, outerSrc, outerDst)},
		{name: "Geneve carrying IPv6 directly", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, eth(layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolUDP), udp(51000, 6081),
					&layers.Geneve{Protocol: layers.EthernetTypeIPv6, VNI: 0xB}, ip6(innerSrc6, innerDst6, layers.IPProtocolUDP), udp(5353, 53), gopacket.Payload(payload))
			},
			want: want{src: innerSrc6, dst: innerDst6, sport: 5353, dport: 53, proto: tap.ProtoUDP, payload: payload, winScale: -1}.
				tunnel(tap.TapGeneve, 0xB, outerSrc, outerDst)},
		{name: "MPLS in UDP", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolUDP), udp(51000, 6635),
					&layers.MPLS{Label: 21, StackBottom: true, TTL: 63}, ipOnly())...)
			},
			want: tcpInner().tunnel(tap.TapMPLS, xor4, outerSrc, outerDst)},
		{name: "GTP-U G-PDU", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				// flags 0x30 (version 1, PT), type 0xFF (G-PDU), length, TEID 0x11223344
				gtp := gopacket.Payload{0x30, 0xFF, 0x00, 0x00, 0x11, 0x22, 0x33, 0x44}
				return build(tb, cat(eth(layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolUDP), udp(2152, 2152), gtp, ipOnly())...)
			},
			want: tcpInner().tunnel(tap.TapGTP, xor4, outerSrc, outerDst)},
		{name: "GTP-U with sequence number and an extension header", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				// flags 0x36 (E and S), TEID, seq 7, N-PDU 0, next ext 0x85 (PDU session
				// container, 1 word: its last byte, next type, is 0)
				gtp := gopacket.Payload{0x36, 0xFF, 0x00, 0x00, 0x11, 0x22, 0x33, 0x44, 0x00, 0x07, 0x00, 0x85, 0x01, 0x00, 0x05, 0x00}
				return build(tb, cat(eth(layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolUDP), udp(2152, 2152), gtp, ipOnly())...)
			},
			want: tcpInner().tunnel(tap.TapGTP, xor4, outerSrc, outerDst)},
		{name: "IPIP", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolIPv4), ipOnly())...)
			},
			want: tcpInner().tunnel(tap.TapIPIP, xor4, outerSrc, outerDst)},
		{name: "IPIP reverse direction has the same tap port", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeIPv4), ip4(outerDst, outerSrc, layers.IPProtocolIPv4), ipOnly())...)
			},
			want: tcpInner().tunnel(tap.TapIPIP, xor4, outerDst, outerSrc)},
		{name: "6in4", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, eth(layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolIPv6), ip6(innerSrc6, innerDst6, layers.IPProtocolUDP), udp(5353, 53), gopacket.Payload(payload))
			},
			want: want{src: innerSrc6, dst: innerDst6, sport: 5353, dport: 53, proto: tap.ProtoUDP, payload: payload, winScale: -1}.
				tunnel(tap.TapIPIP, xor4, outerSrc, outerDst)},
		{name: "4in6", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeIPv6), ip6(outerSrc6, outerDst6, layers.IPProtocolIPv4), ipOnly())...)
			},
			want: tcpInner().tunnel(tap.TapIPIP, xor6, outerSrc6, outerDst6)},
		{name: "6in6", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, eth(layers.EthernetTypeIPv6), ip6(outerSrc6, outerDst6, layers.IPProtocolIPv6), ip6(innerSrc6, innerDst6, layers.IPProtocolUDP), udp(5353, 53), gopacket.Payload(payload))
			},
			want: want{src: innerSrc6, dst: innerDst6, sport: 5353, dport: 53, proto: tap.ProtoUDP, payload: payload, winScale: -1}.
				tunnel(tap.TapIPIP, xor6, outerSrc6, outerDst6)},
		{name: "VXLAN inside GRE: the outermost tunnel names the tap", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(eth(layers.EthernetTypeIPv4), tunnel4(layers.IPProtocolGRE), &layers.GRE{KeyPresent: true, Key: 5, Protocol: layers.EthernetTypeIPv4},
					ip4(netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.2"), layers.IPProtocolUDP), udp(1, 4789),
					&layers.VXLAN{ValidIDFlag: true, VNI: 42}, inner4(tb))...)
			},
			want: tcpInner().tunnel(tap.TapGRE, 5, outerSrc, outerDst)},
		{name: "ARP is not IP", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				return build(tb, eth(layers.EthernetTypeARP), &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
					HwAddressSize: 6, ProtAddressSize: 4, SourceHwAddress: macA, SourceProtAddress: innerSrc.AsSlice(),
					DstHwAddress: macB, DstProtAddress: innerDst.AsSlice()})
			},
			want: want{err: tap.ErrNotIP}},
		{name: "truncated IPv4 header", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte { return build(tb, inner4(tb)...)[:14+12] },
			want:  want{err: tap.ErrShortIP}},
		{name: "truncated TCP header", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte { return build(tb, inner4(tb)...)[:14+20+10] },
			want:  want{err: tap.ErrShortL4}},
		{name: "too many MPLS labels", link: tap.LinkEthernet,
			frame: func(tb testing.TB) []byte {
				ls := []gopacket.SerializableLayer{eth(layers.EthernetTypeMPLSUnicast)}
				for i := range 20 {
					ls = append(ls, &layers.MPLS{Label: uint32(16 + i), StackBottom: i == 19, TTL: 64})
				}
				return build(tb, append(ls, ipOnly()...)...)
			},
			want: want{err: tap.ErrTooManyHeaders}},
		{name: "linux cooked v1", link: tap.LinkSLL,
			frame: func(tb testing.TB) []byte {
				h := make([]byte, 16) // packet type, ARPHRD, address length, address(8), protocol
				binary.BigEndian.PutUint16(h[2:], 1)
				binary.BigEndian.PutUint16(h[4:], 6)
				copy(h[6:], macA)
				binary.BigEndian.PutUint16(h[14:], 0x0800)
				return build(tb, cat(gopacket.Payload(h), ipOnly())...)
			},
			want: tcpInner()},
		{name: "linux cooked v2", link: tap.LinkSLL2,
			frame: func(tb testing.TB) []byte {
				h := make([]byte, 20)
				binary.BigEndian.PutUint16(h, 0x0800)
				return build(tb, cat(gopacket.Payload(h), ipOnly())...)
			},
			want: tcpInner()},
		{name: "BSD null loopback", link: tap.LinkNull,
			frame: func(tb testing.TB) []byte { return build(tb, cat(gopacket.Payload{2, 0, 0, 0}, ipOnly())...) },
			want:  tcpInner()},
		{name: "raw IP", link: tap.LinkRaw,
			frame: func(tb testing.TB) []byte { return build(tb, ipOnly()...) },
			want:  tcpInner()},
		{name: "raw IPv6 link type", link: tap.LinkIPv6,
			frame: func(tb testing.TB) []byte {
				return build(tb, ip6(innerSrc6, innerDst6, layers.IPProtocolUDP), udp(5353, 53), gopacket.Payload(payload))
			},
			want: want{src: innerSrc6, dst: innerDst6, sport: 5353, dport: 53, proto: tap.ProtoUDP, payload: payload, winScale: -1}},
		{name: "PPP with MPLS", link: tap.LinkPPP,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(gopacket.Payload{0xFF, 0x03, 0x02, 0x81}, &layers.MPLS{Label: 100704, StackBottom: true, TTL: 1}, ipOnly())...)
			},
			want: tcpInner().tunnel(tap.TapMPLS, 0, netip.Addr{}, netip.Addr{})},
		{name: "Cisco HDLC in a capture labelled PPP", link: tap.LinkPPP,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(gopacket.Payload{0x0F, 0x00, 0x08, 0x00}, ipOnly())...)
			},
			want: tcpInner()},
		{name: "Cisco HDLC", link: tap.LinkCHDLC,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(gopacket.Payload{0x0F, 0x00, 0x08, 0x00}, ipOnly())...)
			},
			want: tcpInner()},
		{name: "PPI wrapping Ethernet", link: tap.LinkPPI,
			frame: func(tb testing.TB) []byte {
				return build(tb, cat(gopacket.Payload{0, 0, 8, 0, 1, 0, 0, 0}, inner4(tb))...)
			},
			want: tcpInner()},
		{name: "unknown link type", link: 147,
			frame: func(tb testing.TB) []byte { return build(tb, ipOnly()...) },
			want:  want{err: tap.ErrUnknownLink}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			frame := tc.frame(t)
			dec := tc.dec
			dec.LinkType = tc.link
			var m tap.Meta
			err := dec.Decode(frame, 1_700_000_000_000_000, uint32(len(frame)), &m)
			w := tc.want
			if w.err != nil {
				require.ErrorIs(t, err, w.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, w.src.String(), m.Src.String(), "src")
			require.Equal(t, w.dst.String(), m.Dst.String(), "dst")
			require.Equal(t, w.sport, m.SrcPort, "src port")
			require.Equal(t, w.dport, m.DstPort, "dst port")
			require.Equal(t, w.proto, m.Proto, "proto")
			require.Equal(t, w.tapType.String(), m.TapType.String(), "tap type")
			require.Equal(t, w.tapPort, m.TapPort, "tap port")
			require.Equal(t, w.vlan, m.VLAN, "vlan")
			require.Equal(t, w.outerSrc, m.OuterSrc, "outer src")
			require.Equal(t, w.outerD, m.OuterDst, "outer dst")
			require.Equal(t, w.fragment, m.Fragment, "fragment")
			require.Equal(t, w.winScale, m.WinScale, "window scale")
			require.Equal(t, w.icmpType, m.ICMPType, "icmp type")
			require.Equal(t, string(w.payload), string(m.Payload), "payload")
			require.Equal(t, uint32(len(w.payload)), m.PayloadLen, "payload length")
			require.False(t, m.Truncated)
			require.Equal(t, int64(1_700_000_000_000_000), m.Timestamp)
			require.Equal(t, uint32(len(frame)), m.WireLen)
		})
	}
}

// TestDecodeTruncatedCapture checks a frame cut by the snap length: the
// payload is what was captured, PayloadLen what the IP header announces.
func TestDecodeTruncatedCapture(t *testing.T) {
	frame := build(t, inner4(t)...)
	cut := frame[:len(frame)-5]
	var m tap.Meta
	require.NoError(t, tap.NewDecoder(tap.LinkEthernet).Decode(cut, 0, uint32(len(frame)), &m))
	require.True(t, m.Truncated)
	require.Equal(t, uint32(len(payload)), m.PayloadLen)
	require.Equal(t, string(payload[:len(payload)-5]), string(m.Payload))
}

// TestReasonCoversEveryError keeps Reason and ReasonNames in step.
func TestReasonCoversEveryError(t *testing.T) {
	for _, err := range []error{tap.ErrShortFrame, tap.ErrUnknownLink, tap.ErrNotIP, tap.ErrShortIP, tap.ErrBadIP, tap.ErrShortL4, tap.ErrTooManyHeaders} {
		r := tap.Reason(err)
		require.NotEqual(t, tap.ReasonOther, r, "%v", err)
		require.NotEmpty(t, tap.ReasonNames[r])
	}
}
