package flowtable

import (
	"math"
	"time"
	"unsafe"

	"github.com/tapflow/tapflow/tap"
)

// Directions index per-direction state and counters.
const (
	dirTx = 0 // client → server
	dirRx = 1 // server → client
)

// Flow flags (flow.flags). Per-direction pairs are adjacent so that
// bit<<d selects direction d. The TCP state is derived from these flags
// (see timeout and closeType) rather than stored.
const (
	fClientIsLo  uint16 = 1 << iota // the key's Lo side is the client
	fSeenTx                         // a packet went client → server
	fSeenRx                         // a packet went server → client
	fSyn                            // the client's SYN was seen
	fSynAck                         // the server's SYN-ACK was seen (or inferred)
	fHandshake                      // the client ACKed the SYN-ACK
	fRst                            // a RST was seen
	fRstServer                      // the first RST came from the server
	fFinTx                          // the client sent FIN
	fFinRx                          // the server sent FIN
	fReuse                          // a SYN was answered by another connection's ACK or data (13)
	fQueue                          // the server sent a SYN-ACK after the handshake (17)
	fRequest                        // the client sent data since the server last did
	fArt                            // art pending: the client's latest data carried PSH, no pure ACK since
	fHoleAskedTx                    // the server ACKed exactly the start of the client's open gap
	fHoleAskedRx                    // the client ACKed exactly the start of the server's open gap
)

// Flow flags, second byte (flow.flags2).
const (
	gAckTx uint8 = 1 << iota // seq[dirTx].ack is valid
	gAckRx                   // seq[dirRx].ack is valid
	gSeqTx                   // seq[dirTx].nxt is valid (a non-RST packet went client → server)
	gSeqRx                   // seq[dirRx].nxt is valid
)

// unset marks an empty time slot (t0, t1).
const unset = math.MinInt32

// flow is one slab entry. Memory per active flow is a published goal
// (≤ 256 bytes including the index), so the layout is deliberate: 240 bytes
// (TestFlowSize). Times other than periodFrom are int32 µs offsets from
// periodFrom, rebased at each forced report; the TCP state is derived from
// flags; tunnel outer addresses are interned per table; the aggregates
// need only the index of the flow's current one (agg), no counters.
//
// What a packet of a flow other than TCP reads and writes lies in the
// first hotBytes (TestFlowHot), so the table's pipeline prefetches only
// those two or three lines for it; TCP's sequence and timing state follows.
type flow struct {
	id         uint64
	periodFrom int64 // µs: start of the current report period
	bytes      [2]uint64

	key      Key
	nextFree uint32 // the free list's link, while the entry is free
	// l7 is the payload handler's word for the flow (FlowView.L7), zero
	// when the flow starts: kept here, the handler's state of a packet's
	// flow comes with the flow's cache lines instead of one more miss.
	l7      uint32
	outer   uint32 // interned tunnel outer address pair, 0 for none
	agg     uint32 // index of the edge aggregate last counted in (Table.meter checks it)
	packets [2]uint32
	last    int32 // last packet, as an offset from periodFrom (see lastTime)

	// t0, t1 are times as offsets from periodFrom (unset when empty).
	// TCP handshake: t0 first SYN, t1 latest SYN then latest SYN-ACK.
	// TCP after the handshake: t0 the client's latest data segment (srt and
	// art start), t1 the server's latest data after the first request (cit).
	// UDP: t0 the client's latest datagram (response time start).
	t0, t1 int32
	art    stat   // per report period, as the others below
	wslot  uint16 // timing wheel slot, noSlot when not in the wheel
	flags  uint16

	seq [2]seqState

	// Per report period.
	srt, cit                  stat
	rtt, rttClient, rttServer uint32
	retrans                   [2]uint32
	zeroWin, ooo              [2]uint16 // saturate at 65535 per report period
	// askedAt is when the receiver of direction d first ACKed exactly the
	// start of d's open gap (offset from periodFrom): a fill sooner than
	// one tap↔sender round trip after it cannot be a retransmission.
	askedAt          [2]int32
	lost, lostBefore [2]uint32
	flags2           uint8
	syn, synAck, fin uint8 // saturate at 255
}

// hotBytes is how much of a flow a packet other than TCP touches.
const hotBytes = unsafe.Offsetof(flow{}.seq)

