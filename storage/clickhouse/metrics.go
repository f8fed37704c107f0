package clickhouse

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tapflow/tapflow/flowtable"
	"github.com/tapflow/tapflow/internal/mum"
)

// The aggregate tables in flow_metrics (DeepFlow's names: queries quote
// them, `network.1s`).
const (
	Network1s    = "network.1s"
	Network1m    = "network.1m"
	NetworkMap1s = "network_map.1s"
	NetworkMap1m = "network_map.1m"
)

// metricTables names the table of each flowtable.MetricTable.
var metricTables = [flowtable.NumMetricTables]string{
	flowtable.Network1s: Network1s, flowtable.Network1m: Network1m,
	flowtable.NetworkMap1s: NetworkMap1s, flowtable.NetworkMap1m: NetworkMap1m,
}

// Key columns of the aggregate tables. The time is the start of the
// second (.1s) or minute (.1m). is_ipv4 and the ip4/ip6 pairs follow
// l4_flow_log.
var (
	networkKeyColumns = []column{
		{"time", kDateTime}, {"tap_type", kU8}, {"tap_port", kU32}, {"proto", kU8}, {"is_ipv4", kU8},
		{"server_ip4", kIP4}, {"server_ip6", kIP6}, {"server_port", kU16},
	}
	networkMapKeyColumns = []column{
		{"time", kDateTime}, {"tap_type", kU8}, {"tap_port", kU32}, {"proto", kU8}, {"is_ipv4", kU8},
		{"client_ip4", kIP4}, {"client_ip6", kIP6}, {"server_ip4", kIP4}, {"server_ip6", kIP6}, {"server_port", kU16},
	}
)

// The sorting keys: the whole key, time first, then what dashboards filter
// on.
const (
	networkOrderBy    = "time, proto, server_port, is_ipv4, server_ip4, server_ip6, tap_type, tap_port"
	networkMapOrderBy = "time, proto, server_port, is_ipv4, server_ip4, server_ip6, client_ip4, client_ip6, tap_type, tap_port"
)

// meterColumn is one metric column and where its value lives in a
// flowtable.Meter (exactly one of u64, u32 is set).
type meterColumn struct {
	name string
	u64  func(*flowtable.Meter) *uint64
	u32  func(*flowtable.Meter) *uint32
}

func (c meterColumn) kind() colKind {
	if c.u64 != nil {
		return kU64
	}
	return kU32
}

// closeColumns names the close-type counter columns (Meter.Closed), one per
// close type of architecture §3, by the name of the close type.
var closeColumns = map[flowtable.CloseType]string{
	flowtable.CloseTCPFin:             "tcp_fin",               // 1
	flowtable.CloseTCPServerRst:       "server_rst",            // 2
	flowtable.CloseTimeout:            "timeout",               // 3
	flowtable.CloseClientSYNRepeat:    "client_syn_repeat",     // 7
	flowtable.CloseServerHalfClose:    "server_half_close",     // 8
	flowtable.CloseTCPClientRst:       "client_rst",            // 9
	flowtable.CloseServerSYNACKRepeat: "server_syn_ack_repeat", // 10
	flowtable.CloseClientHalfClose:    "client_half_close",     // 11
	flowtable.CloseClientPortReuse:    "client_port_reuse",     // 13
	flowtable.CloseServerReset:        "server_reset",          // 15
	flowtable.CloseServerQueueLack:    "server_queue_lack",     // 17
	flowtable.CloseServerNoResponse:   "server_no_response",    // 18
	flowtable.CloseClientNoResponse:   "client_no_response",    // 19
	flowtable.CloseClientEstablishRst: "client_establish_rst",  // 20
}

// meterColumns are the metric columns of every aggregate table, after the
// key columns. The names are a contract with the console and the CLI.
var meterColumns = buildMeterColumns()

// meterOffsets64 and meterOffsets32 are where the u64 and the u32 meter
// columns (in meterColumns order) live in a flowtable.Meter, derived from
// the accessors once: metricCols.add reads each row's ~50 values straight
// from them instead of through two closure calls per value.
var meterOffsets64, meterOffsets32 = meterOffsets()

