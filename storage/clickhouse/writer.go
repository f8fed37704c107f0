package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tapflow/tapflow/flowtable"
)

// WriterConfig configures a Writer.
type WriterConfig struct {
	// BatchSize is the most rows in one INSERT (default 50000). Below it
	// the flush interval decides: at up to BatchSize rows a second a table
	// gets one INSERT a second, the rate ClickHouse is built for. Above,
	// larger batches make fewer parts to merge: replaying the bench corpus
	// into Debian's 18.16 server (runs alternated into one server), the
	// server spent 17–25 CPU-s at 50,000 rows against 26–66 at 10,000, for
	// 0.6–0.9 GB more tapflow RSS (a replay fills the queues; a live tap
	// holds what one flush interval brings).
	BatchSize int `yaml:"batch_size"`
	// FlushInterval is the longest a row waits in the queue (default 1s).
	FlushInterval time.Duration `yaml:"flush_interval"`
	// QueueSize is the most rows waiting between Write and the insert
	// goroutine; more are dropped and counted (default 2*BatchSize: one
	// batch to fill while the other is inserted). A queue smaller than a
	// batch could never fill one (only the flush interval would insert),
	// so BatchSize is lowered to QueueSize then. With Block the default
	// is BatchSize: Write waits rather than drops, so room for a second
	// batch would only hold more rows in memory (a replay keeps every
	// queue full), while the batch being inserted is already apart from
	// the queue.
	QueueSize int `yaml:"queue_size"`
	// Block makes Write wait for room when the queue is full instead of
	// dropping rows. For replays of capture files, where there is no live
	// capture to protect and every row must land; never for live capture.
	Block bool `yaml:"-"`
	// SpoolDir keeps batches ClickHouse could not take. Empty disables the
	// spool: such batches are dropped and counted.
	SpoolDir string `yaml:"spool_dir"`
	// SpoolMaxBytes bounds the spool; batches past it are dropped and
	// counted (default 1 GiB).
	SpoolMaxBytes int64 `yaml:"spool_max_bytes"`
	// RetryMin and RetryMax bound the backoff between replays of the
	// spool (defaults 1s and 30s).
	RetryMin time.Duration `yaml:"retry_min"`
	RetryMax time.Duration `yaml:"retry_max"`
	// InsertTimeout bounds one INSERT (default 30s).
	InsertTimeout time.Duration `yaml:"insert_timeout"`
}

// DefaultWriterConfig returns the documented defaults.
func DefaultWriterConfig() WriterConfig {
	return WriterConfig{
		BatchSize:     50000,
		FlushInterval: time.Second,
		SpoolMaxBytes: 1 << 30,
		RetryMin:      time.Second,
		RetryMax:      30 * time.Second,
		InsertTimeout: 30 * time.Second,
	}
}

func (c WriterConfig) withDefaults() WriterConfig {
	d := DefaultWriterConfig()
	if c.BatchSize <= 0 {
		c.BatchSize = d.BatchSize
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = d.FlushInterval
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 2 * c.BatchSize
		if c.Block {
			c.QueueSize = c.BatchSize
		}
	}
	c.BatchSize = min(c.BatchSize, c.QueueSize)
	if c.SpoolMaxBytes <= 0 {
		c.SpoolMaxBytes = d.SpoolMaxBytes
	}
	if c.RetryMin <= 0 {
		c.RetryMin = d.RetryMin
	}
	if c.RetryMax < c.RetryMin {
		c.RetryMax = max(d.RetryMax, c.RetryMin)
	}
	if c.InsertTimeout <= 0 {
		c.InsertTimeout = d.InsertTimeout
	}
	return c
}

// maxServerRefusals is how many times in a row the server may refuse a
// spooled batch with an exception before it is set aside as .bad, so that
// one poisoned batch cannot stop the spool for good.
const maxServerRefusals = 20

// Drop reasons, the `reason` label of tapflow_storage_dropped_rows_total.
const (
	dropQueueFull  = "queue_full"  // Write found the queue full
	dropClosed     = "closed"      // Write after Close
	dropNoSpool    = "no_spool"    // insert failed and no SpoolDir
	dropSpoolFull  = "spool_full"  // insert failed and the spool is at SpoolMaxBytes
	dropSpoolError = "spool_error" // insert failed and writing the spool failed
	dropBadSegment = "bad_segment" // spooled batch undecodable or refused maxServerRefusals times
)

