package dataplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tapflow/tapflow/dataplane/dedup"
	"github.com/tapflow/tapflow/dataplane/fragments"
	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/engine"
	"github.com/tapflow/tapflow/dissectors/registry"
	"github.com/tapflow/tapflow/flowtable"
	"github.com/tapflow/tapflow/tap"
)

// Config configures a Pipeline.
type Config struct {
	// Workers is the number of flow-table shards, each on its own
	// goroutine; 0 means one per CPU. With 1, frames are processed on the
	// reading goroutine and nothing is copied.
	Workers int `yaml:"workers"`
	// VXLANPorts are UDP ports decoded as VXLAN (default 4789 and 8472).
	VXLANPorts []uint16 `yaml:"vxlan_ports"`
	// NoDecap analyzes tunnels as the outer flow instead of their content.
	NoDecap bool `yaml:"no_decap"`
	// Dedup drops the second copy of a packet seen twice within a window.
	Dedup dedup.Config `yaml:"dedup"`
	// Fragments remembers first fragments' ports for the later fragments.
	Fragments fragments.Config `yaml:"fragments"`
	Flow      flowtable.Config `yaml:"flowtable"`
	// L7 turns on the L7 stage (every dissector in registry order) when
	// the sink also takes l7_flow_log rows (engine.LogSink).
	L7 L7Config `yaml:"dissectors"`
	// RecoverPanics counts and skips a frame that panics the decoder or
	// table instead of crashing. Tests turn it off so fuzzers see panics.
	RecoverPanics bool `yaml:"-"`
}

// L7Config switches the L7 stage and sets its limits.
type L7Config struct {
	Enabled       bool `yaml:"enabled"`
	engine.Config `yaml:",inline"`
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{Workers: 0, Dedup: dedup.DefaultConfig(), Fragments: fragments.DefaultConfig(), Flow: flowtable.DefaultConfig(),
		L7: L7Config{Enabled: true, Config: engine.DefaultConfig()}, RecoverPanics: true}
}

// Validate reports the first invalid setting.
func (c Config) Validate() error {
	if c.Workers < 0 || c.Workers > 64 {
		return fmt.Errorf("dataplane.workers: must be 0..64, got %d", c.Workers)
	}
	if c.Dedup.Enabled {
		if err := c.Dedup.Validate(); err != nil {
			return err
		}
	}
	if err := c.Fragments.Validate(); err != nil {
		return err
	}
	if c.L7.Enabled {
		if err := c.L7.Config.Validate(); err != nil {
			return err
		}
	}
	return c.Flow.Validate()
}

// Batches between the reader and each worker (more than one worker):
// batchFrames frames with up to batchBytes of payload each, batchPool of
// them per worker. A batch's buffer is touched only as far as it is ever
// filled. With 4 batches per worker the reader and the workers waited on
// each other: replaying the bench corpus with two workers on two cores
// kept them busy 79% of the time; with 16 the wall time fell by about 6%
// (six alternated runs).
const (
	batchFrames = 256
	batchBytes  = 1 << 20
	batchPool   = 16
)

// batch carries decoded frames from the reader to one worker. Payloads are
// copied into buf because the source reuses its frame memory.
type batch struct {
	metas []tap.Meta
	buf   []byte
	tick  int64 // if non-zero, advance the table clock to this µs after the frames
}

// Pipeline runs frames from a Source into flow tables.
type Pipeline struct {
	cfg     Config
	sink    flowtable.Sink
	log     *slog.Logger
	dec     tap.Decoder
	dedup   *dedup.Filter // nil when dedup is off
	frags   *fragments.Cache
	workers []*worker
	// rb holds decoded frames until readBatchFrames of them are there: dedup and
	// the flow table then look up a batch at once (see flushRead).
	rb     readBatch
	keeper framesKeeper // the source, if it may keep its frames for a while

	// Reader-owned counters, published to pub once per batch.
	c   counters
	pub struct {
		received, bytes, decoded, panics, dedup atomic.Uint64
		fragMatched, fragOrphans                atomic.Uint64
		dropped                                 [tap.NumReasons]atomic.Uint64
	}
	lastTick int64
	sincePub int
	frame    []byte // the frame being handled, for the panic log
}

// readBatch is the frames decoded and not yet deduplicated or accounted.
// Their payloads alias the source's frames when the source keeps them long
// enough (framesKeeper), and are copied into buf otherwise.
type readBatch struct {
	metas [readBatchFrames]tap.Meta
	keys  [readBatchFrames]uint64 // dedup keys
	n     int
	buf   []byte
	// aliased is set when a payload in the batch aliases a source frame;
	// reads counts the ReadFrame calls since the first such frame.
	aliased bool
	reads   int
}