func meterOffsets() (o64, o32 []uintptr) {
	var m flowtable.Meter
	base := uintptr(unsafe.Pointer(&m))
	for _, mc := range meterColumns {
		if mc.u64 != nil {
			o64 = append(o64, uintptr(unsafe.Pointer(mc.u64(&m)))-base)
		} else {
			o32 = append(o32, uintptr(unsafe.Pointer(mc.u32(&m)))-base)
		}
	}
	return o64, o32
}

func buildMeterColumns() []meterColumn {
	type M = flowtable.Meter
	u64 := func(name string, f func(*M) *uint64) meterColumn { return meterColumn{name: name, u64: f} }
	u32 := func(name string, f func(*M) *uint32) meterColumn { return meterColumn{name: name, u32: f} }
	cols := []meterColumn{
		u64("packets_tx", func(m *M) *uint64 { return &m.Packets[0] }),
		u64("packets_rx", func(m *M) *uint64 { return &m.Packets[1] }),
		u64("bytes_tx", func(m *M) *uint64 { return &m.Bytes[0] }),
		u64("bytes_rx", func(m *M) *uint64 { return &m.Bytes[1] }),
		u32("new_flow", func(m *M) *uint32 { return &m.NewFlow }),
		u32("closed_flow", func(m *M) *uint32 { return &m.ClosedFlow }),
	}
	for _, s := range []struct {
		prefix string
		f      func(*M) *flowtable.Sample
	}{
		{"rtt", func(m *M) *flowtable.Sample { return &m.RTT }},
		{"rtt_client", func(m *M) *flowtable.Sample { return &m.RTTClient }},
		{"rtt_server", func(m *M) *flowtable.Sample { return &m.RTTServer }},
		{"srt", func(m *M) *flowtable.Sample { return &m.SRT }},
		{"art", func(m *M) *flowtable.Sample { return &m.ART }},
		{"cit", func(m *M) *flowtable.Sample { return &m.CIT }},
	} {
		cols = append(cols,
			u64(s.prefix+"_sum_us", func(m *M) *uint64 { return &s.f(m).Sum }),
			u32(s.prefix+"_count", func(m *M) *uint32 { return &s.f(m).Count }),
			u32(s.prefix+"_max_us", func(m *M) *uint32 { return &s.f(m).Max }))
	}
	for _, p := range []struct {
		name string
		f    func(*M) *[2]uint32
	}{
		{"retrans", func(m *M) *[2]uint32 { return &m.Retrans }},
		{"zero_win", func(m *M) *[2]uint32 { return &m.ZeroWin }},
		{"ooo", func(m *M) *[2]uint32 { return &m.OOO }},
		{"lost", func(m *M) *[2]uint32 { return &m.Lost }},
		{"lost_before_tap", func(m *M) *[2]uint32 { return &m.LostBeforeTap }},
	} {
		cols = append(cols,
			u32(p.name+"_tx", func(m *M) *uint32 { return &p.f(m)[0] }),
			u32(p.name+"_rx", func(m *M) *uint32 { return &p.f(m)[1] }))
	}
	cols = append(cols,
		u32("syn_count", func(m *M) *uint32 { return &m.SYN }),
		u32("synack_count", func(m *M) *uint32 { return &m.SYNACK }),
		u32("fin_count", func(m *M) *uint32 { return &m.FIN }))
	for i, ct := range flowtable.CloseClasses {
		name, ok := closeColumns[ct]
		if !ok {
			panic(fmt.Sprintf("BUG: no column for close type %d", ct))
		}
		cols = append(cols, u32(name, func(m *M) *uint32 { return &m.Closed[i] }))
	}
	return cols
}

// metricColumns returns the columns of an aggregate table in insert order.
func metricColumns(isMap bool) []column {
	key := networkKeyColumns
	if isMap {
		key = networkMapKeyColumns
	}
	cols := append([]column(nil), key...)
	for _, c := range meterColumns {
		cols = append(cols, column{c.name, c.kind()})
	}
	return cols
}

// MetricsWriter inserts the aggregate rows of flowtable (flowtable.MetricRow)
// into the four flow_metrics tables `<table>_local`, with the guarantees of
// Writer: Write never blocks, one goroutine per table inserts in batches,
// and what ClickHouse cannot take is spooled (in cfg.SpoolDir/<table>) and
// replayed, nothing lost and nothing written twice. Rows of one batch with
// the same table, time and key are summed before the INSERT; rows of
// different batches stay separate, so readers sum (see doc.go).
type MetricsWriter struct {
	e [flowtable.NumMetricTables]*engine[flowtable.MetricRow]
}

