package tap

import (
	"encoding/binary"
	"net/netip"
)

// Link types (pcap LINKTYPE_* values) the decoder understands.
const (
	LinkNull     = 0   // BSD loopback, host-order address family
	LinkEthernet = 1   // IEEE 802.3
	LinkPPP      = 9   // PPP
	LinkRaw      = 101 // raw IPv4/IPv6
	LinkRawAlt12 = 12  // raw IP on some BSDs
	LinkRawAlt14 = 14  // raw IP on OpenBSD
	LinkCHDLC    = 104 // Cisco HDLC
	LinkLoop     = 108 // OpenBSD loopback, network-order family
	LinkSLL      = 113 // Linux cooked capture v1
	LinkPPI      = 192 // per-packet information header
	LinkIPv4     = 228 // raw IPv4
	LinkIPv6     = 229 // raw IPv6
	LinkSLL2     = 276 // Linux cooked capture v2
)

// EtherTypes the decoder follows.
const (
	etherIPv4      = 0x0800
	etherIPv6      = 0x86DD
	etherVLAN      = 0x8100
	etherQinQ      = 0x88A8
	etherQinQOld   = 0x9100
	etherMPLS      = 0x8847
	etherMPLSMulti = 0x8848
	etherTEB       = 0x6558 // transparent Ethernet bridging (GRE, Geneve)
	etherERSPAN2   = 0x88BE // ERSPAN type I and II
	etherERSPAN3   = 0x22EB // ERSPAN type III
	etherPPPoE     = 0x8864
	etherNSH       = 0x894F
	etherPPP       = 0x880B // PPTP's enhanced GRE (RFC 2637)
	etherWCCP      = 0x883E // WCCP v2 redirect (draft-wilson-wrec-wccp-v2)
)

// PPP protocol numbers the decoder follows (RFC 1661, RFC 3032).
const (
	pppIPv4      = 0x0021
	pppIPv6      = 0x0057
	pppMPLS      = 0x0281
	pppMPLSMulti = 0x0283
)

// Default UDP ports of UDP-carried tunnels.
const (
	PortVXLAN      = 4789 // IANA
	PortVXLANLinux = 8472 // Linux's default when `ip link add type vxlan` has no dstport; flannel
	PortVXLANGPE   = 4790
	PortGeneve     = 6081
	PortMPLSUDP    = 6635 // MPLS-in-UDP, RFC 7510
	PortGTPU       = 2152 // GTP-U, 3GPP TS 29.281
)

// DefaultVXLANPorts are the UDP destination ports decoded as VXLAN when a
// Decoder's VXLANPorts is nil: IANA's 4789 and Linux's 8472, as tcpdump does.
var DefaultVXLANPorts = []uint16{PortVXLAN, PortVXLANLinux}

// maxDepth bounds nested headers so a crafted frame cannot loop forever.
const maxDepth = 16

// Decoder decodes frames of one link type. It holds no per-packet state and
// is cheap to copy; each worker owns its own.
type Decoder struct {
	LinkType uint32
	// VXLANPorts are UDP destination ports decoded as VXLAN; nil means
	// DefaultVXLANPorts (4789 and 8472).
	VXLANPorts []uint16
	// NoDecap leaves tunnels as they are: the outer packet is the flow.
	NoDecap bool
}

// NewDecoder returns a decoder for a pcap link type.
func NewDecoder(linkType uint32) *Decoder { return &Decoder{LinkType: linkType} }

