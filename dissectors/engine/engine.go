package engine

import (
	"fmt"
	"net/netip"
	"slices"
	"time"
	"unsafe"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/flowtable"
	"github.com/tapflow/tapflow/tap"
)

// LogSink receives batches of l7_flow_log rows. The slice and its rows are
// reused after WriteL7 returns.
type LogSink interface {
	WriteL7(logs []dissectors.Log)
}

// Config sets the engine's limits. YAML key: dissectors.
type Config struct {
	// MaxInFlight is the most requests one flow may have waiting for
	// their responses (architecture §4: 16).
	MaxInFlight int `yaml:"max_in_flight"`
	// RequestTimeoutTCP/UDP: a request without response this long (in
	// capture time) is reported with response_status 2 (timeout).
	RequestTimeoutTCP time.Duration `yaml:"request_timeout_tcp"`
	RequestTimeoutUDP time.Duration `yaml:"request_timeout_udp"`
	// IdentifyPackets is how many payload packets of a flow are offered to
	// the dissectors' Check before the flow is given up as unknown.
	IdentifyPackets int `yaml:"identify_packets"`
	// MaxPending caps the requests waiting across all flows of a worker;
	// beyond it a new request is reported at once without its response
	// (counted as pending_full).
	MaxPending int `yaml:"max_pending"`
	// BatchSize is how many rows go to the sink at once.
	BatchSize int `yaml:"batch_size"`
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{MaxInFlight: 16, RequestTimeoutTCP: 300 * time.Second, RequestTimeoutUDP: 150 * time.Second,
		IdentifyPackets: 8, MaxPending: 1 << 16, BatchSize: 256}
}

// Validate reports the first invalid setting, naming its key.
func (c Config) Validate() error {
	switch {
	case c.MaxInFlight < 1 || c.MaxInFlight > maxRing:
		return fmt.Errorf("dissectors.max_in_flight: must be 1..%d, got %d", maxRing, c.MaxInFlight)
	case c.RequestTimeoutTCP < time.Second || c.RequestTimeoutUDP < time.Second:
		return fmt.Errorf("dissectors.request_timeout_tcp/udp: must be at least 1s, got %s/%s", c.RequestTimeoutTCP, c.RequestTimeoutUDP)
	case c.IdentifyPackets < 1 || c.IdentifyPackets >= int(stateGiveUp):
		return fmt.Errorf("dissectors.identify_packets: must be 1..%d, got %d", stateGiveUp-1, c.IdentifyPackets)
	case c.MaxPending < 1 || c.MaxPending > 1<<24:
		return fmt.Errorf("dissectors.max_pending: must be 1..%d, got %d", 1<<24, c.MaxPending)
	case c.BatchSize < 1:
		return fmt.Errorf("dissectors.batch_size: must be at least 1, got %d", c.BatchSize)
	}
	return nil
}

// Stats are an engine's counters, plain values for the owner to publish.
type Stats struct {
	Payloads     uint64 // payload packets seen
	Identified   uint64 // flows whose protocol a dissector claimed
	GivenUp      uint64 // flows no dissector claimed within IdentifyPackets
	Parsed       uint64 // payload packets handed to Parse
	ParseErrors  uint64 // Parse returned an error (the packet is skipped)
	Requests     uint64
	Responses    uint64
	Logs         uint64 // rows emitted
	Timeouts     uint64 // requests reported without response
	Orphans      uint64 // responses without a waiting request
	InFlightFull uint64 // requests pushed out by MaxInFlight newer ones
	PendingFull  uint64 // requests reported at once because MaxPending were waiting
	// PerProtocol counts rows by l7_protocol.
	PerProtocol [256]uint64
}

// A flow's word (FlowView.L7): 0 = no payload yet; 1..stateGiveUp-1 = payload packets
// tried; stateGiveUp = unknown protocol; sessionBit|i = session i.
const (
	stateGiveUp = 0xff
	sessionBit  = 1 << 31
	maxRing     = 16 // architecture §4: up to 16 requests in flight per flow
	nilIdx      = ^uint32(0)
)

