package flowtable

import (
	"math"

	"github.com/tapflow/tapflow/tap"
)

// Segment classes: how a segment's sequence range relates to what the tap
// has already seen in its direction.
const (
	segNone    = iota // no sequence space: pure ACK, RST, keepalive
	segNew            // new to the tap: in order, or ahead of a gap it opens
	segOOO            // fills a gap before the receiver asked for it: reordering
	segLostPre        // fills a gap the receiver had asked for: lost before the tap, retransmitted
	segRetrans        // sequence space the tap already saw: a retransmission
)

// Sequence number arithmetic (RFC 1982, 32 bits).
func seqLT(a, b uint32) bool { return int32(a-b) < 0 }
func seqGT(a, b uint32) bool { return int32(a-b) > 0 }
func seqGE(a, b uint32) bool { return int32(a-b) >= 0 }

// tcpUpdate advances the TCP state and metrics with one packet in
// direction d, counting each metric event in the aggregate a too. It runs
// before the packet's direction is marked seen and before the last packet
// time moves, so f.lastTime() is the previous packet's time.
func (f *flow) tcpUpdate(m *tap.Meta, d int, st *Stats, a *Meter) {
	fl := m.TCPFlags
	if fl&tap.TCPRst != 0 {
		// A RST carries no metric; only the first one's sender matters.
		if f.flags&fRst == 0 {
			f.flags |= fRst
			if d == dirRx {
				f.flags |= fRstServer
			}
		}
		return
	}
	if m.Window == 0 {
		f.zeroWin[d] = inc16(f.zeroWin[d])
		a.ZeroWin[d]++
	}
	ts := m.Timestamp
	syn, ack := fl&tap.TCPSyn != 0, fl&tap.TCPAck != 0
	switch {
	case syn && !ack:
		inc8(&f.syn, &a.SYN)
		if d == dirTx && f.flags&fSyn == 0 {
			f.flags |= fSyn
			if f.flags&fSynAck == 0 {
				f.t0, f.t1 = f.off(ts), f.off(ts)
			}
		} else if d == dirTx && f.flags&fSynAck == 0 {
			f.t1 = f.off(ts) // the latest SYN is the one a SYN-ACK answers
		}
	case syn:
		inc8(&f.synAck, &a.SYNACK)
		switch {
		case d != dirRx:
		case f.flags&fHandshake != 0, f.flags&(fSyn|fSynAck) == 0 && f.flags&(fSeenTx|fSeenRx) != 0:
			// After the handshake, or into a connection picked up
			// mid-stream: the server lost the connection it had accepted.
			f.flags |= fQueue
		case f.flags&fSynAck == 0:
			f.flags |= fSynAck
			if v, ok := f.since(f.t1, ts); ok && f.flags&fSyn != 0 {
				f.rttServer = v
				a.RTTServer.addMeasured(v)
			}
			if f.flags&fSyn == 0 {
				f.t0 = unset
			}
			f.t1 = f.off(ts)
		default:
			f.t1 = f.off(ts)
		}
	default:
		if fl&tap.TCPFin != 0 {
			inc8(&f.fin, &a.FIN)
			f.flags |= fFinTx << d
		}
		if d == dirRx {
			f.flags &^= fQueue // the server speaks: it has the connection
			if f.flags&(fSyn|fSynAck|fHandshake) == fSyn {
				// A SYN answered by something else than a SYN-ACK. If it
				// ACKs the SYN, the tap missed the SYN-ACK; otherwise it
				// belongs to another connection on this port (13).
				if ack && f.flags2&gSeqTx != 0 && m.Ack == f.seq[dirTx].nxt {
					f.flags |= fSynAck
					f.t1 = unset
				} else {
					f.flags |= fReuse
				}
			}
		} else if ack && f.flags&(fSynAck|fHandshake) == fSynAck && f.flags2&gSeqRx != 0 && m.Ack == f.seq[dirRx].nxt {
			f.flags |= fHandshake
			if v, ok := f.since(f.t1, ts); ok {
				f.rttClient = v
				a.RTTClient.addMeasured(v)
			}
			if v, ok := f.since(f.t0, ts); ok && f.flags&fSyn != 0 {
				f.rtt = v
				a.RTT.addMeasured(v)
			}
			f.t0, f.t1 = unset, unset
		}
	}

	cls, end := f.trackSeq(m, d)
	o := 1 - d
	switch cls {
	case segOOO:
		f.ooo[d] = inc16(f.ooo[d])
		a.OOO[d]++
	case segLostPre:
		f.retrans[d]++
		f.lost[d]++
		f.lostBefore[d]++
		a.Retrans[d]++
		a.Lost[d]++
		a.LostBeforeTap[d]++
	case segRetrans:
		f.retrans[d]++
		a.Retrans[d]++
		// Data the tap saw and the receiver had not ACKed: lost after the tap.
		if m.PayloadLen > 0 && (f.flags2&(gAckTx<<o) == 0 || seqLT(f.seq[o].ack, end)) {
			f.lost[d]++
			a.Lost[d]++
		}
	}

	dataPhase := f.flags&fHandshake != 0 || f.flags&(fSyn|fSynAck) == 0
	data := m.PayloadLen > 0 && cls != segNone // a keepalive's byte is not data
	pure := m.PayloadLen == 0 && fl&(tap.TCPSyn|tap.TCPFin) == 0
	if ack {
		f.onAck(m, d, dataPhase && pure, st, a)
	}
	if !dataPhase {
		return
	}
	switch {
	case d == dirTx && data:
		if cls != segRetrans && f.flags&fRequest == 0 {
			// A request starts: the client's first new data since the
			// server last sent data.
			if v, ok := f.since(f.t1, ts); ok {
				f.cit.add(v, &a.CIT)
			} else if last := f.lastTime(); f.t1 == unset && f.flags&fHandshake != 0 && ts >= last {
				f.cit.add(uint32(min(ts-last, 1<<32-1)), &a.CIT)
			}
			f.flags |= fRequest
		}
		f.t0 = f.off(ts)
		if fl&tap.TCPPsh != 0 {
			f.flags |= fArt
		} else {
			f.flags &^= fArt
		}
	case d == dirTx && pure && ack:
		f.flags &^= fArt
	case d == dirRx && data:
		if f.flags&fArt != 0 {
			f.flags &^= fArt
			if v, ok := f.since(f.t0, ts); ok {
				f.art.add(v, &a.ART)
			}
		}
		if f.flags&fRequest != 0 || f.t1 != unset {
			f.t1 = f.off(ts)
		}
		f.flags &^= fRequest
	}
}

