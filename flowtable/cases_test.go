package flowtable

import (
	"net/netip"

	"github.com/tapflow/tapflow/internal/pcapgen"
)

// Case is a packet sequence and the records it must produce, one Metrics
// per record in emission order. Every expected value is worked out by hand
// in the comment above the case. Times are µs after Base; sequence numbers
// are relative to the sender's ISN (see Conv.TCP). The close type is the
// same whether the flow ends by the clock passing its timeout or by Flush.
type Case struct {
	Name    string
	Pkts    []pcapgen.Packet
	Want    []Metrics
	TapGaps uint64 // Stats.TapGaps after the run
}

var (
	c = DefaultConv
	// c2 is the same 5-tuple with another client ISN: a new connection.
	c2 = Conv{Client: c.Client, Server: c.Server, CISN: 7_000_000, SISN: 9_000_000}
	// dns is a UDP client → DNS server.
	dns = Conv{Client: netip.MustParseAddrPort("10.0.0.1:40000"), Server: netip.MustParseAddrPort("10.0.0.53:53")}
)

// hsRTT adds the handshake metrics of Conv.Handshake: SYN at 0, SYN-ACK at
// 10 000, ACK at 30 000 → rtt_server 10 000, rtt_client 20 000, rtt 30 000;
// one SYN and one SYN-ACK unless the case counted more.
func hsRTT(m Metrics) Metrics {
	m.RTT, m.RTTClient, m.RTTServer = 30_000, 20_000, 10_000
	m.SYNCount, m.SYNACKCount = max(m.SYNCount, 1), max(m.SYNACKCount, 1)
	return m
}

