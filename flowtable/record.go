package flowtable

import (
	"net/netip"
	"time"
)

// CloseType numbers follow DeepFlow's l4_flow_log.close_type (architecture §3).
type CloseType uint8

// Close types. The numbering is DeepFlow's and is stored as is.
const (
	CloseUnknown            CloseType = 0
	CloseTCPFin             CloseType = 1  // both sides finished with FIN
	CloseTCPServerRst       CloseType = 2  // server RST after establishment
	CloseTimeout            CloseType = 3  // idle past the state's timeout
	CloseForcedReport       CloseType = 5  // still alive, reported each minute
	CloseClientSYNRepeat    CloseType = 7  // only SYN(s) seen
	CloseServerHalfClose    CloseType = 8  // server sent FIN, client never did
	CloseTCPClientRst       CloseType = 9  // client RST after establishment
	CloseServerSYNACKRepeat CloseType = 10 // only SYN-ACK(s) seen
	CloseClientHalfClose    CloseType = 11 // client sent FIN, server never did
	CloseClientPortReuse    CloseType = 13 // SYN answered by data, or port reused
	CloseServerReset        CloseType = 15 // SYN answered by RST
	CloseServerQueueLack    CloseType = 17 // server SYN-ACKs again after handshake, then RST
	CloseServerNoResponse   CloseType = 18 // several SYNs then a client RST
	CloseClientNoResponse   CloseType = 19 // SYN, several SYN-ACKs, server RST
	CloseClientEstablishRst CloseType = 20 // SYN, several SYN-ACKs, client RST
)

// FlowRecord is one report of one flow: what l4_flow_log stores and what
// `replay --print l4` prints. Direction tx is client→server, rx is
// server→client. Times are µs. A metric that did not occur is 0.
//
// FlowRecord is a plain value: the table fills it and hands a batch to a
// sink, which must copy what it keeps past the call.
type FlowRecord struct {
	FlowID    uint64
	StartTime time.Time
	EndTime   time.Time
	CloseType CloseType

	// Tap identity: where the packets were seen (architecture §2).
	TapType  uint8
	TapPort  uint32
	VLAN     uint16
	OuterSrc netip.Addr
	OuterDst netip.Addr

	Proto      uint8 // IP protocol number (6 tcp, 17 udp, 1 icmp, 58 icmpv6)
	ClientIP   netip.Addr
	ServerIP   netip.Addr
	ClientPort uint16
	ServerPort uint16

	PacketsTx, PacketsRx uint64
	BytesTx, BytesRx     uint64 // frame length on the wire

	// TCP performance (architecture §3).
	RTT, RTTClient, RTTServer uint32
	SRTSum, SRTMax            uint64
	SRTCount                  uint32
	ARTSum, ARTMax            uint64
	ARTCount                  uint32
	CITSum, CITMax            uint64
	CITCount                  uint32
	RetransTx, RetransRx      uint32
	ZeroWinTx, ZeroWinRx      uint32
	OOOTx, OOORx              uint32
	LostTx, LostRx            uint32
	SYNCount, SYNACKCount     uint32
	FINCount                  uint32
}

// SRTMean returns the mean srt in µs, 0 without samples.
func (r *FlowRecord) SRTMean() uint64 { return mean(r.SRTSum, r.SRTCount) }

// ARTMean returns the mean art in µs, 0 without samples.
func (r *FlowRecord) ARTMean() uint64 { return mean(r.ARTSum, r.ARTCount) }

// CITMean returns the mean cit in µs, 0 without samples.
func (r *FlowRecord) CITMean() uint64 { return mean(r.CITSum, r.CITCount) }

func mean(sum uint64, n uint32) uint64 {
	if n == 0 {
		return 0
	}
	return sum / uint64(n)
}

// ProtoName returns the lower-case name of an IP protocol number.
func ProtoName(p uint8) string {
	switch p {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 1:
		return "icmp"
	case 58:
		return "icmpv6"
	case 132:
		return "sctp"
	case 47:
		return "gre"
	case 50:
		return "esp"
	}
	return "ip"
}
