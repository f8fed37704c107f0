// Package testframes builds Ethernet frames and pcap files for the
// dataplane's tests: one inner packet wrapped plainly or in the tunnels a
// mirror uses (VXLAN, GRE, ERSPAN II), with a chosen TTL. It is test support
// and is not imported by production code.
package testframes

import (
	"encoding/binary"
	"fmt"
	"github.com/tapflow/tapflow/internal/pcapgen"
	"net"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Packet is one inner IPv4 packet.
type Packet struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	UDP              bool // UDP instead of TCP
	ID               uint16
	TTL              uint8
	Seq, Ack         uint32
	Flags            uint8 // TCP flags byte (0x10 ACK, 0x02 SYN…)
	Payload          []byte
}

// Encap is how a packet reaches the tap.
type Encap int

// Encapsulations.
const (
	Plain   Encap = iota // mirrored Ethernet frame
	VXLAN                // VXLAN VNI 42 from 192.0.2.1 to 192.0.2.254
	GRE                  // GRE with key 7, same endpoints
	ERSPAN2              // ERSPAN type II session 101, same endpoints
)

var (
	macA     = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	macB     = net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
	outerSrc = net.IP{192, 0, 2, 1}
	outerDst = net.IP{192, 0, 2, 254}
)

func (p Packet) inner() []gopacket.SerializableLayer {
	ttl := p.TTL
	if ttl == 0 {
		ttl = 64
	}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: ttl, Id: p.ID, SrcIP: p.Src.AsSlice(), DstIP: p.Dst.AsSlice()}
	var l4 gopacket.SerializableLayer
	if p.UDP {
		ip.Protocol = layers.IPProtocolUDP
		u := &layers.UDP{SrcPort: layers.UDPPort(p.SrcPort), DstPort: layers.UDPPort(p.DstPort)}
		u.SetNetworkLayerForChecksum(ip)
		l4 = u
	} else {
		ip.Protocol = layers.IPProtocolTCP
		f := p.Flags
		t := &layers.TCP{SrcPort: layers.TCPPort(p.SrcPort), DstPort: layers.TCPPort(p.DstPort), Seq: p.Seq, Ack: p.Ack, Window: 502,
			FIN: f&0x01 != 0, SYN: f&0x02 != 0, RST: f&0x04 != 0, PSH: f&0x08 != 0, ACK: f&0x10 != 0}
		t.SetNetworkLayerForChecksum(ip)
		l4 = t
	}
	return []gopacket.SerializableLayer{ip, l4, gopacket.Payload(p.Payload)}
}

// Frame returns p as an Ethernet frame mirrored through e.
func (p Packet) Frame(e Encap) []byte {
	eth := func(t layers.EthernetType) *layers.Ethernet {
		return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: t}
	}
	outer := func(proto layers.IPProtocol) *layers.IPv4 {
		return &layers.IPv4{Version: 4, IHL: 5, TTL: 255, Protocol: proto, SrcIP: outerSrc, DstIP: outerDst}
	}
	ls := []gopacket.SerializableLayer{}
	switch e {
	case Plain:
	case VXLAN:
		ip := outer(layers.IPProtocolUDP)
		u := &layers.UDP{SrcPort: 50000, DstPort: 4789}
		u.SetNetworkLayerForChecksum(ip)
		ls = append(ls, eth(layers.EthernetTypeIPv4), ip, u, &layers.VXLAN{ValidIDFlag: true, VNI: 42})
	case GRE:
		ls = append(ls, eth(layers.EthernetTypeIPv4), outer(layers.IPProtocolGRE),
			&layers.GRE{KeyPresent: true, Key: 7, Protocol: layers.EthernetTypeTransparentEthernetBridging})
	case ERSPAN2:
		ls = append(ls, eth(layers.EthernetTypeIPv4), outer(layers.IPProtocolGRE),
			&layers.GRE{SeqPresent: true, Seq: uint32(p.ID), Protocol: layers.EthernetTypeERSPAN},
			&layers.ERSPANII{Version: 1, SessionID: 101, Index: 1})
	default:
		panic(fmt.Sprintf("testframes: unknown encapsulation %d", e))
	}
	ls = append(ls, eth(layers.EthernetTypeIPv4))
	ls = append(ls, p.inner()...)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		panic("testframes: " + err.Error())
	}
	return append([]byte(nil), buf.Bytes()...)
}

// Record is one frame of a capture file.
type Record = pcapgen.Record

// WritePcap writes Ethernet records to path.
func WritePcap(path string, recs []Record) error { return pcapgen.WriteRecords(path, recs) }

// SmallUDP returns a minimal 60-byte Ethernet/IPv4/UDP frame (18 bytes of
// payload, the smallest Ethernet frame without FCS), the frames of a loss
// test. Frame i belongs to one of 4096 flows (256 sources × 16 ports) and
// carries i as IP id and payload, so no two frames within 65536 of one
// another are equal.
func SmallUDP(i uint32) []byte {
	f := make([]byte, 60)
	copy(f, []byte{0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00})
	ip := f[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], 46)
	binary.BigEndian.PutUint16(ip[4:], uint16(i))
	copy(ip[12:], []byte{10, 1, 0, byte(i >> 4)})
	copy(ip[16:], []byte{10, 2, 0, 1})
	var sum uint32
	for j := 0; j < 20; j += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[j:]))
	}
	for sum > 0xFFFF {
		sum = sum&0xFFFF + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	u := ip[20:]
	binary.BigEndian.PutUint16(u, 10000+uint16(i&0xF))
	binary.BigEndian.PutUint16(u[2:], 9)
	binary.BigEndian.PutUint16(u[4:], 26)
	binary.BigEndian.PutUint32(u[8:], i)
	return f
}