// framesKeeper is a Source that keeps each frame unchanged for a number of
// further ReadFrame calls (PcapFile: 32), so the reader can batch its frames
// without copying them.
type framesKeeper interface {
	// FramesKept is for how many further calls the frame returned last
	// stays valid.
	FramesKept() int
}

// readBatchFrames is the reader's batch: two of the flow table's pipeline
// steps, so that one step's lines are on their way while the other's
// packets are accounted.
const readBatchFrames = 2 * flowtable.PrefetchBatch

type counters struct {
	received, bytes, decoded, panics, dedup uint64
	dropped                                 [tap.NumReasons]uint64
}

type worker struct {
	id    int
	table *flowtable.Table
	l7    *engine.Engine // nil when the L7 stage is off
	in    chan *batch
	free  chan *batch
	cur   *batch // being filled by the reader
	// stats is the table's counters as of the last batch; mu guards it
	// (taken once per batch and per scrape, never per packet).
	mu      sync.Mutex
	stats   flowtable.Stats
	l7stats engine.Stats
	p       *Pipeline
	// panics counted on the worker goroutine.
	panics atomic.Uint64
}

// New builds a pipeline that reports finished flows to sink. sink must be
// safe for concurrent use when Workers > 1.
func New(cfg Config, sink flowtable.Sink, logger *slog.Logger) (*Pipeline, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	n := cfg.Workers
	if n == 0 {
		n = runtime.NumCPU()
	}
	p := &Pipeline{cfg: cfg, sink: sink, log: logger.With("component", "dataplane")}
	p.dec = tap.Decoder{VXLANPorts: cfg.VXLANPorts, NoDecap: cfg.NoDecap}
	if cfg.Dedup.Enabled {
		f, err := dedup.New(cfg.Dedup)
		if err != nil {
			return nil, err
		}
		p.dedup = f
	}
	frags, err := fragments.New(cfg.Fragments)
	if err != nil {
		return nil, err
	}
	p.frags = frags
	var ds []dissectors.Dissector
	fc := cfg.Flow
	if n > 1 {
		fc.Capacity = max(1, fc.Capacity/n)
	}
	for i := range n {
		t, err := flowtable.New(fc, sink, uint16(i))
		if err != nil {
			return nil, err
		}
		w := &worker{id: i, table: t, p: p}
		if ls, ok := sink.(engine.LogSink); ok && cfg.L7.Enabled {
			if ds == nil {
				ds = registry.All()
			}
			if w.l7, err = engine.New(cfg.L7.Config, ds, ls); err != nil {
				return nil, err
			}
			t.SetPayloadHandler(w.l7)
		}
		if n > 1 {
			w.in = make(chan *batch, batchPool)
			w.free = make(chan *batch, batchPool)
			for range batchPool {
				w.free <- &batch{metas: make([]tap.Meta, 0, batchFrames), buf: make([]byte, 0, batchBytes)}
			}
		}
		p.workers = append(p.workers, w)
	}
	return p, nil
}

// Workers returns the number of flow-table shards.
func (p *Pipeline) Workers() int { return len(p.workers) }

// Run reads src until it ends or ctx is cancelled, then ends every flow
// (Flush) so all records reach the sink before Run returns. A read error
// other than io.EOF is returned after the flush.
func (p *Pipeline) Run(ctx context.Context, src Source) error {
	var wg sync.WaitGroup
	if len(p.workers) > 1 {
		for _, w := range p.workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.loop()
			}()
		}
	}
	p.keeper, _ = src.(framesKeeper)
	var runErr error
	for {
		err, done := p.readLoop(ctx, src)
		if done {
			runErr = err
			break
		}
	}
	p.flushRead()
	if len(p.workers) > 1 {
		for _, w := range p.workers {
			if w.cur != nil && len(w.cur.metas) > 0 {
				w.in <- w.cur
				w.cur = nil
			}
			close(w.in)
		}
		wg.Wait()
	} else {
		w := p.workers[0]
		w.table.Flush()
		w.publish()
	}
	p.publish()
	return runErr
}