// NewMetricsWriter starts the writers of the aggregate tables. reg and
// logger may be nil. Each table has its own queue (cfg.QueueSize rows) and
// spool directory, cfg.SpoolDir/<table> (e.g. spool/network.1s); batches
// left there by an earlier run are replayed first.
func NewMetricsWriter(db *DB, cfg WriterConfig, reg prometheus.Registerer, logger *slog.Logger) (*MetricsWriter, error) {
	w := &MetricsWriter{}
	for t := range flowtable.NumMetricTables {
		c := cfg
		if cfg.SpoolDir != "" {
			c.SpoolDir = filepath.Join(cfg.SpoolDir, metricTables[t])
		}
		e, err := newEngine(db, FlowMetricsDB, metricTables[t], newMetricCols(t.IsMap()), c, reg, logger)
		if err != nil {
			return nil, errors.Join(err, w.Close(context.Background()))
		}
		w.e[t] = e
	}
	return w, nil
}

// Write copies rows into their tables' queues and returns at once; rows
// that do not fit are dropped and counted per table. rows may be reused by
// the caller after Write. Rows of an unknown table are ignored.
func (w *MetricsWriter) Write(rows []flowtable.MetricRow) {
	for i := 0; i < len(rows); {
		t, j := rows[i].Table, i+1
		for j < len(rows) && rows[j].Table == t {
			j++
		}
		if t < flowtable.NumMetricTables {
			w.e[t].Write(rows[i:j])
		}
		i = j
	}
}