type writerMetrics struct {
	rows, batches, insertErrors, spooledRows prometheus.Counter
	spoolBytes, queueRows                    prometheus.Gauge
	dropped                                  *prometheus.CounterVec
}

func newWriterMetrics(reg prometheus.Registerer, table string) (*writerMetrics, error) {
	cl := prometheus.Labels{"table": table}
	m := &writerMetrics{
		rows: prometheus.NewCounter(prometheus.CounterOpts{Name: "tapflow_storage_rows_written_total", ConstLabels: cl,
			Help: "Rows inserted into ClickHouse, counted when their INSERT succeeded."}),
		batches: prometheus.NewCounter(prometheus.CounterOpts{Name: "tapflow_storage_batches_written_total", ConstLabels: cl,
			Help: "Successful INSERTs (one per batch)."}),
		insertErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "tapflow_storage_insert_errors_total", ConstLabels: cl,
			Help: "Failed INSERT attempts, first tries and spool replays."}),
		spooledRows: prometheus.NewCounter(prometheus.CounterOpts{Name: "tapflow_storage_spooled_rows_total", ConstLabels: cl,
			Help: "Rows written to the disk spool because ClickHouse could not take them, or older batches were still spooled."}),
		spoolBytes: prometheus.NewGauge(prometheus.GaugeOpts{Name: "tapflow_storage_spool_bytes", ConstLabels: cl,
			Help: "Bytes of batches waiting in the disk spool."}),
		queueRows: prometheus.NewGauge(prometheus.GaugeOpts{Name: "tapflow_storage_queue_rows", ConstLabels: cl,
			Help: "Rows waiting in memory for the insert goroutine, sampled at each flush."}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tapflow_storage_dropped_rows_total", ConstLabels: cl,
			Help: "Rows lost, by reason: queue_full, closed, no_spool, spool_full, spool_error, bad_segment."}, []string{"reason"}),
	}
	for _, r := range []string{dropQueueFull, dropClosed, dropNoSpool, dropSpoolFull, dropSpoolError, dropBadSegment} {
		m.dropped.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.rows, m.batches, m.insertErrors, m.spooledRows, m.spoolBytes, m.queueRows, m.dropped} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register writer metrics: %w", err)
		}
	}
	return m, nil
}

// Writer inserts flow records into flow_log.l4_flow_log_local in batches.
// Write may be called from many goroutines; one goroutine inserts.
type Writer struct {
	e *engine[flowtable.FlowRecord]
}

// NewWriter starts a writer for flow_log.l4_flow_log. reg and logger may be
// nil. Batches left in cfg.SpoolDir by an earlier run are replayed first.
func NewWriter(db *DB, cfg WriterConfig, reg prometheus.Registerer, logger *slog.Logger) (*Writer, error) {
	e, err := newEngine(db, FlowLogDB, L4FlowLog, &l4Cols{}, cfg, reg, logger)
	if err != nil {
		return nil, err
	}
	return &Writer{e}, nil
}

// Write copies recs into the queue and returns at once. Rows that do not
// fit are dropped and counted in tapflow_storage_dropped_rows_total
// {reason="queue_full"}. recs may be reused by the caller after Write.
func (w *Writer) Write(recs []flowtable.FlowRecord) { w.e.Write(recs) }

// Flush inserts (or spools) everything queued so far and waits for it.
func (w *Writer) Flush(ctx context.Context) error { return w.e.Flush(ctx) }

// Close stops accepting rows and writes what is queued to ClickHouse or, if
// that fails, to the spool. When ctx ends first, running INSERTs are
// abandoned and their batches spooled; Close still waits for that and
// returns ctx.Err().
func (w *Writer) Close(ctx context.Context) error { return w.e.Close(ctx) }

// rowCodec is what the writer engine knows of one table's row type R: its
// columns, its spool record and how to find which rows of a batch are
// already in the table. A codec holds the column buffers of one batch and
// belongs to one engine's insert goroutine.
type rowCodec[R any] interface {
	// columns lists the table's columns in insert order.
	columns() []column
	// reset empties the column buffers, add appends rows to them, values
	// returns them in columns() order.
	reset()
	add(recs []R)
	values() []any
	// magic (8 bytes) marks the codec's spool segments; version is the
	// record format written; recordSize is a format's record size, 0 if
	// unknown, varRecordSize if its records vary in size. encode appends
	// r's record to b; decode reads one record from b, which holds exactly
	// that record (the fixed size, or the size a varying record was
	// stored with), and returns an error if it is not a valid record.
	magic() string
	version() uint32
	recordSize(version uint32) int
	encode(b []byte, r *R) []byte
	decode(b []byte, version uint32, r *R) error
	// unwritten returns the rows of recs not found in table (a multiset
	// match: two equal rows are two rows). It may reorder or reuse recs.
	unwritten(ctx context.Context, conn driver.Conn, table string, recs []R) ([]R, error)
}