// seqState is what the tap knows of one direction's sequence space.
type seqState struct {
	nxt    uint32 // end of the highest segment seen (seq + payload + SYN + FIN)
	holeLo uint32 // first byte of the open gap; holeLo == holeHi: no gap
	holeHi uint32 // end of the open gap (gaps opened later are merged into it)
	ack    uint32 // highest ACK this direction sent (valid with gAckTx<<d)
}

// stat accumulates µs samples. The samples of one flow's srt, art and cit
// each cover disjoint intervals (a new measurement starts only after the
// previous one ended), so within a report period the sum stays below the
// period plus the longest timeout; adds saturate anyway.
type stat struct{ sum, max, n uint32 }

// add adds sample v to s and to the aggregate sample a.
func (s *stat) add(v uint32, a *Sample) {
	if s.sum+v < s.sum {
		s.sum = math.MaxUint32
	} else {
		s.sum += v
	}
	s.max = max(s.max, v)
	s.n++
	a.add(v)
}

// inc8 counts one more in the saturating counter v and, when v moved, in
// the aggregate counter a.
func inc8(v *uint8, a *uint32) {
	if *v != math.MaxUint8 {
		*v++
		*a++
	}
}

// lastTime is the time of the flow's last packet, µs.
func (f *flow) lastTime() int64 { return f.periodFrom + int64(f.last) }

// off converts a packet time to an offset from periodFrom, saturating.
func (f *flow) off(ts int64) int32 {
	d := ts - f.periodFrom
	switch {
	case d <= unset:
		return unset + 1
	case d > math.MaxInt32:
		return math.MaxInt32
	}
	return int32(d)
}

// since returns ts − the time at offset o in µs; false if o is unset or
// the difference is negative (timestamps out of order).
func (f *flow) since(o int32, ts int64) (uint32, bool) {
	if o == unset {
		return 0, false
	}
	d := ts - (f.periodFrom + int64(o))
	if d < 0 {
		return 0, false
	}
	return uint32(min(d, math.MaxUint32)), true
}

// start initialises direction and report timing from the flow's first
// packet. The sender of a SYN is the client; of a SYN-ACK the server; else
// the lower port is the server, and on equal ports the first sender is the
// client (architecture §3).
func (f *flow) start(m *tap.Meta, fromLo bool) {
	f.periodFrom, f.last = m.Timestamp, 0
	f.t0, f.t1 = unset, unset
	senderIsClient := true
	if m.IsTCP() && m.TCPFlags&tap.TCPSyn != 0 {
		senderIsClient = m.TCPFlags&tap.TCPAck == 0
	} else if m.SrcPort != m.DstPort && !m.Fragment {
		senderIsClient = m.SrcPort > m.DstPort
	}
	if fromLo == senderIsClient {
		f.flags |= fClientIsLo
	}
}

func (f *flow) dir(fromLo bool) int {
	if fromLo == (f.flags&fClientIsLo != 0) {
		return dirTx
	}
	return dirRx
}

// nextReport is when the flow is next reported if still alive: the first
// report-interval boundary after the period began.
func (f *flow) nextReport(reportUS int64) int64 { return (f.periodFrom/reportUS + 1) * reportUS }

// deadline is when the flow ends if nothing else arrives.
func (f *flow) deadline(to *timeoutsUS) int64 { return f.lastTime() + f.timeout(to) }

// update accounts one packet of the flow, in its own counters and in the
// aggregate a.
func (f *flow) update(m *tap.Meta, fromLo bool, st *Stats, a *Meter) {
	d := f.dir(fromLo)
	f.packets[d]++
	f.bytes[d] += uint64(m.WireLen)
	a.Packets[d]++
	a.Bytes[d] += uint64(m.WireLen)
	switch {
	case m.IsTCP():
		f.tcpUpdate(m, d, st, a)
	case m.Proto == tap.ProtoUDP && !m.Fragment:
		f.udpUpdate(m, d, a)
	}
	f.flags |= fSeenTx << d
	if m.Timestamp > f.lastTime() {
		f.last = f.off(m.Timestamp)
	}
}