// Decode fills m from frame. ts is µs since the epoch and wireLen the
// frame's original length. On error m holds what was decoded so far.
func (d *Decoder) Decode(frame []byte, ts int64, wireLen uint32, m *Meta) error {
	m.reset(ts, wireLen)
	s := state{d: d, m: m}
	switch d.LinkType {
	case LinkEthernet:
		return s.ethernet(frame)
	case LinkRaw, LinkRawAlt12, LinkRawAlt14, LinkIPv4, LinkIPv6:
		return s.ipAny(frame)
	case LinkSLL:
		if len(frame) < 16 {
			return ErrShortFrame
		}
		return s.ether(be16(frame[14:]), frame[16:])
	case LinkSLL2:
		if len(frame) < 20 {
			return ErrShortFrame
		}
		return s.ether(be16(frame[0:]), frame[20:])
	case LinkNull, LinkLoop:
		if len(frame) < 4 {
			return ErrShortFrame
		}
		return s.ipAny(frame[4:])
	case LinkPPP:
		return s.ppp(frame)
	case LinkCHDLC:
		if len(frame) < 4 {
			return ErrShortFrame
		}
		return s.ether(be16(frame[2:]), frame[4:])
	case LinkPPI:
		if len(frame) < 8 {
			return ErrShortFrame
		}
		hl := int(binary.LittleEndian.Uint16(frame[2:]))
		if hl < 8 || hl > len(frame) {
			return ErrShortFrame
		}
		inner := *d
		inner.LinkType = binary.LittleEndian.Uint32(frame[4:])
		if inner.LinkType == LinkPPI {
			return ErrUnknownLink
		}
		return inner.Decode(frame[hl:], ts, wireLen, m)
	}
	return ErrUnknownLink
}

// state carries one Decode call through its nested headers.
type state struct {
	d        *Decoder
	m        *Meta
	depth    int
	inTunnel bool // an outer tunnel has been recorded as tap identity
	ipSeen   bool // an IP header has been parsed (its addresses are outer if another follows)
}

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

func (s *state) deeper() bool {
	s.depth++
	return s.depth <= maxDepth
}

func (s *state) ethernet(b []byte) error {
	if len(b) < 14 {
		return ErrShortFrame
	}
	et := be16(b[12:])
	if et < 0x0600 { // 802.3 length field: LLC/SNAP, not IP we follow
		if et <= 1500 && len(b) >= 22 && b[14] == 0xAA && b[15] == 0xAA && b[16] == 0x03 {
			return s.ether(be16(b[20:]), b[22:])
		}
		return ErrNotIP
	}
	return s.ether(et, b[14:])
}

// ether follows an EtherType through VLAN tags, MPLS and PPPoE to IP.
func (s *state) ether(et uint16, b []byte) error {
	for {
		if !s.deeper() {
			return ErrTooManyHeaders
		}
		switch et {
		case etherIPv4, etherIPv6:
			return s.ipAny(b)
		case etherVLAN, etherQinQ, etherQinQOld:
			if len(b) < 4 {
				return ErrShortFrame
			}
			s.m.VLAN = be16(b) & 0x0FFF
			et, b = be16(b[2:]), b[4:]
		case etherMPLS, etherMPLSMulti:
			return s.mpls(b)
		case etherPPPoE:
			if len(b) < 6 {
				return ErrShortFrame
			}
			return s.ppp(b[6:])
		case etherTEB:
			return s.ethernet(b)
		case etherNSH:
			return s.gpeNext(gpeNSH, b)
		default:
			return ErrNotIP
		}
	}
}

func (s *state) ppp(b []byte) error {
	// Captures labelled PPP sometimes carry Cisco HDLC frames (address
	// 0x0F unicast or 0x8F broadcast, control 0, then an EtherType), as
	// tcpdump recognises too.
	if len(b) >= 4 && (b[0] == 0x0F || b[0] == 0x8F) && b[1] == 0x00 {
		return s.ether(be16(b[2:]), b[4:])
	}
	if len(b) >= 2 && b[0] == 0xFF && b[1] == 0x03 { // HDLC address/control
		b = b[2:]
	}
	if len(b) < 2 {
		return ErrShortFrame
	}
	proto := uint16(b[0])
	n := 1
	if proto&1 == 0 { // protocol field not compressed
		proto = be16(b)
		n = 2
	}
	switch proto {
	case pppIPv4:
		return s.ipv4(b[n:])
	case pppIPv6:
		return s.ipv6(b[n:])
	case pppMPLS, pppMPLSMulti:
		return s.mpls(b[n:])
	}
	return ErrNotIP
}

