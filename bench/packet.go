package bench

import "encoding/binary"

// ipPacket locates the parts of an Ethernet frame that the corpus rewrites.
// Offsets are into the captured frame.
type ipPacket struct {
	ipOff   int   // start of the IP header
	version uint8 // 4 or 6
	proto   uint8 // TCP or UDP (after IPv6 extension headers)
	l4Off   int   // start of the TCP/UDP header; -1 for a non-first fragment
	srcPort uint16
	dstPort uint16
}

const (
	etherIPv4  = 0x0800
	etherIPv6  = 0x86DD
	etherVLAN  = 0x8100
	etherQinQ  = 0x88A8
	etherQinQ2 = 0x9100
	protoTCP   = 6
	protoUDP   = 17
)

// tunnelPorts are UDP ports whose payload is a mirrored frame (VXLAN,
// VXLAN-GPE, Geneve). Multiplying them would copy the inner flows
// unchanged, so the corpus leaves them out.
var tunnelPorts = map[uint16]bool{4789: true, 4790: true, 6081: true}

// parseIP finds an IPv4/IPv6 TCP/UDP packet in an Ethernet frame with up to
// two VLAN tags. ok is false for anything else (ARP, ICMP, tunnels, a frame
// cut inside the IP header or before the ports of a first fragment).
func parseIP(frame []byte) (p ipPacket, ok bool) {
	if len(frame) < 14 {
		return p, false
	}
	et := binary.BigEndian.Uint16(frame[12:])
	off := 14
	for range 2 {
		if et != etherVLAN && et != etherQinQ && et != etherQinQ2 {
			break
		}
		if len(frame) < off+4 {
			return p, false
		}
		et = binary.BigEndian.Uint16(frame[off+2:])
		off += 4
	}
	p.ipOff = off
	switch et {
	case etherIPv4:
		if len(frame) < off+20 || frame[off]>>4 != 4 {
			return p, false
		}
		ihl := int(frame[off]&0x0f) * 4
		if ihl < 20 || len(frame) < off+ihl {
			return p, false
		}
		p.version, p.proto = 4, frame[off+9]
		fragOff := binary.BigEndian.Uint16(frame[off+6:]) & 0x1fff
		p.l4Off = off + ihl
		if fragOff != 0 {
			p.l4Off = -1
		}
	case etherIPv6:
		if len(frame) < off+40 || frame[off]>>4 != 6 {
			return p, false
		}
		p.version = 6
		next, l4 := frame[off+6], off+40
		// Walk hop-by-hop, routing, fragment and destination options.
		for range 8 {
			switch next {
			case 0, 43, 60:
				if len(frame) < l4+8 {
					return p, false
				}
				next, l4 = frame[l4], l4+8+int(frame[l4+1])*8
				continue
			case 44:
				if len(frame) < l4+8 {
					return p, false
				}
				if binary.BigEndian.Uint16(frame[l4+2:])&0xfff8 != 0 {
					p.proto, p.l4Off = frame[l4], -1
					return p, p.proto == protoTCP || p.proto == protoUDP
				}
				next, l4 = frame[l4], l4+8
				continue
			}
			break
		}
		p.proto, p.l4Off = next, l4
	default:
		return p, false
	}
	if p.proto != protoTCP && p.proto != protoUDP {
		return p, false
	}
	if p.l4Off < 0 {
		return p, true
	}
	if len(frame) < p.l4Off+4 {
		return p, false
	}
	p.srcPort = binary.BigEndian.Uint16(frame[p.l4Off:])
	p.dstPort = binary.BigEndian.Uint16(frame[p.l4Off+2:])
	if p.proto == protoUDP && (tunnelPorts[p.srcPort] || tunnelPorts[p.dstPort]) {
		return p, false
	}
	return p, true
}

// flowKey is a direction-independent 5-tuple.
type flowKey struct {
	lo, hi         [16]byte
	loPort, hiPort uint16
	proto          uint8
}