// udpUpdate measures request/response UDP (DNS and the like): art is the
// client's latest datagram → the server's first datagram after it.
func (f *flow) udpUpdate(m *tap.Meta, d int, a *Meter) {
	if d == dirTx {
		f.t0 = f.off(m.Timestamp)
		f.flags |= fArt
		return
	}
	if f.flags&fArt != 0 {
		f.flags &^= fArt
		if v, ok := f.since(f.t0, m.Timestamp); ok {
			f.art.add(v, &a.ART)
		}
	}
}

// timeoutFlags are the flags the timeout depends on (TestTimeoutFlags):
// a packet that changes none of them leaves the flow's timeout as it was.
const timeoutFlags = fSeenTx | fSeenRx | fSyn | fSynAck | fHandshake | fRst | fFinTx | fFinRx | fReuse

// timeout is the idle time after which the flow ends, by its state
// (architecture §3).
func (f *flow) timeout(to *timeoutsUS) int64 { return timeoutOf(f.flags, f.key.Proto, to) }

// timeoutOf is the timeout of a flow of IP protocol proto with flags fl.
func timeoutOf(fl uint16, proto uint8, to *timeoutsUS) int64 {
	both := fl&(fSeenTx|fSeenRx) == fSeenTx|fSeenRx
	if proto != tap.ProtoTCP {
		if both {
			return to.established
		}
		return to.single
	}
	opening := fl&(fSyn|fSynAck) != 0 && fl&fHandshake == 0
	switch {
	case fl&(fFinTx|fFinRx) == fFinTx|fFinRx:
		return to.closedFIN
	case fl&fRst != 0 && opening:
		return to.openingRST
	case fl&fRst != 0:
		return to.establishedRST
	case fl&fReuse != 0:
		return to.exception
	case fl&(fFinTx|fFinRx) != 0:
		return to.closing
	case opening:
		return to.opening
	case fl&fHandshake != 0 || both:
		return to.established
	}
	return to.single // picked up mid-stream, one direction only
}

// closeType is the close type of a flow that ends now by timeout, at Flush
// or by eviction: the rules of architecture §3 by the handshake's shape.
func (f *flow) closeType() CloseType {
	if f.key.Proto != tap.ProtoTCP {
		return CloseTimeout
	}
	fl := f.flags
	opening := fl&(fSyn|fSynAck) != 0 && fl&fHandshake == 0
	srvRst := fl&fRstServer != 0
	switch {
	case fl&(fFinTx|fFinRx) == fFinTx|fFinRx:
		return CloseTCPFin
	case fl&fReuse != 0:
		return CloseClientPortReuse
	case fl&fRst != 0 && opening && fl&fSynAck == 0:
		if srvRst {
			return CloseServerReset
		}
		return CloseServerNoResponse
	case fl&fRst != 0 && opening:
		if srvRst {
			return CloseClientNoResponse
		}
		return CloseClientEstablishRst
	case fl&fRst != 0 && fl&fQueue != 0:
		return CloseServerQueueLack
	case fl&fRst != 0 && srvRst:
		return CloseTCPServerRst
	case fl&fRst != 0:
		return CloseTCPClientRst
	case fl&fFinTx != 0:
		return CloseClientHalfClose
	case fl&fFinRx != 0:
		return CloseServerHalfClose
	case opening && fl&fSynAck == 0:
		return CloseClientSYNRepeat
	case opening:
		return CloseServerSYNACKRepeat
	}
	return CloseTimeout
}

// reuse reports whether a SYN starts a new connection on this flow's
// 5-tuple, and the close type the old flow ends with: the old flow's own
// when it had ended (RST, both FINs) or was a handshake attempt with another
// ISN; 13 (client source port reuse) when it was established or half-closed.
func (f *flow) reuse(m *tap.Meta, fromLo bool) (CloseType, bool) {
	if !m.IsTCP() || m.TCPFlags&(tap.TCPSyn|tap.TCPAck|tap.TCPRst) != tap.TCPSyn {
		return 0, false
	}
	fl := f.flags
	switch {
	case fl&fRst != 0, fl&(fFinTx|fFinRx) == fFinTx|fFinRx:
		return f.closeType(), true
	case fl&(fSyn|fSynAck) != 0 && fl&fHandshake == 0:
		// A SYN during the handshake is a retransmission (same ISN), a
		// simultaneous open (from the server) or joins a flow seen from its
		// SYN-ACK; only a client SYN with another ISN is a new attempt.
		if back := f.seq[dirTx].nxt - m.Seq; fl&fSyn == 0 || f.dir(fromLo) != dirTx || back >= 1 && back <= 1<<16 {
			return 0, false
		}
		return f.closeType(), true
	}
	return CloseClientPortReuse, true
}

