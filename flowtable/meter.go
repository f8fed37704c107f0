package flowtable

import (
	"net/netip"
	"time"
)

// MetricsSink receives batches of aggregate rows (flow_metrics network and
// network_map, 1 s and 1 m). The slice is reused after WriteMetrics
// returns: a sink copies what it keeps.
//
// A table aggregates only when the Sink given to New also implements
// MetricsSink; otherwise it spends nothing on aggregation.
type MetricsSink interface {
	WriteMetrics(rows []MetricRow)
}

// MetricTable says which aggregate a MetricRow belongs to.
type MetricTable uint8

// The aggregate tables (DeepFlow's flow_metrics names).
const (
	Network1s    MetricTable = iota // per (tap, server ip, server port, protocol) and second
	Network1m                       // the same per minute
	NetworkMap1s                    // per (tap, client ip, server ip, server port, protocol) and second
	NetworkMap1m                    // the same per minute
	NumMetricTables
)

var metricTableNames = [NumMetricTables]string{"network.1s", "network.1m", "network_map.1s", "network_map.1m"}

func (m MetricTable) String() string {
	if m < NumMetricTables {
		return metricTableNames[m]
	}
	return "unknown"
}

// IsMap reports whether rows of m are per client ↔ server edge.
func (m MetricTable) IsMap() bool { return m == NetworkMap1s || m == NetworkMap1m }

// MetricRow is one aggregate row: the metrics of every flow of one server
// (Network*) or one client ↔ server edge (NetworkMap*) seen by one table
// during one second or minute. Several rows may share a table, time and key
// (other workers, contributions that arrived late, see doc.go): readers sum
// them (and take the max of the Max fields).
type MetricRow struct {
	Table MetricTable
	// Time is the start of the second (1s tables) or minute (1m), UTC.
	Time    time.Time
	TapType uint8
	TapPort uint32
	Proto   uint8 // IP protocol number
	// ClientIP is set in NetworkMap rows only.
	ClientIP   netip.Addr
	ServerIP   netip.Addr
	ServerPort uint16
	Meter
}

// Sample accumulates µs samples of one metric.
type Sample struct {
	Sum   uint64
	Count uint32
	Max   uint32
}

func (s *Sample) add(v uint32) {
	s.Sum += uint64(v)
	s.Count++
	s.Max = max(s.Max, v)
}

// addMeasured adds v unless it is 0: a per-flow value (rtt) whose 0 in
// FlowRecord means "not measured", so that Count equals the number of
// records with a non-zero value.
func (s *Sample) addMeasured(v uint32) {
	if v != 0 {
		s.add(v)
	}
}

func (s *Sample) merge(o *Sample) {
	s.Sum += o.Sum
	s.Count += o.Count
	s.Max = max(s.Max, o.Max)
}

// Meter is the network metric set of an aggregate row. Every field has the
// definition of the FlowRecord field of the same name (architecture §3); a
// pair is indexed [0] tx (sent by the client), [1] rx (sent by the server).
//
// Where a contribution lands: a packet's counters (Packets, Bytes) and what
// it made happen (Retrans, ZeroWin, OOO, Lost and LostBeforeTap of a
// retransmission, SYN/SYNACK/FIN, and the rtt, srt, art and cit samples it
// completed) count in the second the table's clock was in when the packet
// was accounted, which is the packet's own second unless its timestamp is
// older than a packet already seen. NewFlow counts in the second of the
// flow's first packet. What is only known when a flow ends (ClosedFlow,
// Closed, and the loss of a gap never filled) counts in the second of the
// ending report's EndTime, the `time` of its l4_flow_log row, which may be
// well before the moment the flow timed out. So for every minute (with the
// default one-minute ReportInterval, or any window that is a multiple of
// it), the sum of a counter over the 1 s rows, over the 1 m rows and over
// the flow reports whose EndTime lies in it are equal.
type Meter struct {
	Packets [2]uint64
	Bytes   [2]uint64 // frame length on the wire
	// NewFlow counts flows that started; ClosedFlow flows that ended
	// (reports of any close type but forced report 5).
	NewFlow, ClosedFlow uint32
	// RTT, RTTClient and RTTServer have one sample per flow that measured
	// a non-zero value (Count = records with rtt_us > 0).
	RTT, RTTClient, RTTServer Sample
	// SRT, ART and CIT have every sample of every flow.
	SRT, ART, CIT Sample
	Retrans       [2]uint32
	ZeroWin       [2]uint32
	OOO           [2]uint32
	Lost          [2]uint32
	LostBeforeTap [2]uint32
	// SYN, SYNACK and FIN count those packets as FlowRecord does
	// (saturating at 255 per flow and report period).
	SYN, SYNACK, FIN uint32
	// Closed counts ClosedFlow by close type: Closed[i] is the number of
	// flows that ended with CloseClasses[i].
	Closed [NumCloseClasses]uint32
}