// readLoop handles frames until the source ends (done) or a frame panics
// (not done: the caller resumes with the next frame). The one recover of the
// read path sits here, outside the per-frame work.
func (p *Pipeline) readLoop(ctx context.Context, src Source) (err error, done bool) {
	if p.cfg.RecoverPanics {
		defer func() {
			if r := recover(); r != nil {
				p.c.panics++
				if p.c.panics <= 10 {
					data := p.frame
					p.log.Error("frame panicked the dataplane; skipped", "panic", fmt.Sprint(r), "frame_len", len(data),
						"frame_head", fmt.Sprintf("%x", data[:min(len(data), 64)]))
				}
				err, done = nil, false
			}
		}()
	}
	for n := 0; ; n++ {
		if n&63 == 0 && ctx.Err() != nil {
			return nil, true
		}
		if b := &p.rb; b.aliased && b.reads >= readBatchFrames {
			// The next read may overwrite the batch's first frame:
			// undecodable frames came in between.
			p.flushRead()
		}
		data, ci, err := src.ReadFrame()
		p.rb.reads++
		if err != nil {
			if errors.Is(err, ErrTimeout) {
				if ctx.Err() != nil {
					return nil, true
				}
				p.flushRead()
				p.tickAll(time.Now().UnixMicro())
				continue
			}
			if err == io.EOF {
				err = nil
			}
			return err, true
		}
		p.frame = data
		p.handle(data, ci)
	}
}

// handle decodes one frame into the read batch.
func (p *Pipeline) handle(data []byte, ci FrameInfo) {
	p.c.received++
	p.c.bytes += uint64(ci.WireLen)
	p.dec.LinkType = ci.LinkType
	b := &p.rb
	m := &b.metas[b.n]
	if err := p.dec.Decode(data, ci.Timestamp, ci.WireLen, m); err != nil {
		p.c.dropped[tap.Reason(err)]++
		p.maybePublish()
		return
	}
	p.c.decoded++
	if m.Fragment || m.MoreFrags {
		p.frags.Observe(m)
	}
	if p.keeper != nil && p.keeper.FramesKept() >= readBatchFrames {
		if !b.aliased {
			b.aliased, b.reads = true, 0
		}
	} else {
		if b.buf == nil {
			b.buf = make([]byte, 0, readBatchFrames*maxFrame)
		}
		if len(b.buf)+len(m.Payload) > cap(b.buf) && b.n > 0 {
			// No room beside the batch's payloads: account the batch
			// first, and this frame starts the next one.
			cur := *m
			p.flushRead()
			b.metas[0] = cur
			m = &b.metas[0]
		}
		off := len(b.buf)
		b.buf = append(b.buf, m.Payload...)
		m.Payload = b.buf[off:len(b.buf):len(b.buf)]
	}
	if p.dedup != nil {
		// The bucket is asked for now, so it has arrived when flushRead
		// decides, a batch later.
		k := dedup.Key(m)
		b.keys[b.n] = k
		p.dedup.PrefetchKey(k)
	}
	if b.n++; b.n == readBatchFrames {
		p.flushRead()
	}
}

// maxFrame bounds the payload a frame can carry (the largest frame any
// source hands out), for sizing the read batch's payload copies.
const maxFrame = 1 << 16

// flushRead deduplicates the read batch and hands it to the workers. The
// dedup buckets were prefetched as the frames were decoded (handle), and the
// flow table pipelines its own lookups (UpdateBatch), so the cache misses of
// a batch overlap instead of coming one after another.
func (p *Pipeline) flushRead() {
	b := &p.rb
	ms := b.metas[:b.n]
	b.n, b.buf, b.aliased = 0, b.buf[:0], false
	if len(ms) == 0 {
		return
	}
	frames := len(ms)
	if p.dedup != nil {
		keys := b.keys[:len(ms)]
		kept := 0
		for i := range ms {
			if p.dedup.DuplicateKey(keys[i], ms[i].Timestamp) {
				p.c.dedup++
				continue
			}
			if i != kept {
				ms[kept] = ms[i]
			}
			kept++
		}
		ms = ms[:kept]
	}
	if len(p.workers) == 1 {
		w := p.workers[0]
		w.process(ms)
		p.sincePub += frames
		if p.sincePub >= batchFrames {
			p.sincePub = 0
			w.publish()
			p.publish()
		}
		return
	}
	for i := range ms {
		p.dispatch(&ms[i])
	}
}

// dispatch copies m into the batch of its flow's worker.
func (p *Pipeline) dispatch(m *tap.Meta) {
	w := p.workers[shard(m, len(p.workers))]
	b := w.batch()
	if len(b.buf)+len(m.Payload) > cap(b.buf) {
		w.in <- b
		w.cur = nil
		b = w.batch()
	}
	pl := m.Payload
	if len(pl) > cap(b.buf) {
		pl = pl[:cap(b.buf)]
		m.Truncated = true
	}
	off := len(b.buf)
	b.buf = append(b.buf, pl...)
	b.metas = append(b.metas, *m)
	b.metas[len(b.metas)-1].Payload = b.buf[off:len(b.buf):len(b.buf)]
	if len(b.metas) == cap(b.metas) {
		w.in <- b
		w.cur = nil
	}
	if sec := m.Timestamp / 1_000_000; sec > p.lastTick {
		p.lastTick = sec
		p.tickAll(m.Timestamp)
	}
	p.maybePublish()
}