// Flush inserts (or spools) everything queued so far and waits for it.
func (w *MetricsWriter) Flush(ctx context.Context) error {
	for _, e := range w.e {
		if err := e.Flush(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Close stops accepting rows and writes what is queued, as Writer.Close.
func (w *MetricsWriter) Close(ctx context.Context) error {
	var errs []error
	for _, e := range w.e {
		if e != nil {
			errs = append(errs, e.Close(ctx))
		}
	}
	return errors.Join(errs...)
}

// metricCols is the rowCodec of one aggregate table: column buffers, spool
// records and the unfinished-batch check.
type metricCols struct {
	isMap bool
	cols  []column

	time                 []time.Time
	tapType, proto, isV4 []uint8
	tapPort              []uint32
	clientIP4, serverIP4 []uint32
	clientIP6, serverIP6 [][16]byte
	serverPort           []uint16
	u64                  [][]uint64 // meter columns, in meterColumns order by kind
	u32                  [][]uint32

	// compact's index, reused: slots hold an index into keys (and into
	// the rows compact keeps) + 1, 0 for an empty slot.
	slots []uint32
	keys  []metricKey
}

func newMetricCols(isMap bool) *metricCols {
	c := &metricCols{isMap: isMap, cols: metricColumns(isMap)}
	for _, mc := range meterColumns {
		if mc.u64 != nil {
			c.u64 = append(c.u64, nil)
		} else {
			c.u32 = append(c.u32, nil)
		}
	}
	return c
}

func (c *metricCols) columns() []column { return c.cols }

func (c *metricCols) reset() {
	c.time, c.tapType, c.proto, c.isV4 = c.time[:0], c.tapType[:0], c.proto[:0], c.isV4[:0]
	c.tapPort, c.clientIP4, c.serverIP4 = c.tapPort[:0], c.clientIP4[:0], c.serverIP4[:0]
	c.clientIP6, c.serverIP6, c.serverPort = c.clientIP6[:0], c.serverIP6[:0], c.serverPort[:0]
	for i := range c.u64 {
		c.u64[i] = c.u64[i][:0]
	}
	for i := range c.u32 {
		c.u32[i] = c.u32[i][:0]
	}
}

// transposeBlock is the rows metricCols.add moves into the meter columns
// at a time: a block's rows (~20 KiB) stay in the L1 cache while each
// of the ~45 columns takes its values from them.
const transposeBlock = 64

func (c *metricCols) add(recs []flowtable.MetricRow) {
	for i := range recs {
		r := &recs[i]
		cli, srv := r.ClientIP.Unmap(), r.ServerIP.Unmap()
		c.time = append(c.time, dateTime(r.Time))
		c.tapType = append(c.tapType, r.TapType)
		c.tapPort = append(c.tapPort, r.TapPort)
		c.proto = append(c.proto, r.Proto)
		c.isV4 = append(c.isV4, b2u8(srv.Is4()))
		if c.isMap {
			c.clientIP4 = append(c.clientIP4, ip4(cli))
			c.clientIP6 = append(c.clientIP6, ip6(cli))
		}
		c.serverIP4 = append(c.serverIP4, ip4(srv))
		c.serverIP6 = append(c.serverIP6, ip6(srv))
		c.serverPort = append(c.serverPort, r.ServerPort)
	}
	// The meter columns are filled a block of rows at a time, one column
	// after the other, by index: appending each value to its column row by
	// row cost ~45 slice-header round trips per row (0.6 s of a corpus
	// replay's 3.3 M rows).
	base := len(c.u64[0])
	growCols(c.u64, len(recs))
	growCols(c.u32, len(recs))
	for lo := 0; lo < len(recs); lo += transposeBlock {
		blk := recs[lo:min(lo+transposeBlock, len(recs))]
		transpose(c.u64, meterOffsets64, blk, base+lo)
		transpose(c.u32, meterOffsets32, blk, base+lo)
	}
}

// growCols lengthens each column by n values, to be filled by index.
func growCols[T uint32 | uint64](cols [][]T, n int) {
	for j := range cols {
		cols[j] = slices.Grow(cols[j], n)[:len(cols[j])+n]
	}
}

// transpose fills rows at.. of each column cols[j] with the meter value at
// offset offs[j] of the rows of blk. Four rows a step, by address: indexing
// blk[i] for each value cost ~5 instructions a value, and the metric
// tables take ~45 values a row.
func transpose[T uint32 | uint64](cols [][]T, offs []uintptr, blk []flowtable.MetricRow, at int) {
	const stride = unsafe.Sizeof(flowtable.MetricRow{})
	n := len(blk)
	if n == 0 {
		return
	}
	meters := unsafe.Pointer(&blk[0].Meter)
	for j, off := range offs {
		col := cols[j][at:][:n]
		p := unsafe.Add(meters, off)
		i := 0
		for ; i+4 <= len(col); i += 4 {
			q, c := unsafe.Add(p, uintptr(i)*stride), (*[4]T)(col[i:i+4])
			c[0] = *(*T)(q)
			c[1] = *(*T)(unsafe.Add(q, stride))
			c[2] = *(*T)(unsafe.Add(q, 2*stride))
			c[3] = *(*T)(unsafe.Add(q, 3*stride))
		}
		for ; i < len(col); i++ {
			col[i] = *(*T)(unsafe.Add(p, uintptr(i)*stride))
		}
	}
}

func (c *metricCols) values() []any {
	v := []any{c.time, c.tapType, c.tapPort, c.proto, c.isV4}
	if c.isMap {
		v = append(v, c.clientIP4, c.clientIP6)
	}
	v = append(v, c.serverIP4, c.serverIP6, c.serverPort)
	i64, i32 := 0, 0
	for _, mc := range meterColumns {
		if mc.u64 != nil {
			v = append(v, c.u64[i64])
			i64++
		} else {
			v = append(v, c.u32[i32])
			i32++
		}
	}
	return v
}

// metricKey is what makes two rows of a batch one: their table, time and
// key. The small fields share one word (tail), so that equal compares
// words instead of calling the runtime's memequal for each probe.
type metricKey struct {
	time     int64
	cli, srv [16]byte // 16-byte form of the unmapped address, zero when invalid
	tail     uint64   // tap port, server port, protocol, tap type
	table    flowtable.MetricTable
}

func metricKeyOf(r *flowtable.MetricRow) metricKey {
	k := metricKey{table: r.Table, time: r.Time.Unix(),
		tail: uint64(r.TapPort) | uint64(r.ServerPort)<<32 | uint64(r.Proto)<<48 | uint64(r.TapType)<<56}
	if r.ClientIP.IsValid() {
		k.cli = r.ClientIP.Unmap().As16()
	}
	if r.ServerIP.IsValid() {
		k.srv = r.ServerIP.Unmap().As16()
	}
	return k
}

// equal is k == *o.
func (k *metricKey) equal(o *metricKey) bool {
	le := binary.LittleEndian
	// ^ and | bind alike in Go: each difference needs its parentheses.
	return (uint64(k.time)^uint64(o.time))|
		(le.Uint64(k.cli[:8])^le.Uint64(o.cli[:8]))|(le.Uint64(k.cli[8:])^le.Uint64(o.cli[8:]))|
		(le.Uint64(k.srv[:8])^le.Uint64(o.srv[:8]))|(le.Uint64(k.srv[8:])^le.Uint64(o.srv[8:]))|
		(k.tail^o.tail) == 0 && k.table == o.table
}

// compact sums the rows of recs that share table, time and key (rows of
// the same second from several workers, and a worker's late contributions
// to a second it has reported), keeping first-seen order. With one worker
// it merges about one row in ten of the bench corpus. Its index is an
// open-addressing table reused from batch to batch: with a Go map of the
// keys, compacting the corpus's 3.7 M aggregate rows took 1.17 s of
// CPU in the profile, with this table 0.62 s.
func (c *metricCols) compact(recs []flowtable.MetricRow) []flowtable.MetricRow {
	n := 16
	for n < 2*len(recs) {
		n *= 2
	}
	if cap(c.slots) < n {
		c.slots = make([]uint32, n)
	} else {
		c.slots = c.slots[:n]
		clear(c.slots)
	}
	mask := uint64(n - 1)
	c.keys = c.keys[:0]
	out := recs[:0]
	for i := range recs {
		k := metricKeyOf(&recs[i])
		for s := k.hash() & mask; ; s = (s + 1) & mask {
			j := c.slots[s]
			if j == 0 {
				c.keys = append(c.keys, k)
				c.slots[s] = uint32(len(c.keys))
				out = append(out, recs[i]) // into recs[len(out)], never past i: no unread row is overwritten
				break
			}
			if c.keys[j-1].equal(&k) {
				out[j-1].Meter.Add(&recs[i].Meter)
				break
			}
		}
	}
	return out
}

// hash mixes the key's fields (multiply-xorshift rounds).
func (k *metricKey) hash() uint64 {
	le := binary.LittleEndian
	h := uint64(k.time)*0x9E3779B97F4A7C15 ^ uint64(k.table)<<56 ^ k.tail
	for _, v := range [4]uint64{le.Uint64(k.cli[:8]), le.Uint64(k.cli[8:]), le.Uint64(k.srv[:8]), le.Uint64(k.srv[8:])} {
		h = mum.Mix(h, v)
	}
	return h ^ h>>29
}

// Spool records of aggregate rows: table, time (unix s), tap type, tap
// port, protocol, client and server address (family byte + 16 bytes),
// server port, then each meter column (u64 or u32) in meterColumns order.
const (
	metricSpoolMagic   = "TFSPMET1"
	metricSpoolVersion = 1
)

var metricSpoolRecordSize = func() int {
	n := 1 + 8 + 1 + 4 + 1 + 17 + 17 + 2
	for _, mc := range meterColumns {
		if mc.u64 != nil {
			n += 8
		} else {
			n += 4
		}
	}
	return n
}()

func (*metricCols) magic() string   { return metricSpoolMagic }
func (*metricCols) version() uint32 { return metricSpoolVersion }

func (*metricCols) recordSize(v uint32) int {
	if v == metricSpoolVersion {
		return metricSpoolRecordSize
	}
	return 0
}

func (*metricCols) encode(b []byte, r *flowtable.MetricRow) []byte {
	le := binary.LittleEndian
	b = append(b, uint8(r.Table))
	b = le.AppendUint64(b, uint64(r.Time.Unix()))
	b = append(b, r.TapType)
	b = le.AppendUint32(b, r.TapPort)
	b = append(b, r.Proto)
	b = encAddr(b, r.ClientIP)
	b = encAddr(b, r.ServerIP)
	b = le.AppendUint16(b, r.ServerPort)
	m := &r.Meter
	for _, mc := range meterColumns {
		if mc.u64 != nil {
			b = le.AppendUint64(b, *mc.u64(m))
		} else {
			b = le.AppendUint32(b, *mc.u32(m))
		}
	}
	return b
}

func (*metricCols) decode(b []byte, _ uint32, r *flowtable.MetricRow) error {
	d := dec{b}
	r.Table = flowtable.MetricTable(d.u8())
	r.Time = time.Unix(int64(d.u64()), 0).UTC()
	r.TapType = d.u8()
	r.TapPort = d.u32()
	r.Proto = d.u8()
	r.ClientIP = d.addr()
	r.ServerIP = d.addr()
	r.ServerPort = d.u16()
	m := &r.Meter
	for _, mc := range meterColumns {
		if mc.u64 != nil {
			*mc.u64(m) = d.u64()
		} else {
			*mc.u32(m) = d.u32()
		}
	}
	return nil
}

// metricIdentity is a whole aggregate row as stored: rows have no id, and
// several rows may share a time and key, so an unfinished batch is matched
// on every column.
type metricIdentity struct {
	time                   uint32
	tapType, proto, isIPv4 uint8
	tapPort                uint32
	cli4, srv4             uint32
	cli6, srv6             string // upper-case hex of the 16 bytes
	port                   uint16
	m                      flowtable.Meter
}

func (c *metricCols) identity(r *flowtable.MetricRow) metricIdentity {
	cli, srv := r.ClientIP.Unmap(), r.ServerIP.Unmap()
	k := metricIdentity{time: uint32(dateTimeUnix(r.Time)), tapType: r.TapType, proto: r.Proto,
		isIPv4: b2u8(srv.Is4()), tapPort: r.TapPort, srv4: ip4(srv), port: r.ServerPort, m: r.Meter}
	s6 := ip6(srv)
	k.srv6 = strings.ToUpper(hex.EncodeToString(s6[:]))
	if c.isMap {
		c6 := ip6(cli)
		k.cli4, k.cli6 = ip4(cli), strings.ToUpper(hex.EncodeToString(c6[:]))
	}
	return k
}

// unwritten returns the rows of recs not found in the table, matching every
// column as a multiset over the batch's time range. IPv6 columns are read
// as hex of their 16 bytes, whatever their type (FixedString(16) or IPv6).
func (c *metricCols) unwritten(ctx context.Context, conn driver.Conn, table string, recs []flowtable.MetricRow) ([]flowtable.MetricRow, error) {
	minT, maxT := int64(1<<62), int64(-1)
	for i := range recs {
		t := dateTimeUnix(recs[i].Time)
		minT, maxT = min(minT, t), max(maxT, t)
	}
	ip6hex := func(col string) string { return "hex(IPv6StringToNum(IPv6NumToString(" + col + ")))" }
	sel := []string{"toUInt32(time)", "tap_type", "tap_port", "proto", "is_ipv4"}
	if c.isMap {
		sel = append(sel, "toUInt32(client_ip4)", ip6hex("client_ip6"))
	}
	sel = append(sel, "toUInt32(server_ip4)", ip6hex("server_ip6"), "server_port")
	for _, mc := range meterColumns {
		sel = append(sel, mc.name)
	}
	q := fmt.Sprintf("SELECT %s FROM %s WHERE time >= toDateTime(%d) AND time <= toDateTime(%d)",
		strings.Join(sel, ", "), table, minT, maxT)
	rows, err := conn.Query(ctx, q)
	if err != nil {
		return nil, asServerError(err)
	}
	defer rows.Close()
	have := map[metricIdentity]int{}
	var k metricIdentity
	dest := []any{&k.time, &k.tapType, &k.tapPort, &k.proto, &k.isIPv4}
	if c.isMap {
		dest = append(dest, &k.cli4, &k.cli6)
	}
	dest = append(dest, &k.srv4, &k.srv6, &k.port)
	for _, mc := range meterColumns {
		if mc.u64 != nil {
			dest = append(dest, mc.u64(&k.m))
		} else {
			dest = append(dest, mc.u32(&k.m))
		}
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		have[k]++
	}
	if err := rows.Err(); err != nil {
		return nil, asServerError(err)
	}
	out := recs[:0]
	for i := range recs {
		k := c.identity(&recs[i])
		if have[k] > 0 {
			have[k]--
			continue
		}
		out = append(out, recs[i])
	}
	return out, nil
}