// Add adds o's counters to m and keeps the larger maxima.
func (m *Meter) Add(o *Meter) {
	for d := range 2 {
		m.Packets[d] += o.Packets[d]
		m.Bytes[d] += o.Bytes[d]
		m.Retrans[d] += o.Retrans[d]
		m.ZeroWin[d] += o.ZeroWin[d]
		m.OOO[d] += o.OOO[d]
		m.Lost[d] += o.Lost[d]
		m.LostBeforeTap[d] += o.LostBeforeTap[d]
	}
	m.NewFlow += o.NewFlow
	m.ClosedFlow += o.ClosedFlow
	m.RTT.merge(&o.RTT)
	m.RTTClient.merge(&o.RTTClient)
	m.RTTServer.merge(&o.RTTServer)
	m.SRT.merge(&o.SRT)
	m.ART.merge(&o.ART)
	m.CIT.merge(&o.CIT)
	m.SYN += o.SYN
	m.SYNACK += o.SYNACK
	m.FIN += o.FIN
	for i := range m.Closed {
		m.Closed[i] += o.Closed[i]
	}
}

// NumCloseClasses is the number of close types counted in Meter.Closed.
const NumCloseClasses = 14

// CloseClasses are the close types a flow can end with (every type but
// unknown and forced report), in Meter.Closed order.
var CloseClasses = [NumCloseClasses]CloseType{
	CloseTCPFin, CloseTCPServerRst, CloseTimeout, CloseClientSYNRepeat, CloseServerHalfClose,
	CloseTCPClientRst, CloseServerSYNACKRepeat, CloseClientHalfClose, CloseClientPortReuse,
	CloseServerReset, CloseServerQueueLack, CloseServerNoResponse, CloseClientNoResponse,
	CloseClientEstablishRst,
}

// closeSlot is 1 + the Meter.Closed index of each close type, 0 if none.
var closeSlot = [...]uint8{
	CloseTCPFin: 1, CloseTCPServerRst: 2, CloseTimeout: 3, CloseClientSYNRepeat: 4, CloseServerHalfClose: 5,
	CloseTCPClientRst: 6, CloseServerSYNACKRepeat: 7, CloseClientHalfClose: 8, CloseClientPortReuse: 9,
	CloseServerReset: 10, CloseServerQueueLack: 11, CloseServerNoResponse: 12, CloseClientNoResponse: 13,
	CloseClientEstablishRst: 14,
}

// ClosedBy returns how many flows ended with close type ct.
func (m *Meter) ClosedBy(ct CloseType) uint32 {
	if int(ct) < len(closeSlot) && closeSlot[ct] != 0 {
		return m.Closed[closeSlot[ct]-1]
	}
	return 0
}

// countClose counts a flow ending with ct.
func (m *Meter) countClose(ct CloseType) {
	m.ClosedFlow++
	if int(ct) < len(closeSlot) && closeSlot[ct] != 0 {
		m.Closed[closeSlot[ct]-1]++
	}
}