// mpls walks a label stack; what follows the bottom label is guessed from
// its first nibble (4, 6) or is an Ethernet pseudowire (control word 0).
func (s *state) mpls(b []byte) error {
	if !s.inTunnel {
		s.m.TapType = TapMPLS
	}
	for {
		if len(b) < 4 {
			return ErrShortFrame
		}
		if !s.deeper() {
			return ErrTooManyHeaders
		}
		bottom := b[2]&0x01 != 0
		b = b[4:]
		if bottom {
			break
		}
	}
	if len(b) < 1 {
		return ErrShortFrame
	}
	switch b[0] >> 4 {
	case 4:
		return s.ipv4(b)
	case 6:
		return s.ipv6(b)
	case 0: // pseudowire control word, then Ethernet
		if len(b) < 4 {
			return ErrShortFrame
		}
		return s.ethernet(b[4:])
	}
	return ErrNotIP
}

func (s *state) ipAny(b []byte) error {
	if len(b) < 1 {
		return ErrShortIP
	}
	switch b[0] >> 4 {
	case 4:
		return s.ipv4(b)
	case 6:
		return s.ipv6(b)
	}
	return ErrNotIP
}

// enterTunnel records the current outer IP header as the tap identity,
// once: the outermost tunnel names the tap. VLAN is kept: a tag of the inner
// frame replaces it, so Meta.VLAN is the innermost tag anywhere in the frame.
func (s *state) enterTunnel(t TapType, port uint32) {
	if s.inTunnel || s.d.NoDecap {
		return
	}
	s.inTunnel = true
	s.m.TapType = t
	s.m.TapPort = port
	s.m.OuterSrc = s.m.Src
	s.m.OuterDst = s.m.Dst
}

// outerTapPort is the tap port of a tunnel that carries no session id, VNI or
// key: the low 32 bits of the outer source XOR those of the outer
// destination. It is the same for both directions of a routed tunnel (IPIP,
// PPTP, keyless GRE), so its inner flows are not split in two, and it still
// differs between mirror sources sending to one collector.
func (s *state) outerTapPort() uint32 {
	return low32(s.m.Src) ^ low32(s.m.Dst)
}

// inner clears what an outer IP packet left in the transport fields before
// the packet it carries is decoded.
func (m *Meta) inner() {
	m.SrcPort, m.DstPort = 0, 0
	m.TCPFlags, m.WinScale = 0, -1
	m.Seq, m.Ack, m.Window = 0, 0, 0
	m.ICMPType, m.ICMPCode, m.L4Checksum = 0, 0, 0
	m.Payload, m.PayloadLen = nil, 0
	m.IPID, m.Fragment, m.MoreFrags = 0, false, false
}

func (s *state) ipv4(b []byte) error {
	m := s.m
	if len(b) < 20 {
		return ErrShortIP
	}
	if b[0]>>4 != 4 {
		return ErrBadIP
	}
	ihl := int(b[0]&0x0F) * 4
	if ihl < 20 {
		return ErrBadIP
	}
	if len(b) < ihl {
		return ErrShortIP
	}
	total := int(be16(b[2:]))
	if total < ihl {
		// TSO-offloaded captures carry 0 here; trust the capture.
		if total != 0 {
			return ErrBadIP
		}
		total = len(b)
	}
	if s.ipSeen {
		m.inner()
	}
	s.ipSeen = true
	m.IPVersion = 4
	m.Src = netip.AddrFrom4([4]byte(b[12:16]))
	m.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	m.Proto = b[9]
	m.TTL = b[8]
	m.IPID = uint32(be16(b[4:]))
	frag := be16(b[6:])
	m.MoreFrags = frag&0x2000 != 0
	m.Fragment = frag&0x1FFF != 0
	end := total
	if end > len(b) {
		m.Truncated = true
		end = len(b)
	}
	return s.l4(b[ihl:end], uint32(total-ihl))
}

