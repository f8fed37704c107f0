package tap

import "net/netip"

// TapType says how a packet reached the tap: the kind of the outermost
// encapsulation, or a plain mirror port. Stored as l4_flow_log.tap_type.
type TapType uint8

// Tap types.
const (
	TapMirror TapType = iota // physical SPAN/mirror port, no tunnel
	TapERSPAN                // GRE-carried ERSPAN type I, II or III
	TapGRE                   // plain GRE (incl. transparent Ethernet bridging)
	TapVXLAN                 // VXLAN and VXLAN-GPE
	TapGeneve                // Geneve
	TapIPIP                  // IPIP, 6in4, 4in6, 6in6
	TapMPLS                  // MPLS label stack on the mirror port
	TapXDP                   // captured with AF_XDP, no tunnel
	TapGTP                   // GTP-U (mobile core); TapPort from the tunnel endpoints
)

var tapTypeNames = [...]string{"mirror", "erspan", "gre", "vxlan", "geneve", "ipip", "mpls", "xdp", "gtp"}

// String returns the tap type's lower-case name.
func (t TapType) String() string {
	if int(t) < len(tapTypeNames) {
		return tapTypeNames[t]
	}
	return "unknown"
}

// TCP flag bits as they sit in the TCP header's flags byte.
const (
	TCPFin = 0x01
	TCPSyn = 0x02
	TCPRst = 0x04
	TCPPsh = 0x08
	TCPAck = 0x10
	TCPUrg = 0x20
)

// IP protocol numbers used by the dataplane.
const (
	ProtoICMP   = 1
	ProtoIPIP   = 4
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoIPv6   = 41
	ProtoGRE    = 47
	ProtoICMPv6 = 58
)

// Meta is everything the flow table and dissectors need from one packet.
// It has a fixed size and is reused across packets: Decode resets it.
type Meta struct {
	Timestamp int64  // µs since the Unix epoch, from the capture
	WireLen   uint32 // frame length on the wire (bytes counted in flows)

	// Tap identity.
	TapType TapType
	// TapPort is the ERSPAN II/III session id, the VXLAN/Geneve VNI or the
	// GRE key; for a tunnel without one (IPIP, ERSPAN I, keyless GRE,
	// PPTP, MPLS-in-UDP) it is low32(OuterSrc) XOR low32(OuterDst), equal
	// for both directions of the tunnel. 0 without a tunnel.
	TapPort uint32
	// VLAN is the innermost VLAN id anywhere in the frame: the last
	// 802.1Q/802.1ad tag, an ERSPAN header's VLAN field, or a tag restored
	// from AF_PACKET's auxiliary data; a tag inside a tunnel replaces the
	// tags around it. 0 if untagged.
	VLAN     uint16
	OuterSrc netip.Addr
	OuterDst netip.Addr

	// Innermost IP packet.
	Src, Dst   netip.Addr
	IPVersion  uint8
	Proto      uint8
	TTL        uint8
	IPID       uint32 // IPv4 id, or IPv6 fragment id
	Fragment   bool   // a non-first fragment: no transport header
	MoreFrags  bool
	SrcPort    uint16
	DstPort    uint16
	TCPFlags   uint8
	WinScale   int8 // window scale option of a SYN, -1 if absent
	Seq, Ack   uint32
	Window     uint16
	ICMPType   uint8
	ICMPCode   uint8
	Truncated  bool   // the capture holds less than the IP header says
	PayloadLen uint32 // L4 payload length per the IP header (may exceed len(Payload))
	Payload    []byte // L4 payload as captured; aliases the frame

	// L4Checksum is the TCP, UDP or ICMP checksum field as captured (not
	// verified). It does not change hop to hop, so dedup keys on it.
	L4Checksum uint16
}

func (m *Meta) reset(ts int64, wireLen uint32) {
	*m = Meta{Timestamp: ts, WireLen: wireLen, WinScale: -1}
}

// IsTCP reports whether the packet carries a TCP header.
func (m *Meta) IsTCP() bool { return m.Proto == ProtoTCP && !m.Fragment }