// CloseCases has one case (or more) per close type of architecture §3.
var CloseCases = []Case{
	{
		// Handshake (rtt 30 000 / client 20 000 / server 10 000); request at
		// 100 000: first request after the handshake, latest packet before it
		// is the ACK at 30 000 → cit 70 000; server pure ACK at 100 400 →
		// srt 400; response at 150 000 → art 150 000 − 100 000 = 50 000; FIN
		// both ways → 1. Client sent SYN, ACK, PA, A, FA, A = 6; server SA, A,
		// PA, FA = 4; fin_count 2.
		Name: "1 tcp finish",
		Pkts: cat(c.Handshake(), P(
			c.TCP(C, 100_000, "PA", 1, 1, 100),
			c.TCP(S, 100_400, "A", 1, 101, 0),
			c.TCP(S, 150_000, "PA", 1, 101, 200),
			c.TCP(C, 150_300, "A", 101, 201, 0),
			c.TCP(C, 200_000, "FA", 101, 201, 0),
			c.TCP(S, 200_500, "FA", 201, 102, 0),
			c.TCP(C, 201_000, "A", 102, 202, 0),
		)),
		Want: []Metrics{hsRTT(Metrics{CloseType: CloseTCPFin, PacketsTx: 6, PacketsRx: 4,
			SRTSum: 400, SRTMax: 400, SRTCount: 1, ARTSum: 50_000, ARTMax: 50_000, ARTCount: 1,
			CITSum: 70_000, CITMax: 70_000, CITCount: 1, FINCount: 2})},
	},
	{
		// Handshake, request at 100 000 (cit 70 000), server RST → 2.
		// Client SYN, ACK, PA = 3; server SA, RA = 2.
		Name: "2 server rst",
		Pkts: cat(c.Handshake(), P(
			c.TCP(C, 100_000, "PA", 1, 1, 100),
			c.TCP(S, 120_000, "RA", 1, 101, 0),
		)),
		Want: []Metrics{hsRTT(Metrics{CloseType: CloseTCPServerRst, PacketsTx: 3, PacketsRx: 2,
			CITSum: 70_000, CITMax: 70_000, CITCount: 1})},
	},
	{
		// Handshake, request (cit 70 000), pure ACK (srt 400), response (art
		// 50 000), client ACK, then silence past the established timeout → 3.
		// Client SYN, ACK, PA, A = 4; server SA, A, PA = 3.
		Name: "3 timeout",
		Pkts: cat(c.Handshake(), P(
			c.TCP(C, 100_000, "PA", 1, 1, 100),
			c.TCP(S, 100_400, "A", 1, 101, 0),
			c.TCP(S, 150_000, "PA", 1, 101, 200),
			c.TCP(C, 150_300, "A", 101, 201, 0),
		)),
		Want: []Metrics{hsRTT(Metrics{CloseType: CloseTimeout, PacketsTx: 4, PacketsRx: 3,
			SRTSum: 400, SRTMax: 400, SRTCount: 1, ARTSum: 50_000, ARTMax: 50_000, ARTCount: 1,
			CITSum: 70_000, CITMax: 70_000, CITCount: 1})},
	},
	{
		// Period 1 (Base .. the minute boundary at Base+50 s): handshake (rtt
		// trio), request at 40 s: cit 40 000 000 − 30 000 = 39 970 000;
		// response at 40.01 s: art 10 000. Client SYN, ACK, PA = 3; server SA,
		// PA = 2 → forced report 5.
		// Period 2: request at 55 s: cit 55 000 000 − 40 010 000 (server's last
		// data, from the previous period) = 14 990 000; response 20 000 later:
		// art 20 000; FINs → 1. Client PA, FA, A = 3; server PA, FA = 2; no
		// rtt or SYN counts (they belong to period 1).
		Name: "5 forced report, then 1",
		Pkts: cat(c.Handshake(), P(
			c.TCP(C, 40_000_000, "PA", 1, 1, 100),
			c.TCP(S, 40_010_000, "PA", 1, 101, 100),
			c.TCP(C, 55_000_000, "PA", 101, 101, 100),
			c.TCP(S, 55_020_000, "PA", 101, 201, 100),
			c.TCP(C, 56_000_000, "FA", 201, 201, 0),
			c.TCP(S, 56_000_100, "FA", 201, 202, 0),
			c.TCP(C, 56_000_200, "A", 202, 202, 0),
		)),
		Want: []Metrics{
			hsRTT(Metrics{CloseType: CloseForcedReport, PacketsTx: 3, PacketsRx: 2,
				ARTSum: 10_000, ARTMax: 10_000, ARTCount: 1, CITSum: 39_970_000, CITMax: 39_970_000, CITCount: 1}),
			{CloseType: CloseTCPFin, PacketsTx: 3, PacketsRx: 2,
				ARTSum: 20_000, ARTMax: 20_000, ARTCount: 1, CITSum: 14_990_000, CITMax: 14_990_000, CITCount: 1, FINCount: 2},
		},
	},
	{
		// Three SYNs with one ISN, nothing else → 7; syn_count 3, the two
		// repeats are client retransmissions.
		Name: "7 client syn repeat",
		Pkts: P(
			c.TCP(C, 0, "S", 0, 0, 0),
			c.TCP(C, 1_000_000, "S", 0, 0, 0),
			c.TCP(C, 3_000_000, "S", 0, 0, 0),
		),
		Want: []Metrics{{CloseType: CloseClientSYNRepeat, PacketsTx: 3, SYNCount: 3, RetransTx: 2}},
	},
	{
		// Handshake, request (cit 70 000), response (art 50 000), the server
		// FINs, the client only ACKs → 8 after the closing timeout. Client SYN,
		// ACK, PA, A = 4; server SA, PA, FA = 3; fin 1.
		Name: "8 server half close",
		Pkts: cat(c.Handshake(), P(
			c.TCP(C, 100_000, "PA", 1, 1, 100),
			c.TCP(S, 150_000, "PA", 1, 101, 100),
			c.TCP(S, 160_000, "FA", 101, 101, 0),
			c.TCP(C, 160_200, "A", 101, 102, 0),
		)),
		Want: []Metrics{hsRTT(Metrics{CloseType: CloseServerHalfClose, PacketsTx: 4, PacketsRx: 3,
			ARTSum: 50_000, ARTMax: 50_000, ARTCount: 1, CITSum: 70_000, CITMax: 70_000, CITCount: 1, FINCount: 1})},
	},
	{
		// Handshake, request (cit 70 000), pure ACK (srt 400), client RST → 9.
		// Client SYN, ACK, PA, RA = 4; server SA, A = 2.
		Name: "9 client rst",
		Pkts: cat(c.Handshake(), P(
			c.TCP(C, 100_000, "PA", 1, 1, 100),
			c.TCP(S, 100_400, "A", 1, 101, 0),
			c.TCP(C, 200_000, "RA", 101, 1, 0),
		)),
		Want: []Metrics{hsRTT(Metrics{CloseType: CloseTCPClientRst, PacketsTx: 4, PacketsRx: 2,
			SRTSum: 400, SRTMax: 400, SRTCount: 1, CITSum: 70_000, CITMax: 70_000, CITCount: 1})},
	},
	{
		// Only SYN-ACKs (the SYN was not seen): their sender is the server;
		// 3 SYN-ACKs, two of them retransmissions → 10.
		Name: "10 server syn-ack repeat",
		Pkts: P(
			c.TCP(S, 0, "SA", 0, 1, 0),
			c.TCP(S, 1_000_000, "SA", 0, 1, 0),
			c.TCP(S, 3_000_000, "SA", 0, 1, 0),
		),
		Want: []Metrics{{CloseType: CloseServerSYNACKRepeat, PacketsRx: 3, SYNACKCount: 3, RetransRx: 2}},
	},
	{
		// A SYN answered by SYN-ACKs the client never ACKs, no RST: §3 has no
		// rule for it; the handshake got no further than the server's
		// SYN-ACKs, so → 10 like "only SYN-ACKs". rtt_server = 10 000 (first
		// SYN-ACK − SYN); one SYN-ACK retransmission.
		Name: "10 syn then unanswered syn-acks",
		Pkts: P(
			c.TCP(C, 0, "S", 0, 0, 0),
			c.TCP(S, 10_000, "SA", 0, 1, 0),
			c.TCP(S, 1_010_000, "SA", 0, 1, 0),
		),
		Want: []Metrics{{CloseType: CloseServerSYNACKRepeat, PacketsTx: 1, PacketsRx: 2,
			RTTServer: 10_000, SYNCount: 1, SYNACKCount: 2, RetransRx: 1}},
	},
	{
		// Handshake, request (cit 70 000), pure ACK (srt 400), the client FINs
		// and the server only ACKs it (no srt: it covers the FIN, not new
		// data) → 11. Client SYN, ACK, PA, FA = 4; server SA, A, A = 3.
		Name: "11 client half close",
		Pkts: cat(c.Handshake(), P(
			c.TCP(C, 100_000, "PA", 1, 1, 100),
			c.TCP(S, 100_400, "A", 1, 101, 0),
			c.TCP(C, 200_000, "FA", 101, 1, 0),
			c.TCP(S, 200_300, "A", 1, 102, 0),
		)),
		Want: []Metrics{hsRTT(Metrics{CloseType: CloseClientHalfClose, PacketsTx: 4, PacketsRx: 3,
			SRTSum: 400, SRTMax: 400, SRTCount: 1, CITSum: 70_000, CITMax: 70_000, CITCount: 1, FINCount: 1})},
	},
	{
		// A SYN answered by data that does not ACK it (ack ≠ ISN+1: the
		// server still has an older connection on this port), the client
		// RSTs → 13. No metrics: the handshake never completed.
		Name: "13 syn answered by data",
		Pkts: P(
			c.TCP(C, 0, "S", 0, 0, 0),
			c.TCP(S, 10_000, "PA", 777, 999, 100),
			c.TCP(C, 10_200, "R", 999, 0, 0),
		),
		Want: []Metrics{{CloseType: CloseClientPortReuse, PacketsTx: 2, PacketsRx: 1, SYNCount: 1}},
	},
	{
		// An established flow (rtt trio, cit 70 000, srt 400) sees a new SYN
		// with another ISN on its 5-tuple → it ends with 13 at once. The new
		// connection completes its handshake 2 s later (rtt trio again) and
		// times out → 3.
		Name: "13 reused source port",
		Pkts: cat(c.Handshake(), P(
			c.TCP(C, 100_000, "PA", 1, 1, 100),
			c.TCP(S, 100_400, "A", 1, 101, 0),
			c2.TCP(C, 2_000_000, "S", 0, 0, 0),
			c2.TCP(S, 2_010_000, "SA", 0, 1, 0),
			c2.TCP(C, 2_030_000, "A", 1, 1, 0),
		)),
		Want: []Metrics{
			hsRTT(Metrics{CloseType: CloseClientPortReuse, PacketsTx: 3, PacketsRx: 2,
				SRTSum: 400, SRTMax: 400, SRTCount: 1, CITSum: 70_000, CITMax: 70_000, CITCount: 1}),
			hsRTT(Metrics{CloseType: CloseTimeout, PacketsTx: 2, PacketsRx: 1}),
		},
	},
	{
		// A SYN answered by RST (a closed port: the kernel sends RST|ACK,
		// ack = ISN+1) → 15.
		Name: "15 server reset",
		Pkts: P(
			c.TCP(C, 0, "S", 0, 0, 0),
			c.TCP(S, 200, "RA", 0, 1, 0),
		),
		Want: []Metrics{{CloseType: CloseServerReset, PacketsTx: 1, PacketsRx: 1, SYNCount: 1}},
	},
	{
		// Two SYNs (one retransmission), then the server's RST → still 15.
		Name: "15 server reset after syn repeat",
		Pkts: P(
			c.TCP(C, 0, "S", 0, 0, 0),
			c.TCP(C, 1_000_000, "S", 0, 0, 0),
			c.TCP(S, 1_000_200, "RA", 0, 1, 0),
		),
		Want: []Metrics{{CloseType: CloseServerReset, PacketsTx: 2, PacketsRx: 1, SYNCount: 2, RetransTx: 1}},
	},
	{
		// The server's accept queue is full: handshake done (rtt trio); the
		// request at 100 000 (cit 70 000) is dropped by the server and
		// retransmitted at 300 000: data the tap saw and the server never
		// ACKed → retrans_tx 1, lost_tx 1 (after the tap); the server
		// repeats its SYN-ACK at 1 010 000 (retrans_rx 1, synack_count 2);
		// the client ACKs it; the server RSTs → 17.
		// Client SYN, ACK, PA, PA, A = 5; server SA, SA, R = 3.
		Name: "17 server queue lack",
		Pkts: cat(c.Handshake(), P(
			c.TCP(C, 100_000, "PA", 1, 1, 100),
			c.TCP(C, 300_000, "PA", 1, 1, 100),
			c.TCP(S, 1_010_000, "SA", 0, 1, 0),
			c.TCP(C, 1_010_200, "A", 101, 1, 0),
			c.TCP(S, 3_000_000, "R", 1, 0, 0),
		)),
		Want: []Metrics{hsRTT(Metrics{CloseType: CloseServerQueueLack, PacketsTx: 5, PacketsRx: 3,
			CITSum: 70_000, CITMax: 70_000, CITCount: 1, SYNACKCount: 2,
			RetransTx: 1, RetransRx: 1, LostTx: 1})},
	},
	{
		// The same seen from the middle: the tap starts with the request
		// (no handshake: cit has no first-request sample; no server ACK seen
		// yet, so the retransmission at 200 000 counts as lost after the
		// tap); the server's SYN-ACK into the running connection, then its
		// RST → 17. Client PA, PA, A = 3; server SA, R = 2.
		Name: "17 server queue lack, picked up mid-stream",
		Pkts: P(
			c.TCP(C, 0, "PA", 1, 1, 100),
			c.TCP(C, 200_000, "PA", 1, 1, 100),
			c.TCP(S, 1_000_000, "SA", 0, 1, 0),
			c.TCP(C, 1_000_100, "A", 101, 1, 0),
			c.TCP(S, 3_000_000, "R", 1, 0, 0),
		),
		Want: []Metrics{{CloseType: CloseServerQueueLack, PacketsTx: 3, PacketsRx: 2,
			SYNACKCount: 1, RetransTx: 1, LostTx: 1}},
	},
	{
		// Three SYNs (two retransmissions), no answer, then the client's RST
		// → 18.
		Name: "18 server no response",
		Pkts: P(
			c.TCP(C, 0, "S", 0, 0, 0),
			c.TCP(C, 1_000_000, "S", 0, 0, 0),
			c.TCP(C, 3_000_000, "S", 0, 0, 0),
			c.TCP(C, 4_000_000, "R", 1, 0, 0),
		),
		Want: []Metrics{{CloseType: CloseServerNoResponse, PacketsTx: 4, SYNCount: 3, RetransTx: 2}},
	},
	{
		// SYN, three SYN-ACKs (two retransmissions; rtt_server 10 000 from the
		// first), the client never ACKs, the server RSTs → 19.
		Name: "19 client no response",
		Pkts: P(
			c.TCP(C, 0, "S", 0, 0, 0),
			c.TCP(S, 10_000, "SA", 0, 1, 0),
			c.TCP(S, 1_010_000, "SA", 0, 1, 0),
			c.TCP(S, 3_010_000, "SA", 0, 1, 0),
			c.TCP(S, 6_000_000, "R", 1, 0, 0),
		),
		Want: []Metrics{{CloseType: CloseClientNoResponse, PacketsTx: 1, PacketsRx: 4,
			RTTServer: 10_000, SYNCount: 1, SYNACKCount: 3, RetransRx: 2}},
	},
	{
		// SYN, two SYN-ACKs (one retransmission; rtt_server 10 000), the
		// client answers with RST → 20.
		Name: "20 client establish rst",
		Pkts: P(
			c.TCP(C, 0, "S", 0, 0, 0),
			c.TCP(S, 10_000, "SA", 0, 1, 0),
			c.TCP(S, 1_010_000, "SA", 0, 1, 0),
			c.TCP(C, 1_010_100, "R", 1, 0, 0),
		),
		Want: []Metrics{{CloseType: CloseClientEstablishRst, PacketsTx: 2, PacketsRx: 2,
			RTTServer: 10_000, SYNCount: 1, SYNACKCount: 2, RetransRx: 1}},
	},
}