// compacter is an optional rowCodec step that merges the rows of a batch
// that readers would sum anyway, before the batch is inserted or spooled.
type compacter[R any] interface {
	compact(recs []R) []R
}

// engine batches rows of one table, inserts them from one goroutine and
// spools what ClickHouse cannot take (see doc.go for the guarantees).
type engine[R any] struct {
	db        *DB
	cfg       WriterConfig
	logger    *slog.Logger
	m         *writerMetrics
	codec     rowCodec[R]
	table     string // `db`.`name_local`
	insertSQL string

	mu     sync.Mutex
	room   *sync.Cond // on mu: signalled when flush takes rows or Close runs (Block)
	queue  []R
	closed bool

	kick    chan struct{}
	flushes chan chan struct{}
	closing chan struct{}
	done    chan struct{}
	ctx     context.Context // inserts; cancelled when Close gives up
	cancel  context.CancelFunc

	// Owned by the insert goroutine.
	batch     []R
	adopt     adopter
	spool     *spool
	backoff   time.Duration
	nextRetry time.Time
}

// newEngine starts the writer of database.name_local. reg and logger may be
// nil. Batches left in cfg.SpoolDir by an earlier run are replayed first.
func newEngine[R any](db *DB, database, name string, codec rowCodec[R], cfg WriterConfig,
	reg prometheus.Registerer, logger *slog.Logger) (*engine[R], error) {
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m, err := newWriterMetrics(reg, name)
	if err != nil {
		return nil, err
	}
	w := &engine[R]{
		db:        db,
		cfg:       cfg,
		logger:    logger.With("component", "clickhouse_writer", "table", name),
		m:         m,
		codec:     codec,
		table:     quoteIdent(db.Database(database)) + "." + quoteIdent(name+"_local"),
		queue:     make([]R, 0, min(cfg.QueueSize, initialQueue)),
		kick:      make(chan struct{}, 1),
		flushes:   make(chan chan struct{}),
		closing:   make(chan struct{}),
		done:      make(chan struct{}),
		batch:     make([]R, 0, min(cfg.QueueSize, initialQueue)),
		nextRetry: time.Now(),
	}
	w.room = sync.NewCond(&w.mu)
	w.insertSQL = "INSERT INTO " + w.table + " (" + columnList(codec.columns()) + ")"
	if cfg.SpoolDir != "" {
		if w.spool, err = openSpool(cfg.SpoolDir); err != nil {
			return nil, fmt.Errorf("clickhouse writer %s: %w", name, err)
		}
		m.spoolBytes.Set(float64(w.spool.bytes))
		if n := w.spool.len(); n > 0 {
			w.logger.Info("spooled batches from an earlier run will be replayed",
				"segments", n, "bytes", w.spool.bytes, "spool_dir", cfg.SpoolDir)
		}
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	go w.run()
	return w, nil
}

// Write copies recs into the queue and returns at once; see Writer.Write.
func (w *engine[R]) Write(recs []R) {
	if len(recs) == 0 {
		return
	}
	w.mu.Lock()
	for {
		if w.closed {
			w.mu.Unlock()
			w.m.dropped.WithLabelValues(dropClosed).Add(float64(len(recs)))
			return
		}
		n := min(len(recs), w.cfg.QueueSize-len(w.queue))
		if need := len(w.queue) + n; need > cap(w.queue) {
			// Double (up to QueueSize): append grows a queue this large
			// by a quarter, copying it some twenty times on its way from
			// initialQueue to a burst's size.
			w.queue = slices.Grow(w.queue, min(max(need, 2*cap(w.queue)), w.cfg.QueueSize)-len(w.queue))
		}
		w.queue = append(w.queue, recs[:n]...)
		recs = recs[n:]
		if len(w.queue) >= w.cfg.BatchSize || len(recs) > 0 {
			select {
			case w.kick <- struct{}{}:
			default:
			}
		}
		if len(recs) == 0 || !w.cfg.Block {
			break
		}
		w.room.Wait()
	}
	w.mu.Unlock()
	if len(recs) > 0 {
		w.m.dropped.WithLabelValues(dropQueueFull).Add(float64(len(recs)))
	}
}

// Flush inserts (or spools) everything queued so far and waits for it.
func (w *engine[R]) Flush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case w.flushes <- ack:
	case <-w.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting rows and drains; see Writer.Close.
func (w *engine[R]) Close(ctx context.Context) error {
	w.mu.Lock()
	already := w.closed
	w.closed = true
	w.room.Broadcast()
	w.mu.Unlock()
	if !already {
		close(w.closing)
	}
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		w.cancel()
		<-w.done
		return ctx.Err()
	}
}