// finish accounts what is only known when the flow ends: a gap still open
// was never filled nor ACKed past, so its data was lost before the tap.
func (f *flow) finish(a *Meter) {
	for d := range f.seq {
		if s := &f.seq[d]; s.holeLo != s.holeHi {
			s.holeLo = s.holeHi
			f.lost[d]++
			f.lostBefore[d]++
			a.Lost[d]++
			a.LostBeforeTap[d]++
		}
	}
}

// resetPeriod starts a new report period at now after a forced report,
// keeping the connection state and rebasing the time offsets.
func (f *flow) resetPeriod(now int64) {
	shift := now - f.periodFrom
	rebase := func(o int32) int32 {
		if o == unset {
			return unset
		}
		v := int64(o) - shift
		if v <= unset {
			return unset + 1
		}
		return int32(v)
	}
	f.t0, f.t1, f.last = rebase(f.t0), rebase(f.t1), rebase(f.last)
	f.askedAt = [2]int32{rebase(f.askedAt[0]), rebase(f.askedAt[1])}
	f.periodFrom = now
	f.packets, f.bytes = [2]uint32{}, [2]uint64{}
	f.srt, f.art, f.cit = stat{}, stat{}, stat{}
	f.rtt, f.rttClient, f.rttServer = 0, 0, 0
	f.retrans, f.lost, f.lostBefore = [2]uint32{}, [2]uint32{}, [2]uint32{}
	f.zeroWin, f.ooo = [2]uint16{}, [2]uint16{}
	f.syn, f.synAck, f.fin = 0, 0, 0
}

// record fills r with the flow's report.
func (f *flow) record(r *FlowRecord, ct CloseType, outer *outerPair) {
	k := &f.key
	*r = FlowRecord{
		FlowID:    f.id,
		StartTime: time.UnixMicro(f.periodFrom).UTC(),
		EndTime:   time.UnixMicro(max(f.lastTime(), f.periodFrom)).UTC(),
		CloseType: ct,
		TapType:   k.TapType,
		TapPort:   k.TapPort,
		VLAN:      k.VLAN,
		Proto:     k.Proto,
		PacketsTx: uint64(f.packets[dirTx]),
		PacketsRx: uint64(f.packets[dirRx]),
		BytesTx:   f.bytes[dirTx],
		BytesRx:   f.bytes[dirRx],

		RTT: f.rtt, RTTClient: f.rttClient, RTTServer: f.rttServer,
		SRTSum: uint64(f.srt.sum), SRTMax: uint64(f.srt.max), SRTCount: f.srt.n,
		ARTSum: uint64(f.art.sum), ARTMax: uint64(f.art.max), ARTCount: f.art.n,
		CITSum: uint64(f.cit.sum), CITMax: uint64(f.cit.max), CITCount: f.cit.n,
		RetransTx: f.retrans[dirTx], RetransRx: f.retrans[dirRx],
		ZeroWinTx: uint32(f.zeroWin[dirTx]), ZeroWinRx: uint32(f.zeroWin[dirRx]),
		OOOTx: uint32(f.ooo[dirTx]), OOORx: uint32(f.ooo[dirRx]),
		LostTx: f.lost[dirTx], LostRx: f.lost[dirRx],
		LostBeforeTapTx: f.lostBefore[dirTx], LostBeforeTapRx: f.lostBefore[dirRx],
		SYNCount: uint32(f.syn), SYNACKCount: uint32(f.synAck), FINCount: uint32(f.fin),
	}
	if outer != nil {
		r.OuterSrc, r.OuterDst = addr16([16]byte(outer.addr[:16])), addr16([16]byte(outer.addr[16:]))
	}
	if f.flags&fClientIsLo != 0 {
		r.ClientIP, r.ClientPort, r.ServerIP, r.ServerPort = addr16(k.Lo), k.LoPort, addr16(k.Hi), k.HiPort
	} else {
		r.ClientIP, r.ClientPort, r.ServerIP, r.ServerPort = addr16(k.Hi), k.HiPort, addr16(k.Lo), k.LoPort
	}
}