func (s *state) ipv6(b []byte) error {
	m := s.m
	if len(b) < 40 {
		return ErrShortIP
	}
	if b[0]>>4 != 6 {
		return ErrBadIP
	}
	plen := int(be16(b[4:]))
	if s.ipSeen {
		m.inner()
	}
	s.ipSeen = true
	m.IPVersion = 6
	m.Src = netip.AddrFrom16([16]byte(b[8:24]))
	m.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	m.TTL = b[7]
	m.IPID = 0
	m.Fragment, m.MoreFrags = false, false
	next := b[6]
	p := b[40:]
	if plen == 0 { // jumbogram or offload: trust the capture
		plen = len(p)
	}
	if plen > len(p) {
		m.Truncated = true
	} else {
		p = p[:plen]
	}
	// Extension headers.
	for {
		if !s.deeper() {
			return ErrTooManyHeaders
		}
		switch next {
		case 0, 43, 60, 135, 139, 140: // hop-by-hop, routing, dst opts, mobility, HIP, shim6
			if len(p) < 8 {
				return ErrShortIP
			}
			n := (int(p[1]) + 1) * 8
			if n > len(p) {
				return ErrShortIP
			}
			next, p, plen = p[0], p[n:], plen-n
		case 51: // AH: length in 4-byte units minus 2
			if len(p) < 8 {
				return ErrShortIP
			}
			n := (int(p[1]) + 2) * 4
			if n > len(p) {
				return ErrShortIP
			}
			next, p, plen = p[0], p[n:], plen-n
		case 44: // fragment
			if len(p) < 8 {
				return ErrShortIP
			}
			off := be16(p[2:])
			m.Fragment = off&0xFFF8 != 0
			m.MoreFrags = off&1 != 0
			m.IPID = be32(p[4:])
			next, p, plen = p[0], p[8:], plen-8
		default:
			m.Proto = next
			if plen < 0 {
				plen = 0
			}
			return s.l4(p, uint32(plen))
		}
	}
}

// l4 decodes the transport header of the IP packet in m, or follows a tunnel.
// plen is the payload length the IP header announces.
func (s *state) l4(p []byte, plen uint32) error {
	m := s.m
	if m.Fragment {
		m.Payload = p
		m.PayloadLen = plen
		return nil
	}
	if !s.d.NoDecap {
		switch m.Proto {
		case ProtoIPIP, ProtoIPv6:
			if !s.deeper() {
				return ErrTooManyHeaders
			}
			s.enterTunnel(TapIPIP, s.outerTapPort())
			if m.Proto == ProtoIPIP {
				return s.ipv4(p)
			}
			return s.ipv6(p)
		case ProtoGRE:
			if err, ok := s.gre(p); ok {
				return err
			}
		}
	}
	switch m.Proto {
	case ProtoTCP:
		if len(p) < 20 {
			return ErrShortL4
		}
		m.SrcPort, m.DstPort = be16(p), be16(p[2:])
		m.Seq, m.Ack = be32(p[4:]), be32(p[8:])
		off := int(p[12]>>4) * 4
		m.TCPFlags = p[13]
		m.Window = be16(p[14:])
		m.L4Checksum = be16(p[16:])
		if off < 20 {
			return ErrShortL4
		}
		if off > len(p) {
			off = len(p)
			m.Truncated = true
		}
		if m.TCPFlags&TCPSyn != 0 {
			m.WinScale = windowScale(p[20:off])
		}
		m.Payload = p[off:]
		m.PayloadLen = sub(plen, uint32(off))
	case ProtoUDP:
		if len(p) < 8 {
			return ErrShortL4
		}
		m.SrcPort, m.DstPort = be16(p), be16(p[2:])
		m.L4Checksum = be16(p[6:])
		m.Payload = p[8:]
		m.PayloadLen = sub(plen, 8)
		if !s.d.NoDecap {
			if err, ok := s.udpTunnel(m.Payload); ok {
				return err
			}
		}
	case ProtoICMP, ProtoICMPv6:
		if len(p) < 4 {
			return ErrShortL4
		}
		m.ICMPType, m.ICMPCode = p[0], p[1]
		m.L4Checksum = be16(p[2:])
		m.Payload = p[4:]
		m.PayloadLen = sub(plen, 4)
	default:
		m.Payload = p
		m.PayloadLen = plen
	}
	return nil
}