// session is one identified flow's L7 state: 128 bytes, two cache lines
// (the slab's chunks are page-aligned). What every payload packet reads,
// the dissector and the waiting requests, is in the first line, which is
// all the flow table's pipeline prefetches; the flow's identity in the
// second is read only when a row is emitted. No pointers: the slab is not
// scanned by the GC.
type session struct {
	d     uint8 // index into Engine.ds
	proto uint8 // IP protocol
	n     uint8 // waiting requests in ring
	// waiting requests of the flow, oldest first: pending slab indices.
	ring [maxRing]uint32
	flow uint64
	id   ident
}

// ident is the flow identity every row of a session carries. The
// addresses are kept as 16 bytes rather than netip.Addr, whose zone
// pointer would cost 16 more bytes and make the slab pointerful; an IPv4
// address is kept in its v4-mapped form, which addrs unmaps as the flow
// table does (FlowView.Client).
type ident struct {
	tapPort              uint32
	vlan                 uint16
	tapType, proto       uint8
	client, server       [16]byte
	clientPort, srvrPort uint16
}

// set records the flow identity of v.
func (id *ident) set(v *flowtable.FlowView) {
	var c, s netip.Addr
	c, id.clientPort = v.Client()
	s, id.srvrPort = v.Server()
	id.client, id.server = c.As16(), s.As16()
	id.tapType, id.tapPort, id.vlan, id.proto = v.Tap()
}

// addrs returns the client and server addresses.
func (id *ident) addrs() (client, server netip.Addr) {
	return netip.AddrFrom16(id.client).Unmap(), netip.AddrFrom16(id.server).Unmap()
}

// pending is a request waiting for its response. Pendings of one IP
// protocol form a list in arrival order (capture time), so the timeout scan
// looks only at the oldest.
type pending struct {
	rec        dissectors.Record
	start      int64
	sess       uint32
	prev, next uint32
	udp        bool
}

type list struct{ head, tail uint32 }

// sniffTable lists the dissectors that may claim a payload, in ds order,
// by transport (a dissectors.Transport, 0 for another IP protocol) and
// first byte; empty lists them for an empty payload. An unidentified
// flow's payload is offered only to these: a TLS record or other binary
// data mid-stream skips the seven Checks that would each have looked at
// its first byte and said no. The table holds each distinct list once
// (there are a handful) and a byte per (transport, first byte) naming it:
// 768 slice headers would be 18 KiB of every engine, 2 B a flow of a
// 10,000-flow table.
type sniffTable struct {
	lists [][]uint8                      // indices into ds
	first [dissectors.UDP + 1][256]uint8 // index into lists
	empty [dissectors.UDP + 1]uint8
}

func newSniffTable(ds []dissectors.Dissector) *sniffTable {
	st := &sniffTable{}
	ids := map[string]uint8{}
	l := make([]uint8, 0, len(ds))
	list := func(t dissectors.Transport, b int) uint8 {
		l = l[:0]
		for i, d := range ds {
			if takes(d, t, b) {
				l = append(l, uint8(i))
			}
		}
		if id, ok := ids[string(l)]; ok {
			return id
		}
		// At most 3*257 lists, but a dissector's first bytes and
		// transports make a handful; more than 256 would be a bug.
		if len(st.lists) == 256 {
			panic("engine: more than 256 distinct sniff lists")
		}
		id := uint8(len(st.lists))
		ids[string(l)] = id
		st.lists = append(st.lists, slices.Clone(l))
		return id
	}
	for t := range st.empty {
		st.empty[t] = list(dissectors.Transport(t), -1)
		for b := range 256 {
			st.first[t][b] = list(dissectors.Transport(t), b)
		}
	}
	return st
}

// takes reports whether d may claim a payload of transport t whose first
// byte is b (-1 for an empty payload). A payload of another IP protocol
// (t == 0) is not held to Transports, as before transports were declared.
func takes(d dissectors.Dissector, t dissectors.Transport, b int) bool {
	if tr, ok := d.(dissectors.Transporter); ok && t != 0 && tr.Transports()&t == 0 {
		return false
	}
	if fb, ok := d.(dissectors.FirstByter); ok && b >= 0 && !fb.FirstByte(byte(b)) {
		return false
	}
	return true
}