// key returns p's 5-tuple from frame after rewriting with mask (see rewrite).
func (p *ipPacket) key(frame []byte, mask uint32) flowKey {
	var a, b [16]byte
	if p.version == 4 {
		// IPv4-mapped, like netip.Addr.As16.
		a[10], a[11], b[10], b[11] = 0xff, 0xff, 0xff, 0xff
		copy(a[12:], frame[p.ipOff+12:p.ipOff+16])
		copy(b[12:], frame[p.ipOff+16:p.ipOff+20])
		m := uint16(mask)
		binary.BigEndian.PutUint16(a[14:], binary.BigEndian.Uint16(a[14:])^m)
		binary.BigEndian.PutUint16(b[14:], binary.BigEndian.Uint16(b[14:])^m)
	} else {
		copy(a[:], frame[p.ipOff+8:p.ipOff+24])
		copy(b[:], frame[p.ipOff+24:p.ipOff+40])
		binary.BigEndian.PutUint32(a[12:], binary.BigEndian.Uint32(a[12:])^mask)
		binary.BigEndian.PutUint32(b[12:], binary.BigEndian.Uint32(b[12:])^mask)
	}
	k := flowKey{proto: p.proto}
	sp, dp := p.srcPort, p.dstPort
	if less(a, b) || (a == b && sp <= dp) {
		k.lo, k.hi, k.loPort, k.hiPort = a, b, sp, dp
	} else {
		k.lo, k.hi, k.loPort, k.hiPort = b, a, dp, sp
	}
	return k
}

func less(a, b [16]byte) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// rewrite XORs the host part of both addresses of the packet in frame with
// mask (the low 16 bits of an IPv4 address, the low 32 bits of an IPv6
// address) and patches the IPv4 header checksum and the TCP/UDP checksum
// incrementally (RFC 1624), so every copy of a packet is a valid packet of
// a distinct flow. Both ends get the same mask, so a flow stays one flow.
func (p *ipPacket) rewrite(frame []byte, mask uint32) {
	if mask == 0 {
		return
	}
	var words [4]int // offsets of the 16-bit words that change
	n := 0
	if p.version == 4 {
		words[0], words[1] = p.ipOff+14, p.ipOff+18
		n = 2
	} else {
		words[0], words[1], words[2], words[3] = p.ipOff+20, p.ipOff+22, p.ipOff+36, p.ipOff+38
		n = 4
	}
	m := [2]uint16{uint16(mask >> 16), uint16(mask)}
	var delta uint32 // Σ(~old + new) in one's complement
	for i := range n {
		o := words[i]
		mw := m[1]
		if p.version == 6 && i%2 == 0 {
			mw = m[0]
		}
		old := binary.BigEndian.Uint16(frame[o:])
		nw := old ^ mw
		binary.BigEndian.PutUint16(frame[o:], nw)
		delta += uint32(^old) + uint32(nw)
	}
	if p.version == 4 {
		patchSum(frame, p.ipOff+10, delta, false)
	}
	if p.l4Off < 0 {
		return
	}
	switch p.proto {
	case protoTCP:
		patchSum(frame, p.l4Off+16, delta, false)
	case protoUDP:
		patchSum(frame, p.l4Off+6, delta, true)
	}
}

// patchSum applies delta to the checksum at off if it was captured. A zero
// UDP checksum (none, IPv4 only) stays zero; a computed zero is sent as
// 0xffff.
func patchSum(frame []byte, off int, delta uint32, udp bool) {
	if len(frame) < off+2 {
		return
	}
	hc := binary.BigEndian.Uint16(frame[off:])
	if udp && hc == 0 {
		return
	}
	s := uint32(^hc) + delta
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	nc := ^uint16(s)
	if udp && nc == 0 {
		nc = 0xffff
	}
	binary.BigEndian.PutUint16(frame[off:], nc)
}