func sub(a, b uint32) uint32 {
	if a < b {
		return 0
	}
	return a - b
}

func low32(a netip.Addr) uint32 {
	if a.Is4() {
		b := a.As4()
		return be32(b[:])
	}
	b := a.As16()
	return be32(b[12:])
}

func windowScale(opts []byte) int8 {
	for len(opts) > 0 {
		switch opts[0] {
		case 0:
			return -1
		case 1:
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 || opts[1] < 2 || int(opts[1]) > len(opts) {
			return -1
		}
		if opts[0] == 3 && opts[1] == 3 {
			return int8(opts[2])
		}
		opts = opts[opts[1]:]
	}
	return -1
}

func (s *state) isVXLANPort(p uint16) bool {
	if s.d.VXLANPorts == nil {
		return p == PortVXLAN || p == PortVXLANLinux
	}
	for _, v := range s.d.VXLANPorts {
		if v == p {
			return true
		}
	}
	return false
}

// udpTunnel decapsulates VXLAN, VXLAN-GPE and Geneve. ok is false when the
// datagram is not a tunnel we follow, and the UDP packet is the flow.
func (s *state) udpTunnel(p []byte) (err error, ok bool) {
	m := s.m
	switch {
	case s.isVXLANPort(m.DstPort):
		// RFC 7348: flags(8, I=0x08) reserved(24) VNI(24) reserved(8)
		if len(p) < 8 || p[0]&0x08 == 0 {
			return nil, false
		}
		s.enterTunnel(TapVXLAN, be32(p[4:])>>8)
		return s.ethernet(p[8:]), true
	case m.DstPort == PortVXLANGPE:
		// draft-ietf-nvo3-vxlan-gpe: flags(8) reserved(16) next protocol(8) VNI(24) reserved(8)
		if len(p) < 8 {
			return nil, false
		}
		s.enterTunnel(TapVXLAN, be32(p[4:])>>8)
		return s.gpeNext(p[3], p[8:]), true
	case m.DstPort == PortGeneve:
		// RFC 8926: ver(2) optlen(6) O C rsvd(6) protocol(16) VNI(24) rsvd(8) options
		if len(p) < 8 || p[0]>>6 != 0 {
			return nil, false
		}
		hl := 8 + int(p[0]&0x3F)*4
		if len(p) < hl {
			return ErrShortFrame, true
		}
		s.enterTunnel(TapGeneve, be32(p[4:])>>8)
		if !s.deeper() {
			return ErrTooManyHeaders, true
		}
		et := be16(p[2:])
		if et == etherTEB {
			return s.ethernet(p[hl:]), true
		}
		return s.ether(et, p[hl:]), true
	case m.DstPort == PortMPLSUDP:
		// RFC 7510: the UDP payload is an MPLS label stack.
		s.enterTunnel(TapMPLS, s.outerTapPort())
		return s.mpls(p), true
	case m.DstPort == PortGTPU || m.SrcPort == PortGTPU:
		return s.gtpu(p)
	}
	return nil, false
}

// gtpu decapsulates a GTP-U G-PDU (3GPP TS 29.281 §5): mobile-core taps
// carry subscriber traffic in it. Other GTP-U messages (echo, error
// indication) stay UDP flows of the tunnel endpoints.
//
//	flags(8: version 3, PT, reserved, E, S, PN) type(8) length(16) TEID(32)
//	[sequence(16) N-PDU(8) next extension type(8)] if E, S or PN
//	[extension headers: length(8, 4-byte units) ... next type(8)] while E chains
func (s *state) gtpu(p []byte) (err error, ok bool) {
	if len(p) < 8 || p[0]>>5 != 1 || p[0]&0x10 == 0 || p[1] != 0xFF {
		return nil, false
	}
	hl := 8
	if p[0]&0x07 != 0 {
		if len(p) < 12 {
			return ErrShortFrame, true
		}
		hl = 12
		next := p[11]
		for p[0]&0x04 != 0 && next != 0 {
			if !s.deeper() {
				return ErrTooManyHeaders, true
			}
			if len(p) < hl+1 || p[hl] == 0 {
				return ErrShortFrame, true
			}
			n := int(p[hl]) * 4
			if len(p) < hl+n {
				return ErrShortFrame, true
			}
			next = p[hl+n-1]
			hl += n
		}
	}
	// Uplink and downlink use different TEIDs; the tunnel endpoints are
	// the same both ways, so they name the tap.
	s.enterTunnel(TapGTP, s.outerTapPort())
	return s.ipAny(p[hl:]), true
}

// Next-protocol values of VXLAN-GPE and NSH (RFC 8300 §2.3).
const (
	gpeIPv4     = 1
	gpeIPv6     = 2
	gpeEthernet = 3
	gpeNSH      = 4
	gpeMPLS     = 5
)

// gpeNext follows VXLAN-GPE's or NSH's next-protocol field.
func (s *state) gpeNext(next uint8, p []byte) error {
	if !s.deeper() {
		return ErrTooManyHeaders
	}
	switch next {
	case gpeIPv4:
		return s.ipv4(p)
	case gpeIPv6:
		return s.ipv6(p)
	case gpeEthernet:
		return s.ethernet(p)
	case gpeMPLS:
		return s.mpls(p)
	case gpeNSH:
		// NSH base header (RFC 8300 §2.2): ver(2) O(1) U(1) TTL(6)
		// length(6, 4-byte words incl. base and service path headers)
		// U(4) MD type(4) next protocol(8).
		if len(p) < 8 {
			return ErrShortFrame
		}
		n := int(be16(p)&0x3F) * 4
		if n < 8 || n > len(p) {
			return ErrShortFrame
		}
		return s.gpeNext(p[3], p[n:])
	}
	return ErrNotIP
}

// GRE flag bits (RFC 1701, RFC 2784, RFC 2890; RFC 2637 for version 1).
const (
	greChecksum = 0x8000
	greRouting  = 0x4000
	greKey      = 0x2000
	greSeq      = 0x1000
	greAck      = 0x0080 // version 1 only
	greVersion  = 0x0007
)

// gre decapsulates GRE (RFC 2784/2890), the ERSPAN types it carries, WCCP
// redirection and PPTP's enhanced GRE (version 1, RFC 2637). ok is false for
// GRE we do not follow, which is then counted as an IP flow of protocol 47.
func (s *state) gre(p []byte) (err error, ok bool) {
	if len(p) < 4 {
		return nil, false
	}
	flags := be16(p)
	proto := be16(p[2:])
	ver := flags & greVersion
	switch {
	case ver == 1 && proto == etherPPP && flags&greKey != 0:
	case ver == 0:
	default:
		return nil, false
	}
	hl := 4
	if flags&(greChecksum|greRouting) != 0 { // checksum and offset
		hl += 4
	}
	var key uint32
	hasKey := flags&greKey != 0
	if hasKey {
		if len(p) < hl+4 {
			return ErrShortFrame, true
		}
		key = be32(p[hl:])
		hl += 4
	}
	hasSeq := flags&greSeq != 0
	if hasSeq {
		hl += 4
	}
	if ver == 1 && flags&greAck != 0 {
		hl += 4
	}
	if len(p) < hl {
		return ErrShortFrame, true
	}
	if ver == 0 && flags&greRouting != 0 {
		// RFC 1701 source route entries: family(16) offset(8) length(8)
		// and length bytes, up to an entry of family 0 and length 0.
		for {
			if len(p) < hl+4 {
				return ErrShortFrame, true
			}
			af, n := be16(p[hl:]), int(p[hl+3])
			hl += 4 + n
			if af == 0 && n == 0 {
				break
			}
			if !s.deeper() {
				return ErrTooManyHeaders, true
			}
		}
		if len(p) < hl {
			return ErrShortFrame, true
		}
	}
	b := p[hl:]
	if !s.deeper() {
		return ErrTooManyHeaders, true
	}
	switch proto {
	case etherERSPAN2:
		if !hasSeq { // type I: no ERSPAN header, Ethernet follows GRE
			s.enterTunnel(TapERSPAN, s.outerTapPort())
			return s.ethernet(b), true
		}
		// Type II (draft-foschiano-erspan §4.1):
		//   ver(4)=1 VLAN(12) | COS(3) En(2) T(1) session id(10) | reserved(12) index(20)
		// VLAN is the mirrored frame's original VLAN; a tag still in the
		// frame (En=3) replaces it.
		if len(b) < 8 {
			return ErrShortFrame, true
		}
		s.enterTunnel(TapERSPAN, uint32(be16(b[2:])&0x03FF))
		s.erspanVLAN(be16(b) & 0x0FFF)
		return s.ethernet(b[8:]), true
	case etherERSPAN3:
		// Type III (draft-foschiano-erspan §4.2):
		//   ver(4)=2 VLAN(12) | COS(3) BSO(2) T(1) session id(10) | timestamp(32) |
		//   SGT(16) | P(1) FT(5) HW ID(6) D(1) Gra(2) O(1)
		// O says an 8-byte platform-specific subheader follows. FT is the
		// frame type: 0 Ethernet, 2 IP; others are not defined.
		if len(b) < 12 {
			return ErrShortFrame, true
		}
		s.enterTunnel(TapERSPAN, uint32(be16(b[2:])&0x03FF))
		s.erspanVLAN(be16(b) & 0x0FFF)
		n := 12
		if b[11]&0x01 != 0 {
			n += 8
		}
		if len(b) < n {
			return ErrShortFrame, true
		}
		switch ft := (b[10] >> 2) & 0x1F; ft {
		case 0:
			return s.ethernet(b[n:]), true
		case 2:
			return s.ipAny(b[n:]), true
		}
		return ErrNotIP, true
	case etherTEB:
		s.enterTunnel(TapGRE, s.greTapPort(hasKey, key))
		return s.ethernet(b), true
	case etherIPv4, etherIPv6, etherMPLS, etherMPLSMulti:
		s.enterTunnel(TapGRE, s.greTapPort(hasKey, key))
		return s.ether(proto, b), true
	case etherWCCP:
		// WCCP v2 redirect header (4 bytes) then IPv4; WCCP v1 has none,
		// which shows as an IPv4 version nibble right after GRE.
		s.enterTunnel(TapGRE, s.outerTapPort())
		if len(b) > 0 && b[0]>>4 == 4 {
			return s.ipv4(b), true
		}
		if len(b) < 4 {
			return ErrShortFrame, true
		}
		return s.ipAny(b[4:]), true
	case etherPPP:
		// PPTP: the key holds payload length(16) and call id(16), which
		// differ per packet and per direction; the tunnel is its endpoints.
		s.enterTunnel(TapGRE, s.outerTapPort())
		if flags&greSeq == 0 { // an acknowledgement without payload
			return ErrNotIP, true
		}
		return s.ppp(b), true
	}
	return nil, false
}

// erspanVLAN records the VLAN field of an ERSPAN header; 0 means none.
func (s *state) erspanVLAN(v uint16) {
	if v != 0 {
		s.m.VLAN = v
	}
}

// greTapPort is a GRE tunnel's key, or its endpoints when it has none.
func (s *state) greTapPort(hasKey bool, key uint32) uint32 {
	if hasKey {
		return key
	}
	return s.outerTapPort()
}