// lookup returns the indices in ds of the dissectors that may claim
// payload p of IP protocol proto.
func (st *sniffTable) lookup(proto uint8, p []byte) []uint8 {
	t := dissectors.TransportOf(proto)
	if len(p) == 0 {
		return st.lists[st.empty[t]]
	}
	return st.lists[st.first[t][p[0]]]
}

// Engine is one worker's L7 stage. Not safe for concurrent use.
type Engine struct {
	cfg       Config
	ds        []dissectors.Dissector
	sniff     *sniffTable
	sink      LogSink
	toTCP     int64
	toUDP     int64
	sess      slab[session]
	freeSess  []uint32
	pend      slab[pending]
	freePend  uint32
	npend     int
	lists     [2]list // 0 TCP, 1 UDP
	recs      []dissectors.Record
	out       []dissectors.Log
	meta      dissectors.Meta
	stats     Stats
	lastCheck int64
}

// New returns an engine for one flow table, trying ds in order, reporting
// to sink.
func New(cfg Config, ds []dissectors.Dissector, sink LogSink) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(ds) > 255 {
		return nil, fmt.Errorf("dissectors: at most 255 dissectors, got %d", len(ds))
	}
	return &Engine{
		cfg: cfg, ds: ds, sniff: newSniffTable(ds), sink: sink,
		toTCP: cfg.RequestTimeoutTCP.Microseconds(), toUDP: cfg.RequestTimeoutUDP.Microseconds(),
		freePend: nilIdx,
		lists:    [2]list{{nilIdx, nilIdx}, {nilIdx, nilIdx}},
	}, nil
}

// Stats returns the counters.
func (e *Engine) Stats() Stats { return e.stats }

// AppendLines implements flowtable.Toucher: for an identified flow it
// appends the first line of the session its word names, the line every
// payload packet reads, so that the flow table's pipeline prefetches it
// with the other packets' lines.
func (e *Engine) AppendLines(addrs []uintptr, w uint32) []uintptr {
	if w&sessionBit != 0 && w&^sessionBit < e.sess.n {
		addrs = append(addrs, uintptr(unsafe.Pointer(e.sess.at(w&^sessionBit))))
	}
	return addrs
}

// Payload implements flowtable.PayloadHandler.
func (e *Engine) Payload(v *flowtable.FlowView, m *tap.Meta) {
	e.stats.Payloads++
	st := *v.L7
	if st == stateGiveUp {
		return
	}
	cp, sp := v.Ports()
	e.meta = dissectors.Meta{Timestamp: m.Timestamp, Proto: m.Proto, ClientPort: cp, ServerPort: sp,
		ToServer: v.ToServer, PayloadLen: m.PayloadLen}
	if st&sessionBit == 0 {
		d := -1
		for _, i := range e.sniff.lookup(m.Proto, m.Payload) {
			if e.ds[i].Check(m.Payload, &e.meta) {
				d = int(i)
				break
			}
		}
		if d < 0 {
			st++
			if int(st) >= e.cfg.IdentifyPackets {
				st = stateGiveUp
				e.stats.GivenUp++
			}
			*v.L7 = st
			return
		}
		e.stats.Identified++
		st = sessionBit | e.newSession(v, uint8(d), m.Proto)
		*v.L7 = st
	}
	si := st &^ sessionBit
	s := e.sess.at(si)
	e.stats.Parsed++
	recs, err := e.ds[s.d].Parse(e.recs[:0], m.Payload, &e.meta)
	e.recs = recs[:0]
	if err != nil {
		e.stats.ParseErrors++
		return
	}
	for i := range recs {
		r := &recs[i]
		switch r.Kind {
		case dissectors.Request:
			e.stats.Requests++
			e.request(si, r, m.Timestamp)
		case dissectors.Response:
			e.stats.Responses++
			e.response(si, r, m.Timestamp)
		default:
			l := e.emit(e.sess.at(si), dissectors.LogSession, r)
			l.StartTime, l.EndTime = m.Timestamp, m.Timestamp
			l.ReqLen = r.Len
		}
	}
}