// MetricCases cover every metric of architecture §3 beyond what
// CloseCases already show.
var MetricCases = []Case{
	{
		// SYN at 0, its retransmission at 1 000 000, SYN-ACK at 1 010 000, ACK
		// at 1 030 000: rtt = ACK − first SYN = 1 030 000; rtt_server =
		// SYN-ACK − the latest SYN = 10 000; rtt_client = 20 000; one client
		// retransmission.
		Name: "rtt with syn retransmission",
		Pkts: P(
			c.TCP(C, 0, "S", 0, 0, 0),
			c.TCP(C, 1_000_000, "S", 0, 0, 0),
			c.TCP(S, 1_010_000, "SA", 0, 1, 0),
			c.TCP(C, 1_030_000, "A", 1, 1, 0),
		),
		Want: []Metrics{{CloseType: CloseTimeout, PacketsTx: 3, PacketsRx: 1,
			RTT: 1_030_000, RTTServer: 10_000, RTTClient: 20_000, SYNCount: 2, SYNACKCount: 1, RetransTx: 1}},
	},
	{
		// SYN at 0, SYN-ACK at 10 000, its retransmission at 1 010 000, ACK at
		// 1 030 000: rtt_server = 10 000 (first SYN-ACK − SYN); rtt_client =
		// ACK − the latest SYN-ACK = 20 000; rtt = 1 030 000; one server
		// retransmission.
		Name: "rtt with syn-ack retransmission",
		Pkts: P(
			c.TCP(C, 0, "S", 0, 0, 0),
			c.TCP(S, 10_000, "SA", 0, 1, 0),
			c.TCP(S, 1_010_000, "SA", 0, 1, 0),
			c.TCP(C, 1_030_000, "A", 1, 1, 0),
		),
		Want: []Metrics{{CloseType: CloseTimeout, PacketsTx: 2, PacketsRx: 2,
			RTT: 1_030_000, RTTServer: 10_000, RTTClient: 20_000, SYNCount: 1, SYNACKCount: 2, RetransRx: 1}},
	},
	{
		// Two client segments (100 000 and 100 050; the first starts the
		// request: cit 70 000), one delayed server ACK of both at 140 050:
		// srt = 140 050 − 100 050 (the latest data) = 40 000; the duplicate
		// ACK at 140 100 is no second sample. art stays pending: no response.
		Name: "srt from the latest data segment",
		Pkts: cat(c.Handshake(), P(
			c.TCP(C, 100_000, "A", 1, 1, 100),
			c.TCP(C, 100_050, "PA", 101, 1, 100),
			c.TCP(S, 140_050, "A", 1, 201, 0),
			c.TCP(S, 140_100, "A", 1, 201, 0),
		)),
		Want: []Metrics{hsRTT(Metrics{CloseType: CloseTimeout, PacketsTx: 4, PacketsRx: 3,
			SRTSum: 40_000, SRTMax: 40_000, SRTCount: 1, CITSum: 70_000, CITMax: 70_000, CITCount: 1})},
	},
	{
		// Two client segments (cit 70 000); the server's pure ACK at 100 300
		// covers only the first (no srt: the latest data is not covered); its
		// response at 120 000 ACKs both but is not a pure ACK (no srt either);
		// art = 120 000 − 100 010 (latest data, PSH) = 19 990.
		Name: "srt needs a pure ack of the latest data",
		Pkts: cat(c.Handshake(), P(
			c.TCP(C, 100_000, "PA", 1, 1, 100),
			c.TCP(C, 100_010, "PA", 101, 1, 100),
			c.TCP(S, 100_300, "A", 1, 101, 0),
			c.TCP(S, 120_000, "PA", 1, 201, 50),
		)),
		Want: []Metrics{hsRTT(Metrics{CloseType: CloseTimeout, PacketsTx: 4, PacketsRx: 3,
			ARTSum: 19_990, ARTMax: 19_990, ARTCount: 1, CITSum: 70_000, CITMax: 70_000, CITCount: 1})},
	},
	{
		// The server sends a banner at 50 000 (no request yet: no art, not a
		// cit reference); the first request at 100 000: cit = 100 000 − 50 000
		// (latest packet, the banner) = 50 000. The client then sends a pure
		// ACK at 100 100, which cancels art: the response at 150 000 is no art
		// sample. A client pure ACK of server data is no srt sample.
		Name: "art cancelled by a client pure ack",
		Pkts: cat(c.Handshake(), P(
			c.TCP(S, 50_000, "PA", 1, 1, 100),
			c.TCP(C, 100_000, "PA", 1, 101, 10),
			c.TCP(C, 100_100, "A", 11, 101, 0),
			c.TCP(S, 150_000, "PA", 101, 11, 100),
		)),
		Want: []Metrics{hsRTT(Metrics{CloseType: CloseTimeout, PacketsTx: 4, PacketsRx: 3,
			CITSum: 50_000, CITMax: 50_000, CITCount: 1})},
	},
	{
		// A request without PSH (cit 70 000), then the response: no art.
		Name: "art needs psh",
		Pkts: cat(c.Handshake(), P(
			c.TCP(C, 100_000, "A", 1, 1, 100),
			c.TCP(S, 150_000, "PA", 1, 101, 100),
		)),
		Want: []Metrics{hsRTT(Metrics{CloseType: CloseTimeout, PacketsTx: 3, PacketsRx: 2,
			CITSum: 70_000, CITMax: 70_000, CITCount: 1})},
	},
	{
		// Request 1 at 80 000: first after the handshake, latest packet = ACK
		// at 30 000 → cit 50 000. Pure ACK at 80 300 → srt 300. Response at
		// 120 000 (art 40 000) and 121 000; client ACK at 121 500. Request 2
		// at 200 000: cit = 200 000 − 121 000 (the server's last data) =
		// 79 000; response at 230 000 → art 30 000.
		// cit sum 129 000 max 79 000 n 2; art sum 70 000 max 40 000 n 2.
		Name: "cit first and later requests",
		Pkts: cat(c.Handshake(), P(
			c.TCP(C, 80_000, "PA", 1, 1, 100),
			c.TCP(S, 80_300, "A", 1, 101, 0),
			c.TCP(S, 120_000, "PA", 1, 101, 1000),
			c.TCP(S, 121_000, "PA", 1001, 101, 1000),
			c.TCP(C, 121_500, "A", 101, 2001, 0),
			c.TCP(C, 200_000, "PA", 101, 2001, 100),
			c.TCP(S, 230_000, "PA", 2001, 201, 500),
		)),
		Want: []Metrics{hsRTT(Metrics{CloseType: CloseTimeout, PacketsTx: 5, PacketsRx: 5,
			SRTSum: 300, SRTMax: 300, SRTCount: 1, ARTSum: 70_000, ARTMax: 40_000, ARTCount: 2,
			CITSum: 129_000, CITMax: 79_000, CITCount: 2})},
	},
	{
		// Banner at 50 000, the client ACKs it at 50 200; first request at
		// 100 000: cit = 100 000 − 50 200 (latest packet from either side) =
		// 49 800. Response at 130 000: art 30 000.
		Name: "cit first request after a banner",
		Pkts: cat(c.Handshake(), P(
			c.TCP(S, 50_000, "PA", 1, 1, 100),
			c.TCP(C, 50_200, "A", 1, 101, 0),
			c.TCP(C, 100_000, "PA", 1, 101, 10),
			c.TCP(S, 130_000, "PA", 101, 11, 100),
		)),
		Want: []Metrics{hsRTT(Metrics{CloseType: CloseTimeout, PacketsTx: 4, PacketsRx: 3,
			ARTSum: 30_000, ARTMax: 30_000, ARTCount: 1, CITSum: 49_800, CITMax: 49_800, CITCount: 1})},
	},
	{
		// Request at 100 000 (cit 70 000), retransmitted at 400 000 before
		// any server ACK of it: data the tap saw, not ACKed → retrans_tx 1 and
		// lost_tx 1, after the tap. The server ACKs at 400 300: srt = 300
		// (from the latest copy, the one the server got).
		Name: "retrans lost after the tap",
		Pkts: cat(c.Handshake(), P(
			c.TCP(C, 100_000, "PA", 1, 1, 100),
			c.TCP(C, 400_000, "PA", 1, 1, 100),
			c.TCP(S, 400_300, "A", 1, 101, 0),
		)),
		Want: []Metrics{hsRTT(Metrics{CloseType: CloseTimeout, PacketsTx: 4, PacketsRx: 2,
			SRTSum: 300, SRTMax: 300, SRTCount: 1, CITSum: 70_000, CITMax: 70_000, CITCount: 1,
			RetransTx: 1, LostTx: 1})},
	},
	{
		// Request (cit 70 000), server ACK (srt 300), a duplicate server pure
		// ACK (no retransmission: pure ACKs never count), then the request
		// again at 400 000: a spurious retransmission, the server had ACKed
		// it → retrans_tx 1, no loss; the server's dup ACK is no srt sample.
		Name: "retrans spurious and pure acks",
		Pkts: cat(c.Handshake(), P(
			c.TCP(C, 100_000, "PA", 1, 1, 100),
			c.TCP(S, 100_300, "A", 1, 101, 0),
			c.TCP(S, 100_400, "A", 1, 101, 0),
			c.TCP(C, 400_000, "PA", 1, 1, 100),
			c.TCP(S, 400_200, "A", 1, 101, 0),
		)),
		Want: []Metrics{hsRTT(Metrics{CloseType: CloseTimeout, PacketsTx: 4, PacketsRx: 4,
			SRTSum: 300, SRTMax: 300, SRTCount: 1, CITSum: 70_000, CITMax: 70_000, CITCount: 1, RetransTx: 1})},
	},
	{
		// A one-byte keepalive at snd_nxt − 1 (seq 100 after data up to 101)
		// is neither a retransmission nor a request, and the server's ACK of
		// it is no srt sample.
		Name: "keepalive",
		Pkts: cat(c.Handshake(), P(
			c.TCP(C, 100_000, "PA", 1, 1, 100),
			c.TCP(S, 100_300, "A", 1, 101, 0),
			c.TCP(C, 5_000_000, "A", 100, 1, 1),
			c.TCP(S, 5_000_300, "A", 1, 101, 0),
		)),
		Want: []Metrics{hsRTT(Metrics{CloseType: CloseTimeout, PacketsTx: 4, PacketsRx: 3,
			SRTSum: 300, SRTMax: 300, SRTCount: 1, CITSum: 70_000, CITMax: 70_000, CITCount: 1})},
	},
	{
		// The server advertises a zero window twice (zero_win_rx 2); its RST
		// with window 0 does not count. The client's window probe is a pure
		// ACK (no retransmission). Request cit 70 000, srt 300 → RST 2.
		Name: "zero window",
		Pkts: cat(c.Handshake(), P(
			c.TCP(C, 100_000, "PA", 1, 1, 100),
			c.TCP(S, 100_300, "AW", 1, 101, 0),
			c.TCP(C, 300_000, "A", 100, 1, 0),
			c.TCP(S, 300_100, "AW", 1, 101, 0),
			c.TCP(S, 400_000, "RAW", 1, 101, 0),
		)),
		Want: []Metrics{hsRTT(Metrics{CloseType: CloseTCPServerRst, PacketsTx: 4, PacketsRx: 4,
			SRTSum: 300, SRTMax: 300, SRTCount: 1, CITSum: 70_000, CITMax: 70_000, CITCount: 1, ZeroWinRx: 2})},
	},
	{
		// Segments 1..101 (cit 70 000), 201..301, then 101..201 before the
		// server ACKed anything: reordering → ooo_tx 1, no retrans, no loss.
		// The server ACKs all at 100 400: srt = 100 400 − 100 020 = 380.
		Name: "ooo",
		Pkts: cat(c.Handshake(), P(
			c.TCP(C, 100_000, "A", 1, 1, 100),
			c.TCP(C, 100_010, "A", 201, 1, 100),
			c.TCP(C, 100_020, "PA", 101, 1, 100),
			c.TCP(S, 100_400, "A", 1, 301, 0),
		)),
		Want: []Metrics{hsRTT(Metrics{CloseType: CloseTimeout, PacketsTx: 5, PacketsRx: 2,
			SRTSum: 380, SRTMax: 380, SRTCount: 1, CITSum: 70_000, CITMax: 70_000, CITCount: 1, OOOTx: 1})},
	},
	{
		// Segment 101..201 is lost before the tap: the tap sees 1..101 (cit
		// 70 000) and 201..301, the server ACKs 101 twice (asking for the gap;
		// not srt samples: they do not cover the latest data), the
		// retransmission fills the gap at 130 000 → retrans_tx 1, lost_tx 1,
		// lost before the tap 1. ACK of all at 130 300 → srt 300.
		Name: "lost before the tap",
		Pkts: cat(c.Handshake(), P(
			c.TCP(C, 100_000, "A", 1, 1, 100),
			c.TCP(C, 100_010, "A", 201, 1, 100),
			c.TCP(S, 100_300, "A", 1, 101, 0),
			c.TCP(S, 100_310, "A", 1, 101, 0),
			c.TCP(C, 130_000, "PA", 101, 1, 100),
			c.TCP(S, 130_300, "A", 1, 301, 0),
		)),
		Want: []Metrics{hsRTT(Metrics{CloseType: CloseTimeout, PacketsTx: 5, PacketsRx: 4,
			SRTSum: 300, SRTMax: 300, SRTCount: 1, CITSum: 70_000, CITMax: 70_000, CITCount: 1,
			RetransTx: 1, LostTx: 1, LostBeforeTapTx: 1})},
	},
	{
		// Reordered across the server's ask: 201..301 opens the gap, the
		// server ACKs 101 at 100 300 (asking for it), and 101..201 arrives at
		// 105 300, 5 000 µs later. The client is 20 000 µs (rtt_client) from
		// the tap, so it cannot have heard the ask yet: the late original →
		// ooo_tx 1, no retransmission, no loss. srt = 105 600 − 105 300 = 300.
		Name: "reordered after the ask, within rtt_client",
		Pkts: cat(c.Handshake(), P(
			c.TCP(C, 100_000, "A", 1, 1, 100),
			c.TCP(C, 100_010, "A", 201, 1, 100),
			c.TCP(S, 100_300, "A", 1, 101, 0),
			c.TCP(C, 105_300, "PA", 101, 1, 100),
			c.TCP(S, 105_600, "A", 1, 301, 0),
		)),
		Want: []Metrics{hsRTT(Metrics{CloseType: CloseTimeout, PacketsTx: 5, PacketsRx: 3,
			SRTSum: 300, SRTMax: 300, SRTCount: 1, CITSum: 70_000, CITMax: 70_000, CITCount: 1, OOOTx: 1})},
	},
	{
		// The tap misses 101..201 (capture loss), the server ACKs 301: it got
		// everything, so nothing was lost in the network; Stats.TapGaps 1.
		// srt = 100 300 − 100 010 = 290.
		Name: "capture gap is not loss",
		Pkts: cat(c.Handshake(), P(
			c.TCP(C, 100_000, "A", 1, 1, 100),
			c.TCP(C, 100_010, "PA", 201, 1, 100),
			c.TCP(S, 100_300, "A", 1, 301, 0),
		)),
		Want: []Metrics{hsRTT(Metrics{CloseType: CloseTimeout, PacketsTx: 4, PacketsRx: 2,
			SRTSum: 290, SRTMax: 290, SRTCount: 1, CITSum: 70_000, CITMax: 70_000, CITCount: 1})},
		TapGaps: 1,
	},
	{
		// A gap never filled nor ACKed past before the flow ends: lost before
		// the tap (lost_tx 1, before 1), counted when the flow ends.
		Name: "gap never filled",
		Pkts: cat(c.Handshake(), P(
			c.TCP(C, 100_000, "A", 1, 1, 100),
			c.TCP(C, 100_010, "PA", 201, 1, 100),
		)),
		Want: []Metrics{hsRTT(Metrics{CloseType: CloseTimeout, PacketsTx: 4, PacketsRx: 1,
			CITSum: 70_000, CITMax: 70_000, CITCount: 1, LostTx: 1, LostBeforeTapTx: 1})},
	},
	{
		// Server direction. Request (cit 70 000); response 1..1001 at 150 000
		// (art 50 000); 1001..2001 is lost before the tap: 2001..3001 at
		// 150 010, the client asks for 1001 twice, the retransmission fills
		// the gap at 180 000 (retrans_rx, lost_rx, before_rx); 3001..4001 at
		// 180 010; the client ACKs 3001; 3001..4001 is retransmitted at
		// 500 000 though the tap saw it and the client had not ACKed it:
		// lost after the tap (retrans_rx 2, lost_rx 2, before_rx 1).
		// Client SYN, ACK, PA, A, A, A, A = 7; server SA + 5 data = 6.
		Name: "loss and retrans per direction (server)",
		Pkts: cat(c.Handshake(), P(
			c.TCP(C, 100_000, "PA", 1, 1, 10),
			c.TCP(S, 150_000, "A", 1, 11, 1000),
			c.TCP(S, 150_010, "A", 2001, 11, 1000),
			c.TCP(C, 150_300, "A", 11, 1001, 0),
			c.TCP(C, 150_310, "A", 11, 1001, 0),
			c.TCP(S, 180_000, "A", 1001, 11, 1000),
			c.TCP(S, 180_010, "PA", 3001, 11, 1000),
			c.TCP(C, 180_300, "A", 11, 3001, 0),
			c.TCP(S, 500_000, "PA", 3001, 11, 1000),
			c.TCP(C, 500_300, "A", 11, 4001, 0),
		)),
		Want: []Metrics{hsRTT(Metrics{CloseType: CloseTimeout, PacketsTx: 7, PacketsRx: 6,
			ARTSum: 50_000, ARTMax: 50_000, ARTCount: 1, CITSum: 70_000, CITMax: 70_000, CITCount: 1,
			RetransRx: 2, LostRx: 2, LostBeforeTapRx: 1})},
	},
	{
		// DNS over UDP: query at 0, answer at 2 500 → art 2 500; query at 1 s,
		// its retry at 2 s, answer at 2.003 s → art from the latest query =
		// 3 000. art sum 5 500, max 3 000, n 2. UDP ends by timeout → 3.
		Name: "udp response time",
		Pkts: P(
			dns.UDP(C, 0, 40),
			dns.UDP(S, 2_500, 80),
			dns.UDP(C, 1_000_000, 40),
			dns.UDP(C, 2_000_000, 40),
			dns.UDP(S, 2_003_000, 80),
		),
		Want: []Metrics{{CloseType: CloseTimeout, PacketsTx: 3, PacketsRx: 2,
			ARTSum: 5_500, ARTMax: 3_000, ARTCount: 2}},
	},
	{
		// ICMP echo request and reply: packets only, no response time.
		Name: "icmp",
		Pkts: P(
			c.ICMP(C, 0, 56),
			c.ICMP(S, 300, 56),
		),
		Want: []Metrics{{CloseType: CloseTimeout, PacketsTx: 1, PacketsRx: 1}},
	},
}
