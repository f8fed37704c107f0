package flowtable

import "github.com/tapflow/tapflow/tap"

// tcpFlow is the TCP part of a flow: handshake, teardown and the counters
// of architecture §3.
type tcpFlow struct {
	synSeq     uint32
	synSeen    bool
	synAckSeen bool
	ackSeen    bool // the client's handshake ACK
	rstSeen    bool
	rstDir     int8 // direction of the first RST, -1 none
	finDir     [2]bool

	synTime, synAckTime int64 // µs, first SYN and first SYN-ACK

	rtt, rttClient, rttServer uint32
	synCount, synAckCount     uint32
	finCount                  uint32
}

// update advances the TCP state with one packet in direction d and returns
// the flow's new state.
func (t *tcpFlow) update(m *tap.Meta, d int, state uint8) uint8 {
	fl := m.TCPFlags
	switch {
	case fl&tap.TCPRst != 0:
		if !t.rstSeen {
			t.rstSeen = true
			t.rstDir = int8(d)
		}
		if state == stateOpening || state == stateException && !t.ackSeen {
			return stateOpening
		}
		return stateRST
	case fl&(tap.TCPSyn|tap.TCPAck) == tap.TCPSyn:
		t.synCount++
		if !t.synSeen {
			t.synSeen, t.synSeq, t.synTime = true, m.Seq, m.Timestamp
		}
		if state == stateException {
			return stateOpening
		}
	case fl&(tap.TCPSyn|tap.TCPAck) == tap.TCPSyn|tap.TCPAck:
		t.synAckCount++
		if !t.synAckSeen {
			t.synAckSeen, t.synAckTime = true, m.Timestamp
			if t.synSeen {
				t.rttServer = uint32(m.Timestamp - t.synTime)
			}
		}
		if state == stateException {
			return stateOpening
		}
	default:
		if fl&tap.TCPFin != 0 {
			t.finCount++
			t.finDir[d] = true
		}
		if state == stateOpening && d == dirTx && fl&tap.TCPAck != 0 && t.synAckSeen && !t.ackSeen {
			t.ackSeen = true
			t.rttClient = uint32(m.Timestamp - t.synAckTime)
			if t.synSeen {
				t.rtt = uint32(m.Timestamp - t.synTime)
			}
		}
		if state == stateRST {
			return state
		}
		switch {
		case t.finDir[dirTx] && t.finDir[dirRx]:
			return stateClosed
		case t.finDir[dirTx] || t.finDir[dirRx]:
			return stateClosing
		case state == stateOpening && t.ackSeen, state == stateOpening && len(m.Payload) > 0:
			return stateEstablished
		}
	}
	return state
}

// closeType derives the close type of a TCP flow ending in state.
func (t *tcpFlow) closeType(state uint8) CloseType {
	switch {
	case t.finDir[dirTx] && t.finDir[dirRx]:
		return CloseTCPFin
	case t.rstSeen && state != stateOpening:
		if t.rstDir == dirTx {
			return CloseTCPClientRst
		}
		return CloseTCPServerRst
	case t.rstSeen && t.rstDir == dirRx:
		return CloseServerReset
	case t.finDir[dirTx]:
		return CloseClientHalfClose
	case t.finDir[dirRx]:
		return CloseServerHalfClose
	case state == stateOpening && t.synSeen && !t.synAckSeen:
		return CloseClientSYNRepeat
	case state == stateOpening && t.synAckSeen && !t.synSeen:
		return CloseServerSYNACKRepeat
	}
	return CloseTimeout
}

func (t *tcpFlow) resetPeriod() {}

func (t *tcpFlow) record(r *FlowRecord) {
	r.RTT, r.RTTClient, r.RTTServer = t.rtt, t.rttClient, t.rttServer
	r.SYNCount, r.SYNACKCount, r.FINCount = t.synCount, t.synAckCount, t.finCount
}