// trackSeq classifies the packet's sequence range in direction d, moves the
// direction's highest sequence and its open gap, and returns the class and
// the range's end. Only one gap is kept per direction: a gap opened while
// another is open is merged with it.
func (f *flow) trackSeq(m *tap.Meta, d int) (int, uint32) {
	fl := m.TCPFlags
	n := m.PayloadLen
	if fl&tap.TCPSyn != 0 {
		n++
	}
	if fl&tap.TCPFin != 0 {
		n++
	}
	s := &f.seq[d]
	seq, end := m.Seq, m.Seq+n
	if f.flags2&(gSeqTx<<d) == 0 {
		f.flags2 |= gSeqTx << d
		s.nxt, s.holeLo, s.holeHi = end, end, end
		if n == 0 {
			return segNone, end
		}
		return segNew, end
	}
	if n == 0 {
		return segNone, end
	}
	if seqGE(seq, s.nxt) {
		if seq != s.nxt {
			if s.holeLo == s.holeHi {
				s.holeLo = s.nxt
				f.flags &^= fHoleAskedTx << d
			}
			s.holeHi = seq
		}
		s.nxt = end
		return segNew, end
	}
	// Behind the highest sequence seen.
	if n <= 1 && fl&(tap.TCPSyn|tap.TCPFin) == 0 && seq+1 == s.nxt {
		return segNone, end // keepalive: one byte (or none) below snd_nxt
	}
	if seqGT(end, s.nxt) {
		s.nxt = end
	}
	if s.holeLo == s.holeHi || !seqLT(seq, s.holeHi) || !seqGT(end, s.holeLo) {
		return segRetrans, end
	}
	// A fill after the receiver asked for the gap is a retransmission of a
	// segment lost before the tap, unless it came sooner than the sender
	// could have heard the ask: then it is the late original (reordering).
	cls := segOOO
	if f.flags&(fHoleAskedTx<<d) != 0 {
		cls = segLostPre
		if rtt := f.tapRTT(d); rtt > 0 && int64(f.off(m.Timestamp))-int64(f.askedAt[d]) < int64(rtt) {
			cls = segOOO
		}
	}
	switch {
	case !seqGT(seq, s.holeLo) && seqGE(end, s.holeHi):
		s.holeLo = s.holeHi // filled
	case !seqGT(seq, s.holeLo):
		s.holeLo = end
	case seqGE(end, s.holeHi):
		s.holeHi = seq
	}
	return cls, end
}

// onAck handles the ACK field of a packet in direction d, which
// acknowledges the other direction's data: the receiver asking for a gap's
// start (it lacks those bytes), or ACKing past a gap the tap never saw
// filled (the tap missed them: capture loss, not network loss); an srt
// sample; the direction's highest ACK.
func (f *flow) onAck(m *tap.Meta, d int, pureData bool, st *Stats, am *Meter) {
	a := m.Ack
	o := 1 - d
	if so := &f.seq[o]; so.holeLo != so.holeHi {
		switch {
		case a == so.holeLo:
			if f.flags&(fHoleAskedTx<<o) == 0 {
				f.askedAt[o] = f.off(m.Timestamp)
			}
			f.flags |= fHoleAskedTx << o
		case seqGT(a, so.holeLo) && !seqGT(a, so.nxt):
			st.TapGaps++
			if seqGE(a, so.holeHi) {
				so.holeLo = so.holeHi
			} else {
				so.holeLo = a
			}
		}
	}
	// srt: the server's first ACK covering the client's latest data, when
	// that ACK is a pure ACK. A client FIN ends the client's sequence space
	// but is not data: the ACK must cover the data before it.
	if d == dirRx && pureData && f.flags2&gSeqTx != 0 {
		nt := f.seq[dirTx].nxt
		if f.flags&fFinTx != 0 {
			nt--
		}
		if seqGE(a, nt) && (f.flags2&gAckRx == 0 || seqLT(f.seq[dirRx].ack, nt)) {
			if v, ok := f.since(f.t0, m.Timestamp); ok {
				f.srt.add(v, &am.SRT)
			}
		}
	}
	if f.flags2&(gAckTx<<d) == 0 || seqGT(a, f.seq[d].ack) {
		f.seq[d].ack = a
		f.flags2 |= gAckTx << d
	}
}

// tapRTT is the round trip between the tap and the sender of direction d,
// measured by the handshake of this report period (0 if unknown): the
// least time between a receiver's ACK passing the tap and the sender's
// answer to it coming back.
func (f *flow) tapRTT(d int) uint32 {
	if d == dirTx {
		return f.rttClient
	}
	return f.rttServer
}

func inc16(v uint16) uint16 {
	if v == math.MaxUint16 {
		return v
	}
	return v + 1
}
