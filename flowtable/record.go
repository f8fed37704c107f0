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

	// Performance metrics (architecture §3), per report period: a forced
	// report (5) resets them, so each period reports what happened in it.
	// Times are µs. tx counts what the client sent, rx what the server sent.

	// RTT is the client's handshake ACK − the first SYN. RTTServer is the
	// first SYN-ACK − the latest SYN before it (tap ↔ server); RTTClient is
	// the handshake ACK − the latest SYN-ACK before it (tap ↔ client).
	// Without SYN retransmissions RTT = RTTServer + RTTClient. The
	// handshake ACK is the client's first ACK acknowledging the SYN-ACK.
	RTT, RTTClient, RTTServer uint32
	// SRT (system response time, server side only): a client data segment
	// → the server's first ACK covering it (ack ≥ the end of the client's
	// latest data, not covered by an earlier server ACK), counted when that
	// ACK is a pure ACK (no payload, SYN or FIN). A client's ACK of server
	// data is never an srt sample.
	SRTSum, SRTMax uint64
	SRTCount       uint32
	// ART (application response time, server side only): the client's
	// latest data segment, if it carries PSH and no client pure ACK
	// followed it → the server's first data segment after it.
	// UDP: the client's latest datagram → the server's first datagram after
	// it (the response time of DNS and the like). ICMP has none.
	ARTSum, ARTMax uint64
	ARTCount       uint32
	// CIT (client idle time), one sample per request. A request starts with
	// the client's first new (not retransmitted) data segment since the
	// server last sent data. First request after the handshake: request −
	// the latest packet before it from either side; later requests: request
	// − the server's last data segment. A flow picked up mid-stream has no
	// first-request sample.
	CITSum, CITMax uint64
	CITCount       uint32
	// Retrans counts retransmitted segments as the tap tells them: segments
	// carrying sequence space (payload, SYN or FIN) that the tap already saw
	// (a repeated SYN or SYN-ACK is one retransmission of its sender), plus
	// segments filling a gap after the receiver asked for it (LostBeforeTap).
	// Pure ACKs, RSTs and keepalives never count.
	RetransTx, RetransRx uint32
	// ZeroWin counts non-RST packets advertising a zero window.
	ZeroWinTx, ZeroWinRx uint32
	// OOO counts segments that arrived out of order: they fill a sequence
	// gap before the receiver ACKed the gap's start (reordering, not loss).
	OOOTx, OOORx uint32
	// Lost counts data segments lost in the network in that direction,
	// before or after the tap:
	//  - before the tap: a segment fills a gap after the receiver ACKed the
	//    gap's start (it lacked those bytes, so they were lost upstream and
	//    retransmitted), or a gap is still open when the flow ends (never
	//    filled, never ACKed past);
	//  - after the tap: a retransmission of data the tap already saw and the
	//    receiver had not yet ACKed (an already-ACKed one is spurious).
	// A gap the receiver ACKs past without the tap seeing it filled was lost
	// by the capture, not the network: it is counted in Stats.TapGaps only.
	LostTx, LostRx uint32
	// LostBeforeTap is the part of Lost lost before the tap; the rest
	// (Lost − LostBeforeTap) was lost after it.
	LostBeforeTapTx, LostBeforeTapRx uint32
	// SYN, SYN-ACK and FIN packets (retransmissions included), both
	// directions. Saturate at 255 per period.
	SYNCount, SYNACKCount uint32
	FINCount              uint32
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
