// Package pcapgen writes small synthetic captures for tests: Ethernet +
// IPv4/IPv6 + TCP, UDP or ICMP frames with exact timestamps, serialized by
// gopacket's layers and written with pcapgo. It is a test helper: it
// allocates freely and is not for the packet path.
package pcapgen

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// TCP flag bits, as in the TCP header's flags byte.
const (
	FIN = 0x01
	SYN = 0x02
	RST = 0x04
	PSH = 0x08
	ACK = 0x10
)

// IP protocol numbers.
const (
	TCP  = 6
	UDP  = 17
	ICMP = 1
)

// Packet describes one frame.
type Packet struct {
	At       int64 // capture time, µs since the Unix epoch
	Src, Dst netip.AddrPort
	Proto    uint8 // TCP, UDP or ICMP (ICMPv6 for IPv6 addresses)
	Flags    uint8 // TCP flags
	Seq, Ack uint32
	Window   uint16
	Payload  int   // payload bytes (filled with a pattern)
	ICMPType uint8 // ICMP type (8 echo request, 0 echo reply)
	IPID     uint16
}

// Headers is the frame length without payload: Ethernet + IP + L4 header
// (TCP without options).
func Headers(p Packet) int {
	n := 14 + 20
	if p.Src.Addr().Is6() && !p.Src.Addr().Is4In6() {
		n = 14 + 40
	}
	switch p.Proto {
	case TCP:
		return n + 20
	case UDP, ICMP:
		return n + 8
	}
	return n
}

// FrameLen is the serialized frame length of p: headers and payload,
// padded to Ethernet's 60-byte minimum as gopacket (and the wire) does.
func FrameLen(p Packet) int { return max(60, Headers(p)+p.Payload) }

// Frame serializes p.
func Frame(p Packet) ([]byte, error) {
	src, dst := p.Src.Addr().Unmap(), p.Dst.Addr().Unmap()
	eth := &layers.Ethernet{
		SrcMAC: net.HardwareAddr{0x02, 0, 0, 0, 0, 1},
		DstMAC: net.HardwareAddr{0x02, 0, 0, 0, 0, 2},
	}
	var ls []gopacket.SerializableLayer
	var netw gopacket.NetworkLayer
	if src.Is4() {
		eth.EthernetType = layers.EthernetTypeIPv4
		ip := &layers.IPv4{Version: 4, TTL: 64, Id: p.IPID, Flags: layers.IPv4DontFragment,
			SrcIP: src.AsSlice(), DstIP: dst.AsSlice(), Protocol: layers.IPProtocol(p.Proto)}
		ls, netw = append(ls, eth, ip), ip
	} else {
		eth.EthernetType = layers.EthernetTypeIPv6
		proto := layers.IPProtocol(p.Proto)
		if p.Proto == ICMP {
			proto = layers.IPProtocolICMPv6
		}
		ip := &layers.IPv6{Version: 6, HopLimit: 64, SrcIP: src.AsSlice(), DstIP: dst.AsSlice(), NextHeader: proto}
		ls, netw = append(ls, eth, ip), ip
	}
	switch p.Proto {
	case TCP:
		t := &layers.TCP{SrcPort: layers.TCPPort(p.Src.Port()), DstPort: layers.TCPPort(p.Dst.Port()),
			Seq: p.Seq, Ack: p.Ack, Window: p.Window, DataOffset: 5,
			FIN: p.Flags&FIN != 0, SYN: p.Flags&SYN != 0, RST: p.Flags&RST != 0, PSH: p.Flags&PSH != 0, ACK: p.Flags&ACK != 0}
		if err := t.SetNetworkLayerForChecksum(netw); err != nil {
			return nil, err
		}
		ls = append(ls, t)
	case UDP:
		u := &layers.UDP{SrcPort: layers.UDPPort(p.Src.Port()), DstPort: layers.UDPPort(p.Dst.Port())}
		if err := u.SetNetworkLayerForChecksum(netw); err != nil {
			return nil, err
		}
		ls = append(ls, u)
	case ICMP:
		if src.Is4() {
			ls = append(ls, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(p.ICMPType, 0), Id: 1, Seq: p.IPID})
		} else {
			// ICMPv6 echo: 4 bytes of type/code/checksum, then id and seq
			// as payload so the L4 header is 8 bytes like ICMPv4's.
			ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(p.ICMPType, 0)}
			if err := ic.SetNetworkLayerForChecksum(netw); err != nil {
				return nil, err
			}
			ls = append(ls, ic, gopacket.Payload([]byte{0, 1, byte(p.IPID >> 8), byte(p.IPID)}))
		}
	default:
		return nil, fmt.Errorf("pcapgen: unsupported protocol %d", p.Proto)
	}
	if p.Payload > 0 {
		pl := make([]byte, p.Payload)
		for i := range pl {
			pl[i] = byte('a' + i%26)
		}
		ls = append(ls, gopacket.Payload(pl))
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		return nil, fmt.Errorf("pcapgen: serialize: %w", err)
	}
	return buf.Bytes(), nil
}

// Write writes pkts to a new pcap file at path (Ethernet link type, µs
// timestamps). A packet with IPID 0 gets its index + 1, so that no two
// frames look like copies of one packet to dedup.
func Write(path string, pkts []Packet) error {
	recs := make([]Record, len(pkts))
	for i, p := range pkts {
		if p.IPID == 0 {
			p.IPID = uint16(i + 1)
		}
		b, err := Frame(p)
		if err != nil {
			return err
		}
		recs[i] = Record{Time: time.UnixMicro(p.At), Data: b}
	}
	return WriteRecords(path, recs)
}

// Record is one ready-made Ethernet frame of a capture file.
type Record struct {
	Time time.Time
	Data []byte
}

// WriteRecords writes Ethernet frames to a new pcap file at path.
func WriteRecords(path string, recs []Record) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		f.Close()
		return err
	}
	for _, r := range recs {
		ci := gopacket.CaptureInfo{Timestamp: r.Time, CaptureLength: len(r.Data), Length: len(r.Data)}
		if err := w.WritePacket(ci, r.Data); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}