func (e *Engine) newSession(v *flowtable.FlowView, d, proto uint8) uint32 {
	var i uint32
	if n := len(e.freeSess); n > 0 {
		i = e.freeSess[n-1]
		e.freeSess = e.freeSess[:n-1]
	} else {
		i = e.sess.add()
	}
	s := e.sess.at(i)
	s.d, s.flow, s.proto, s.n = d, v.ID, proto, 0
	s.id.set(v)
	return i
}

// request queues r as a waiting request of session si.
func (e *Engine) request(si uint32, r *dissectors.Record, ts int64) {
	s := e.sess.at(si)
	if int(s.n) >= e.cfg.MaxInFlight {
		e.stats.InFlightFull++
		e.timeout(s.ring[0], ts)
		s = e.sess.at(si)
	}
	if e.npend >= e.cfg.MaxPending {
		e.stats.PendingFull++
		l := e.emit(s, dissectors.LogRequest, r)
		l.StartTime, l.EndTime, l.ReqLen = ts, ts, r.Len
		l.Status = dissectors.StatusUnknown
		return
	}
	pi := e.allocPending()
	p := e.pend.at(pi)
	p.rec = *r
	p.start, p.sess, p.udp = ts, si, s.proto == tap.ProtoUDP
	e.link(pi)
	s.ring[s.n] = pi
	s.n++
}

// response pairs r with its waiting request, or reports it alone.
func (e *Engine) response(si uint32, r *dissectors.Record, ts int64) {
	s := e.sess.at(si)
	at := -1
	for i := 0; i < int(s.n); i++ {
		q := &e.pend.at(s.ring[i]).rec
		if !r.HasKey || (q.HasKey && q.Key == r.Key) {
			at = i
			break
		}
	}
	if at < 0 {
		e.stats.Orphans++
		l := e.emit(s, dissectors.LogResponse, r)
		l.StartTime, l.EndTime, l.RespLen = ts, ts, r.Len
		return
	}
	pi := s.ring[at]
	p := e.pend.at(pi)
	l := e.emit(s, dissectors.LogSession, &p.rec)
	l.StartTime, l.EndTime, l.ReqLen, l.RespLen = p.start, ts, p.rec.Len, r.Len
	if ts > p.start {
		l.RRT = uint32(min(ts-p.start, 1<<32-1))
	}
	merge(&l.Record, r)
	e.drop(si, at)
}

// merge puts response r's outcome into the request record q, and the text
// fields q lacks (Kafka Produce's offset is only in the response).
func merge(q, r *dissectors.Record) {
	q.HasCode, q.Code, q.Status = r.HasCode, r.Code, r.Status
	fill := func(dst *dissectors.Text, src dissectors.Text) {
		if dst.Len() == 0 && src.Len() > 0 {
			q.Copy(dst, r, src)
		}
	}
	fill(&q.Exception, r.Exception)
	fill(&q.Version, r.Version)
	fill(&q.RequestType, r.RequestType)
	fill(&q.RequestDomain, r.RequestDomain)
	fill(&q.RequestResource, r.RequestResource)
	fill(&q.Endpoint, r.Endpoint)
	fill(&q.TraceID, r.TraceID)
	fill(&q.SpanID, r.SpanID)
}

// drop removes ring entry at of session si and frees its pending.
func (e *Engine) drop(si uint32, at int) {
	s := e.sess.at(si)
	pi := s.ring[at]
	copy(s.ring[at:s.n], s.ring[at+1:s.n])
	s.n--
	e.unlink(pi)
	e.pend.at(pi).next = e.freePend
	e.freePend = pi
	e.npend--
}

// timeout reports waiting request pi without its response and drops it.
func (e *Engine) timeout(pi uint32, now int64) {
	p := e.pend.at(pi)
	si := p.sess
	s := e.sess.at(si)
	e.stats.Timeouts++
	l := e.emit(s, dissectors.LogRequest, &p.rec)
	l.StartTime, l.EndTime, l.ReqLen = p.start, max(now, p.start), p.rec.Len
	l.Status = dissectors.StatusTimeout
	for i := 0; i < int(s.n); i++ {
		if s.ring[i] == pi {
			e.drop(si, i)
			return
		}
	}
	panic("BUG: waiting request missing from its session")
}

