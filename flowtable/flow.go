package flowtable

import (
	"time"

	"github.com/tapflow/tapflow/tap"
)

// Directions index per-direction counters.
const (
	dirTx = 0 // client → server
	dirRx = 1 // server → client
)

// TCP states that select a flow's timeout.
const (
	stateOpening     uint8 = iota // SYN or SYN-ACK seen, handshake not complete
	stateEstablished              // handshake complete or data both ways
	stateClosing                  // one side sent FIN
	stateClosed                   // both sides sent FIN
	stateRST                      // a RST was seen
	stateException                // no handshake seen, one direction only
	stateSingle                   // non-TCP flow seen in one direction
	stateBidir                    // non-TCP flow seen in both directions
)

// flow is one slab entry. Keep it small: memory per active flow is a
// published goal (≤ 256 bytes including the index).
type flow struct {
	key  Key
	hash uint32

	wnext, wprev uint32 // timing wheel links (slab indices)
	wsec         int64  // wheel second the flow is scheduled in

	id         uint64
	startTime  int64 // µs: first packet of the flow
	periodFrom int64 // µs: first packet of the current report period
	lastTime   int64 // µs: last packet
	deadline   int64 // µs: end of the flow if nothing else arrives
	nextReport int64 // µs: next forced report

	packets [2]uint32
	bytes   [2]uint64

	clientIsLo bool
	state      uint8
	seenDir    uint8 // bit per direction that sent a packet
	outerSrc   [16]byte
	outerDst   [16]byte

	tcp tcpFlow
}

// start initialises direction and report timing from the flow's first packet.
func (f *flow) start(m *tap.Meta, fromLo bool, reportUS int64) {
	f.startTime, f.periodFrom, f.lastTime = m.Timestamp, m.Timestamp, m.Timestamp
	f.nextReport = (m.Timestamp/reportUS + 1) * reportUS
	f.outerSrc, f.outerDst = m.OuterSrc.As16(), m.OuterDst.As16()
	if !m.OuterSrc.IsValid() {
		f.outerSrc, f.outerDst = [16]byte{}, [16]byte{}
	}
	// The sender of a SYN is the client; of a SYN-ACK the server; else the
	// lower port is the server, and on equal ports the first sender is the client.
	senderIsClient := true
	if m.IsTCP() && m.TCPFlags&tap.TCPSyn != 0 {
		senderIsClient = m.TCPFlags&tap.TCPAck == 0
	} else if m.SrcPort != m.DstPort && !m.Fragment {
		senderIsClient = m.SrcPort > m.DstPort
	}
	f.clientIsLo = fromLo == senderIsClient
	if m.IsTCP() {
		f.state = stateException
	} else {
		f.state = stateSingle
	}
	f.deadline = m.Timestamp
}

func (f *flow) dir(fromLo bool) int {
	if fromLo == f.clientIsLo {
		return dirTx
	}
	return dirRx
}

// wake is when the wheel must next look at the flow.
func (f *flow) wake() int64 { return min(f.deadline, f.nextReport) }

// update accounts one packet of the flow.
func (f *flow) update(m *tap.Meta, fromLo bool, to *timeoutsUS) {
	d := f.dir(fromLo)
	f.packets[d]++
	f.bytes[d] += uint64(m.WireLen)
	f.seenDir |= 1 << d
	if m.Timestamp > f.lastTime {
		f.lastTime = m.Timestamp
	}
	if m.IsTCP() {
		f.state = f.tcp.update(m, d, f.state)
	} else if f.seenDir == 3 {
		f.state = stateBidir
	}
	f.deadline = f.lastTime + f.timeout(to)
}

func (f *flow) timeout(to *timeoutsUS) int64 {
	switch f.state {
	case stateOpening:
		if f.tcp.rstSeen {
			return to.openingRST
		}
		return to.opening
	case stateEstablished:
		return to.established
	case stateClosing:
		return to.closing
	case stateClosed:
		return to.closedFIN
	case stateRST:
		return to.establishedRST
	case stateException:
		if f.seenDir == 3 {
			return to.established
		}
		return to.exception
	case stateSingle:
		return to.single
	}
	return to.established
}

// reuse reports whether a packet starts a new connection on this flow's
// 5-tuple (a fresh SYN from the client after the old one closed or was
// abandoned) and the close type the old flow ends with.
func (f *flow) reuse(m *tap.Meta, fromLo bool) (CloseType, bool) {
	if !m.IsTCP() || m.TCPFlags&(tap.TCPSyn|tap.TCPAck) != tap.TCPSyn || f.dir(fromLo) != dirTx {
		return 0, false
	}
	if !f.tcp.synSeen || m.Seq == f.tcp.synSeq {
		return 0, false
	}
	switch f.state {
	case stateClosed, stateRST:
		return f.timeoutClose(), true
	case stateEstablished, stateClosing:
		return CloseClientPortReuse, true
	}
	return 0, false
}

// timeoutClose is the close type of a flow that ends now.
func (f *flow) timeoutClose() CloseType {
	if f.key.Proto != tap.ProtoTCP {
		return CloseTimeout
	}
	return f.tcp.closeType(f.state)
}

// resetPeriod starts a new report period after a forced report.
func (f *flow) resetPeriod(now, reportUS int64) {
	f.packets = [2]uint32{}
	f.bytes = [2]uint64{}
	f.periodFrom = now
	f.nextReport = (now/reportUS + 1) * reportUS
	f.tcp.resetPeriod()
}

// record fills r with the flow's report.
func (f *flow) record(r *FlowRecord, ct CloseType) {
	k := &f.key
	*r = FlowRecord{
		FlowID:    f.id,
		StartTime: time.UnixMicro(f.periodFrom).UTC(),
		EndTime:   time.UnixMicro(f.lastTime).UTC(),
		CloseType: ct,
		TapType:   k.TapType,
		TapPort:   k.TapPort,
		VLAN:      k.VLAN,
		Proto:     k.Proto,
		PacketsTx: uint64(f.packets[dirTx]),
		PacketsRx: uint64(f.packets[dirRx]),
		BytesTx:   f.bytes[dirTx],
		BytesRx:   f.bytes[dirRx],
	}
	if f.outerSrc != [16]byte{} || f.outerDst != [16]byte{} {
		r.OuterSrc, r.OuterDst = addr16(f.outerSrc), addr16(f.outerDst)
	}
	if f.clientIsLo {
		r.ClientIP, r.ClientPort, r.ServerIP, r.ServerPort = addr16(k.Lo), k.LoPort, addr16(k.Hi), k.HiPort
	} else {
		r.ClientIP, r.ClientPort, r.ServerIP, r.ServerPort = addr16(k.Hi), k.HiPort, addr16(k.Lo), k.LoPort
	}
	f.tcp.record(r)
}
