package bench

import (
	"encoding/binary"
	"testing"
)

// onesSum is the one's-complement sum of b (odd length padded with zero).
func onesSum(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

func fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// checksumsOK verifies the IPv4 header checksum and the TCP/UDP checksum of
// a complete, unfragmented packet.
func checksumsOK(t *testing.T, frame []byte, p ipPacket) (ipOK, l4OK bool) {
	t.Helper()
	o := p.ipOff
	var pseudo uint32
	var l4 []byte
	ipOK = true
	if p.version == 4 {
		ihl := int(frame[o]&0x0f) * 4
		ipOK = fold(onesSum(0, frame[o:o+ihl])) == 0xffff
		total := int(binary.BigEndian.Uint16(frame[o+2:]))
		l4 = frame[p.l4Off : o+total]
		pseudo = onesSum(0, frame[o+12:o+20])
	} else {
		plen := int(binary.BigEndian.Uint16(frame[o+4:]))
		l4 = frame[p.l4Off : o+40+plen]
		pseudo = onesSum(0, frame[o+8:o+40])
	}
	pseudo += uint32(p.proto) + uint32(len(l4))
	return ipOK, fold(onesSum(pseudo, l4)) == 0xffff
}

// buildFrame returns an Ethernet/IPv4|IPv6/TCP|UDP frame with correct
// checksums.
func buildFrame(v6 bool, proto uint8, payload []byte) []byte {
	var f []byte
	eth := make([]byte, 14)
	l4 := make([]byte, 8)
	if proto == protoTCP {
		l4 = make([]byte, 20)
		l4[12] = 5 << 4
		l4[13] = 0x18
	}
	binary.BigEndian.PutUint16(l4[0:], 40000)
	binary.BigEndian.PutUint16(l4[2:], 443)
	l4 = append(l4, payload...)
	if proto == protoUDP {
		binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
	}
	var ip []byte
	if !v6 {
		binary.BigEndian.PutUint16(eth[12:], etherIPv4)
		ip = make([]byte, 20)
		ip[0], ip[8], ip[9] = 0x45, 64, proto
		binary.BigEndian.PutUint16(ip[2:], uint16(20+len(l4)))
		copy(ip[12:], []byte{10, 1, 200, 7, 192, 168, 3, 250})
		binary.BigEndian.PutUint16(ip[10:], ^fold(onesSum(0, ip)))
	} else {
		binary.BigEndian.PutUint16(eth[12:], etherIPv6)
		ip = make([]byte, 40)
		ip[0], ip[6], ip[7] = 0x60, proto, 64
		binary.BigEndian.PutUint16(ip[4:], uint16(len(l4)))
		ip[8], ip[9], ip[23] = 0x20, 0x01, 0x11
		ip[24], ip[25], ip[36], ip[39] = 0x20, 0x01, 0xab, 0xcd
	}
	f = append(append(append(f, eth...), ip...), l4...)
	p, ok := parseIP(f)
	if !ok {
		panic("buildFrame: unparsable")
	}
	var pseudo uint32
	if v6 {
		pseudo = onesSum(0, ip[8:40])
	} else {
		pseudo = onesSum(0, ip[12:20])
	}
	pseudo += uint32(proto) + uint32(len(l4))
	off := p.l4Off + 16
	if proto == protoUDP {
		off = p.l4Off + 6
	}
	binary.BigEndian.PutUint16(f[off:], ^fold(onesSum(pseudo, f[p.l4Off:])))
	return f
}

func TestRewriteKeepsChecksums(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		for _, proto := range []uint8{protoTCP, protoUDP} {
			for _, mask := range []uint32{1, 0xffff, 0x1234abcd, 0xffffffff, 0x80000001} {
				f := buildFrame(v6, proto, []byte("hello, checksum"))
				p, _ := parseIP(f)
				if ip, l4 := checksumsOK(t, f, p); !ip || !l4 {
					t.Fatalf("v6=%v proto=%d: built frame has bad checksums", v6, proto)
				}
				before := p.key(f, mask)
				p.rewrite(f, mask)
				if ip, l4 := checksumsOK(t, f, p); !ip || !l4 {
					t.Errorf("v6=%v proto=%d mask=%#x: after rewrite ip=%v l4=%v", v6, proto, mask, ip, l4)
				}
				if after := p.key(f, 0); after != before {
					t.Errorf("v6=%v proto=%d mask=%#x: key %v, predicted %v", v6, proto, mask, after, before)
				}
			}
		}
	}
}