func (p *Pipeline) maybePublish() {
	p.sincePub++
	if p.sincePub >= batchFrames {
		p.sincePub = 0
		p.publish()
	}
}

// tickAll advances every table's clock when frames are scarce.
func (p *Pipeline) tickAll(now int64) {
	if len(p.workers) == 1 {
		p.workers[0].table.Tick(now)
		p.workers[0].publish()
		p.publish()
		return
	}
	for _, w := range p.workers {
		b := w.batch()
		b.tick = now
		w.in <- b
		w.cur = nil
	}
	p.publish()
}

func (w *worker) batch() *batch {
	if w.cur == nil {
		w.cur = <-w.free
		w.cur.metas = w.cur.metas[:0]
		w.cur.buf = w.cur.buf[:0]
		w.cur.tick = 0
	}
	return w.cur
}

func (w *worker) loop() {
	for b := range w.in {
		w.process(b.metas)
		if b.tick != 0 {
			w.table.Tick(b.tick)
		}
		w.publish()
		w.free <- b
	}
	w.table.Flush()
	w.publish()
}

// process updates the table with ms, skipping a frame that panics when
// recovery is on.
func (w *worker) process(ms []tap.Meta) {
	done := 0
	if w.p.cfg.RecoverPanics {
		defer func() {
			if r := recover(); r != nil {
				w.panics.Add(1)
				w.p.log.Error("flow update panicked; frame skipped", "panic", fmt.Sprint(r), "worker", w.id)
				w.process(ms[done+1:])
			}
		}()
	}
	w.table.UpdateBatch(ms, &done)
}

func (w *worker) publish() {
	s := w.table.Stats()
	w.mu.Lock()
	w.stats = s
	if w.l7 != nil {
		w.l7stats = w.l7.Stats()
	}
	w.mu.Unlock()
}

func (p *Pipeline) publish() {
	p.pub.received.Store(p.c.received)
	p.pub.bytes.Store(p.c.bytes)
	p.pub.decoded.Store(p.c.decoded)
	p.pub.panics.Store(p.c.panics)
	p.pub.dedup.Store(p.c.dedup)
	p.pub.fragMatched.Store(p.frags.Matched)
	p.pub.fragOrphans.Store(p.frags.Orphans)
	for i := range p.c.dropped {
		p.pub.dropped[i].Store(p.c.dropped[i])
	}
}

// Stats is a snapshot of the pipeline's counters, safe to take from any
// goroutine. Received = Decoded + the sum of Dropped (+ Panics); of the
// decoded frames, DedupDropped were copies of a packet already seen and the
// rest went to a flow table.
type Stats struct {
	Received uint64 // frames read from the source
	Bytes    uint64 // their length on the wire
	Decoded  uint64 // frames decoded to an IP packet, duplicates included
	Panics   uint64 // frames that panicked the decoder or a table, skipped
	// DedupDropped counts decoded packets dropped as a copy of one seen
	// within the dedup window ("dedup dropped").
	DedupDropped uint64
	// FragmentsMatched are non-first IP fragments counted in their
	// datagram's flow; FragmentsOrphan those whose first fragment was not
	// seen, counted in a port-less flow.
	FragmentsMatched, FragmentsOrphan uint64
	Dropped                           [tap.NumReasons]uint64 // undecodable frames by reason
	Flows                             flowtable.Stats
	L7                                engine.Stats // zero when the L7 stage is off
}

// Stats sums the reader's and every worker's published counters.
func (p *Pipeline) Stats() Stats {
	var s Stats
	s.Received = p.pub.received.Load()
	s.Bytes = p.pub.bytes.Load()
	s.Decoded = p.pub.decoded.Load()
	s.Panics = p.pub.panics.Load()
	s.DedupDropped = p.pub.dedup.Load()
	s.FragmentsMatched = p.pub.fragMatched.Load()
	s.FragmentsOrphan = p.pub.fragOrphans.Load()
	for i := range s.Dropped {
		s.Dropped[i] = p.pub.dropped[i].Load()
	}
	for _, w := range p.workers {
		w.mu.Lock()
		ws := w.stats
		s.L7.Add(&w.l7stats)
		w.mu.Unlock()
		s.Panics += w.panics.Load()
		s.Flows.Packets += ws.Packets
		s.Flows.Created += ws.Created
		s.Flows.Active += ws.Active
		s.Flows.Evicted += ws.Evicted
		s.Flows.Reports += ws.Reports
		s.Flows.Forced += ws.Forced
		s.Flows.Reused += ws.Reused
	}
	return s
}