func (e *Engine) allocPending() uint32 {
	e.npend++
	if e.freePend != nilIdx {
		pi := e.freePend
		e.freePend = e.pend.at(pi).next
		return pi
	}
	return e.pend.add()
}

func (e *Engine) link(pi uint32) {
	p := e.pend.at(pi)
	l := &e.lists[b2i(p.udp)]
	p.prev, p.next = l.tail, nilIdx
	if l.tail != nilIdx {
		e.pend.at(l.tail).next = pi
	} else {
		l.head = pi
	}
	l.tail = pi
}

func (e *Engine) unlink(pi uint32) {
	p := e.pend.at(pi)
	l := &e.lists[b2i(p.udp)]
	if p.prev != nilIdx {
		e.pend.at(p.prev).next = p.next
	} else {
		l.head = p.next
	}
	if p.next != nilIdx {
		e.pend.at(p.next).prev = p.prev
	} else {
		l.tail = p.prev
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// emit appends a row for session s built from record r and returns it for
// the caller to fill times and lengths. A full batch leaves first, so the
// returned row stays valid until the next emit.
func (e *Engine) emit(s *session, typ dissectors.LogType, r *dissectors.Record) *dissectors.Log {
	if len(e.out) == cap(e.out) {
		e.flushOut()
		if cap(e.out) == 0 {
			// First row: the batch is made on first use so a table sized
			// for many flows pays nothing for L7 until a protocol appears.
			e.out = make([]dissectors.Log, 0, e.cfg.BatchSize)
		}
	}
	e.out = e.out[:len(e.out)+1]
	l := &e.out[len(e.out)-1]
	id := &s.id
	l.FlowID, l.TapType, l.TapPort, l.VLAN, l.Proto = s.flow, id.tapType, id.tapPort, id.vlan, id.proto
	l.ClientIP, l.ServerIP = id.addrs()
	l.ClientPort, l.ServerPort = id.clientPort, id.srvrPort
	l.Type, l.RRT, l.ReqLen, l.RespLen = typ, 0, 0, 0
	l.Record = *r
	e.stats.Logs++
	e.stats.PerProtocol[r.Protocol]++
	return l
}

func (e *Engine) flushOut() {
	if len(e.out) == 0 {
		return
	}
	e.sink.WriteL7(e.out)
	e.out = e.out[:0]
}

// FlowEnd implements flowtable.PayloadHandler: the flow's waiting requests
// will get no response and are reported as timeouts.
func (e *Engine) FlowEnd(v *flowtable.FlowView) {
	st := *v.L7
	*v.L7 = 0
	if st&sessionBit == 0 {
		return
	}
	si := st &^ sessionBit
	for e.sess.at(si).n > 0 {
		e.timeout(e.sess.at(si).ring[0], v.LastTime)
	}
	e.freeSess = append(e.freeSess, si)
}

// Advance implements flowtable.PayloadHandler: requests older than their
// timeout are reported, and the rows so far leave (each second, so a quiet
// live capture still delivers them).
func (e *Engine) Advance(now int64, final bool) {
	for i, to := range [2]int64{e.toTCP, e.toUDP} {
		l := &e.lists[i]
		for l.head != nilIdx && e.pend.at(l.head).start+to <= now {
			e.timeout(l.head, e.pend.at(l.head).start+to)
		}
	}
	e.flushOut()
}

// Add adds o's counters to s (summing workers).
func (s *Stats) Add(o *Stats) {
	s.Payloads += o.Payloads
	s.Identified += o.Identified
	s.GivenUp += o.GivenUp
	s.Parsed += o.Parsed
	s.ParseErrors += o.ParseErrors
	s.Requests += o.Requests
	s.Responses += o.Responses
	s.Logs += o.Logs
	s.Timeouts += o.Timeouts
	s.Orphans += o.Orphans
	s.InFlightFull += o.InFlightFull
	s.PendingFull += o.PendingFull
	for i := range s.PerProtocol {
		s.PerProtocol[i] += o.PerProtocol[i]
	}
}