// run is the insert goroutine.
func (w *engine[R]) run() {
	defer close(w.done)
	defer w.cancel()
	tick := time.NewTicker(w.cfg.FlushInterval)
	defer tick.Stop()
	w.retrySpool(time.Now())
	for {
		select {
		case <-w.kick:
			w.flush(false)
		case <-tick.C:
			w.flush(true)
			w.retrySpool(time.Now())
		case ack := <-w.flushes:
			w.flush(true)
			close(ack)
		case <-w.closing:
			w.flush(true)
			return
		}
	}
}

// flush takes full batches from the queue, or everything when all, and
// writes them in order.
func (w *engine[R]) flush(all bool) {
	w.mu.Lock()
	n := len(w.queue)
	if !all {
		n -= n % w.cfg.BatchSize
	}
	w.m.queueRows.Set(float64(len(w.queue)))
	if n == 0 {
		w.mu.Unlock()
		return
	}
	// Swap buffers and give the remainder back; Write keeps appending
	// while the batches are inserted.
	w.queue, w.batch = w.batch[:0], w.queue
	w.queue = append(w.queue, w.batch[n:]...)
	w.batch = w.batch[:n]
	w.room.Broadcast()
	w.mu.Unlock()

	for i := 0; i < len(w.batch); i += w.cfg.BatchSize {
		w.write(w.batch[i:min(i+w.cfg.BatchSize, len(w.batch))])
	}
	w.batch = w.batch[:0]
}

// write inserts one batch, or spools it behind older spooled batches or
// when the insert fails.
func (w *engine[R]) write(recs []R) {
	if c, ok := w.codec.(compacter[R]); ok {
		recs = c.compact(recs)
	}
	if w.spool != nil && w.spool.len() > 0 {
		w.toSpool(recs, false)
		return
	}
	uncertain, err := w.insert(recs)
	if err == nil {
		return
	}
	w.failed(err, len(recs), "insert failed, spooling batch")
	w.toSpool(recs, uncertain)
}

// toSpool appends recs to the spool, or drops and counts them.
func (w *engine[R]) toSpool(recs []R, inflight bool) {
	switch {
	case w.spool == nil:
		w.m.dropped.WithLabelValues(dropNoSpool).Add(float64(len(recs)))
		return
	case w.spool.bytes >= w.cfg.SpoolMaxBytes:
		w.m.dropped.WithLabelValues(dropSpoolFull).Add(float64(len(recs)))
		return
	}
	if err := w.spool.append(encodeSegment(w.codec, recs), len(recs), inflight); err != nil {
		w.m.dropped.WithLabelValues(dropSpoolError).Add(float64(len(recs)))
		w.logger.Error("spool write failed, batch dropped", "rows", len(recs), "err", err)
		return
	}
	w.m.spooledRows.Add(float64(len(recs)))
	w.m.spoolBytes.Set(float64(w.spool.bytes))
}

// failed counts a failed INSERT, logs it and backs off the spool replay.
func (w *engine[R]) failed(err error, rows int, msg string) {
	w.m.insertErrors.Inc()
	w.backoff = min(max(2*w.backoff, w.cfg.RetryMin), w.cfg.RetryMax)
	w.nextRetry = time.Now().Add(w.backoff)
	w.logger.Warn(msg, "rows", rows, "retry_in_seconds", w.backoff.Seconds(), "err", err)
}

// retrySpool replays spooled batches in order, oldest first, until one
// fails, the spool is empty, the queue fills up, or a flush interval has
// passed.
func (w *engine[R]) retrySpool(now time.Time) {
	if w.spool == nil || w.spool.len() == 0 || now.Before(w.nextRetry) {
		return
	}
	deadline := now.Add(w.cfg.FlushInterval)
	for w.spool.len() > 0 {
		if err := w.replayHead(); err != nil {
			return
		}
		w.backoff = 0
		w.mu.Lock()
		busy := len(w.queue) >= w.cfg.BatchSize
		w.mu.Unlock()
		if busy || time.Now().After(deadline) || w.ctx.Err() != nil {
			return
		}
	}
	w.logger.Info("spool drained")
}

// replayHead inserts the oldest spooled batch and deletes it on success.
func (w *engine[R]) replayHead() error {
	g := w.spool.head()
	recs, err := loadSegment(w.spool, g, w.codec)
	if errors.Is(err, ErrCorruptSegment) {
		w.logger.Error("spooled batch cannot be decoded, set aside", "segment", g.seq, "rows", g.rows, "err", err)
		w.m.dropped.WithLabelValues(dropBadSegment).Add(float64(g.rows))
		return w.removeHead(true)
	}
	if err != nil {
		w.failed(err, g.rows, "spool read failed")
		return err
	}
	total, wasInflight := len(recs), g.inflight
	if wasInflight {
		// Its INSERT may have happened: insert only the rows not there.
		if recs, err = w.unwritten(recs); err != nil {
			w.failed(err, total, "spool replay: checking an unfinished batch failed")
			return err
		}
		if len(recs) < total {
			w.logger.Info("unfinished batch was partly or wholly written before",
				"segment", g.seq, "rows", total, "already_written", total-len(recs))
			w.m.rows.Add(float64(total - len(recs)))
		}
	}
	if len(recs) > 0 {
		if err := w.spool.setInflight(g, true); err != nil {
			w.failed(err, total, "spool replay failed")
			return err
		}
		wasSent, err := w.insert(recs)
		if err != nil {
			if !wasSent && !wasInflight {
				// Nothing reached the server: the batch is plain again.
				_ = w.spool.setInflight(g, false)
			}
			if isServerError(err) {
				if g.failures++; g.failures >= maxServerRefusals {
					w.logger.Error("spooled batch refused too often, set aside", "segment", g.seq,
						"rows", total, "err", err)
					w.m.dropped.WithLabelValues(dropBadSegment).Add(float64(total))
					return errors.Join(err, w.removeHead(true))
				}
			}
			w.failed(err, total, "spool replay failed")
			return err
		}
	}
	return w.removeHead(false)
}

func (w *engine[R]) removeHead(setAside bool) error {
	if err := w.spool.removeHead(setAside); err != nil {
		w.failed(err, 0, "spool remove failed")
		return err
	}
	w.m.spoolBytes.Set(float64(w.spool.bytes))
	return nil
}

// insert sends recs as one INSERT. sent reports whether the failure came
// after the data was handed to the server, in which case the rows may have
// been written.
func (w *engine[R]) insert(recs []R) (sent bool, err error) {
	ctx, cancel := context.WithTimeout(w.ctx, w.cfg.InsertTimeout)
	defer cancel()
	b, err := w.db.conn.PrepareBatch(ctx, w.insertSQL)
	if err != nil {
		return false, fmt.Errorf("prepare insert into %s: %w", w.table, asServerError(err))
	}
	c := w.codec
	c.reset()
	c.add(recs)
	defer w.adopt.release()
	cols := b.Columns()
	for i, v := range c.values() {
		if i < len(cols) && w.adopt.adopt(i, cols[i], v) {
			continue
		}
		if err := b.Column(i).Append(appendable(v)); err != nil {
			_ = b.Abort()
			return false, fmt.Errorf("append column %s: %w", c.columns()[i].name, err)
		}
	}
	if err := b.Send(); err != nil {
		return true, fmt.Errorf("insert %d rows into %s: %w", len(recs), w.table, asServerError(err))
	}
	w.m.rows.Add(float64(len(recs)))
	w.m.batches.Inc()
	return false, nil
}

// unwritten returns the rows of recs not yet in the table.
func (w *engine[R]) unwritten(recs []R) ([]R, error) {
	if len(recs) == 0 {
		return recs, nil
	}
	ctx, cancel := context.WithTimeout(w.ctx, w.cfg.InsertTimeout)
	defer cancel()
	return w.codec.unwritten(ctx, w.db.conn, w.table, recs)
}

// initialQueue is the rows the queue and batch buffers start with; they
// grow to QueueSize only when that many rows wait, so that a writer
// sized for bursts does not hold them at an idle or quiet tap.
const initialQueue = 1024
