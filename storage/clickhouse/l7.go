package clickhouse

import (
	"context"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tapflow/tapflow/dissectors"
)

// l7Columns is flow_log.l7_flow_log in insert order, with DeepFlow's column
// names where tapflow has no name of its own: the flow identity is named as
// in l4_flow_log (proto, is_ipv4, client_ip4/6, server_ip4/6, client_port,
// server_port: client = index 0, server = index 1 in DeepFlow). The names
// are a contract with the console and the CLI.
var l7Columns = slices.Concat([]column{
	{"time", kDateTime},       // the second of end_time
	{"start_time", kTime64US}, // µs on servers with DateTime64, whole seconds on 18.16
	{"end_time", kTime64US},
	{"start_time_us", kTimeUS}, // µs on every server, as in l4_flow_log
	{"end_time_us", kTimeUS},
	{"flow_id", kU64},
	{"tap_type", kU8},
	{"tap_port", kU32},
	{"vlan", kU16},
}, endpointColumns, []column{
	{"l7_protocol", kU8},
	{"l7_protocol_str", kLowCard},
	{"version", kLowCard},
	{"type", kU8},
	{"request_type", kLowCard},
	{"request_domain", kText},
	{"request_resource", kText},
	{"endpoint", kText},
	{"request_id", kNullU64},
	{"response_status", kU8},
	{"response_code", kNullI32},
	{"response_exception", kText},
	{"response_duration", kU64},
	{"request_length", kU32},
	{"response_length", kU32},
	{"trace_id", kText},
	{"span_id", kText},
})

// l7OrderBy is the sorting key: time first (every query has a time range),
// then what request searches filter on (protocol, server, flow).
const l7OrderBy = "time, l7_protocol, server_ip4, server_ip6, server_port, flow_id"

// L7Writer inserts L7 request logs (dissectors.Log) into
// flow_log.l7_flow_log_local in batches, with the guarantees of Writer:
// Write never blocks (unless WriterConfig.Block), one goroutine inserts,
// and what ClickHouse cannot take is spooled and replayed, nothing lost and
// nothing written twice.
type L7Writer struct {
	e *engine[dissectors.Log]
}

// NewL7Writer starts the writer of flow_log.l7_flow_log. reg and logger may
// be nil. Its spool is cfg.SpoolDir/l7_flow_log, so it may be given the
// same SpoolDir as the l4 Writer; batches left there by an earlier run are
// replayed first.
func NewL7Writer(db *DB, cfg WriterConfig, reg prometheus.Registerer, logger *slog.Logger) (*L7Writer, error) {
	if cfg.SpoolDir != "" {
		cfg.SpoolDir = filepath.Join(cfg.SpoolDir, L7FlowLog)
	}
	e, err := newEngine(db, FlowLogDB, L7FlowLog, &l7Cols{}, cfg, reg, logger)
	if err != nil {
		return nil, err
	}
	return &L7Writer{e}, nil
}

// Write copies logs into the queue and returns at once. Rows that do not
// fit are dropped and counted in tapflow_storage_dropped_rows_total
// {table="l7_flow_log",reason="queue_full"} (with cfg.Block, Write waits
// for room instead). logs may be reused by the caller after Write.
func (w *L7Writer) Write(logs []dissectors.Log) { w.e.Write(logs) }

// Flush inserts (or spools) everything queued so far and waits for it.
func (w *L7Writer) Flush(ctx context.Context) error { return w.e.Flush(ctx) }

// Close stops accepting rows and writes what is queued, as Writer.Close.
func (w *L7Writer) Close(ctx context.Context) error { return w.e.Close(ctx) }

// The text columns of l7_flow_log, in the order l7Cols keeps them.
const (
	l7Version = iota
	l7RequestType
	l7RequestDomain
	l7RequestResource
	l7Endpoint
	l7Exception
	l7TraceID
	l7SpanID
	l7NumTexts
)

// l7Texts returns the text fields of l in l7Version..l7SpanID order.
func l7Texts(l *dissectors.Log) [l7NumTexts]dissectors.Text {
	return [l7NumTexts]dissectors.Text{l.Version, l.RequestType, l.RequestDomain, l.RequestResource,
		l.Endpoint, l.Exception, l.TraceID, l.SpanID}
}

// l7TextFields returns pointers to the text fields of l, in l7Texts order.
func l7TextFields(l *dissectors.Log) [l7NumTexts]*dissectors.Text {
	return [l7NumTexts]*dissectors.Text{&l.Version, &l.RequestType, &l.RequestDomain, &l.RequestResource,
		&l.Endpoint, &l.Exception, &l.TraceID, &l.SpanID}
}

// l7Cols is the rowCodec of flow_log.l7_flow_log: one batch column-wise,
// buffers reused from batch to batch. Each text column keeps its texts back
// to back in one buffer (strCol), which the insert lends to the library.
type l7Cols struct {
	time, startTime, endTime []time.Time
	startUS, endUS, flowID   []uint64
	tapType                  []uint8
	tapPort                  []uint32
	vlan                     []uint16
	proto, isIPv4            []uint8
	clientIP4, serverIP4     []uint32
	clientIP6, serverIP6     [][16]byte
	clientPort, serverPort   []uint16
	l7Proto                  []uint8
	l7ProtoStr               strCol
	typ, status              []uint8
	reqID                    []uint64
	hasReqID                 []bool
	code                     []int32
	hasCode                  []bool
	duration                 []uint64
	reqLen, respLen          []uint32

	texts [l7NumTexts]strCol
	reqP  []*uint64 // Nullable request_id, built by values
	codeP []*int32  // Nullable response_code, built by values
}

func (*l7Cols) columns() []column { return l7Columns }

func (c *l7Cols) reset() {
	c.time, c.startTime, c.endTime = c.time[:0], c.startTime[:0], c.endTime[:0]
	c.startUS, c.endUS, c.flowID = c.startUS[:0], c.endUS[:0], c.flowID[:0]
	c.tapType, c.tapPort, c.vlan = c.tapType[:0], c.tapPort[:0], c.vlan[:0]
	c.proto, c.isIPv4 = c.proto[:0], c.isIPv4[:0]
	c.clientIP4, c.serverIP4, c.clientIP6, c.serverIP6 = c.clientIP4[:0], c.serverIP4[:0], c.clientIP6[:0], c.serverIP6[:0]
	c.clientPort, c.serverPort = c.clientPort[:0], c.serverPort[:0]
	c.l7Proto, c.typ, c.status = c.l7Proto[:0], c.typ[:0], c.status[:0]
	c.l7ProtoStr.reset()
	c.reqID, c.hasReqID, c.code, c.hasCode = c.reqID[:0], c.hasReqID[:0], c.code[:0], c.hasCode[:0]
	c.duration, c.reqLen, c.respLen = c.duration[:0], c.reqLen[:0], c.respLen[:0]
	for i := range c.texts {
		c.texts[i].reset()
	}
	clear(c.reqP)
	clear(c.codeP)
	c.reqP, c.codeP = c.reqP[:0], c.codeP[:0]
}

func (c *l7Cols) add(logs []dissectors.Log) {
	for i := range logs {
		c.addRow(&logs[i])
	}
}

func (c *l7Cols) addRow(l *dissectors.Log) {
	c.time = append(c.time, l7RowTime(l))
	c.startTime = append(c.startTime, l7Time(l.StartTime))
	c.endTime = append(c.endTime, l7Time(l.EndTime))
	c.startUS = append(c.startUS, l7US(l.StartTime))
	c.endUS = append(c.endUS, l7US(l.EndTime))
	c.flowID = append(c.flowID, l.FlowID)
	c.tapType = append(c.tapType, l.TapType)
	c.tapPort = append(c.tapPort, l.TapPort)
	c.vlan = append(c.vlan, l.VLAN)
	c.proto = append(c.proto, l.Proto)

	cli, srv := l.ClientIP.Unmap(), l.ServerIP.Unmap()
	c.isIPv4 = append(c.isIPv4, b2u8(cli.Is4() || srv.Is4()))
	c.clientIP4 = append(c.clientIP4, ip4(cli))
	c.clientIP6 = append(c.clientIP6, ip6(cli))
	c.serverIP4 = append(c.serverIP4, ip4(srv))
	c.serverIP6 = append(c.serverIP6, ip6(srv))
	c.clientPort = append(c.clientPort, l.ClientPort)
	c.serverPort = append(c.serverPort, l.ServerPort)

	c.l7Proto = append(c.l7Proto, uint8(l.Protocol))
	appendText(&c.l7ProtoStr, l.Protocol.String())
	c.typ = append(c.typ, uint8(l.Type))
	c.status = append(c.status, uint8(l.Status))
	c.reqID = append(c.reqID, l.Key)
	c.hasReqID = append(c.hasReqID, l.HasKey)
	c.code = append(c.code, l.Code)
	c.hasCode = append(c.hasCode, l.HasCode)
	c.duration = append(c.duration, uint64(l.RRT))
	c.reqLen = append(c.reqLen, l.ReqLen)
	c.respLen = append(c.respLen, l.RespLen)
	for i, f := range l7Texts(l) {
		appendText(&c.texts[i], l.Bytes(f))
	}
}

// values returns the column slices in l7Columns order. It must follow the
// last add of the batch: the Nullable columns point into the value slices.
func (c *l7Cols) values() []any {
	for i := range c.reqID {
		var p *uint64
		if c.hasReqID[i] {
			p = &c.reqID[i]
		}
		c.reqP = append(c.reqP, p)
	}
	for i := range c.code {
		var p *int32
		if c.hasCode[i] {
			p = &c.code[i]
		}
		c.codeP = append(c.codeP, p)
	}
	return []any{
		c.time, c.startTime, c.endTime, c.startUS, c.endUS, c.flowID,
		c.tapType, c.tapPort, c.vlan, c.proto, c.isIPv4,
		c.clientIP4, c.clientIP6, c.serverIP4, c.serverIP6, c.clientPort, c.serverPort,
		c.l7Proto, &c.l7ProtoStr, &c.texts[l7Version], c.typ,
		&c.texts[l7RequestType], &c.texts[l7RequestDomain], &c.texts[l7RequestResource], &c.texts[l7Endpoint],
		c.reqP, c.status, c.codeP, &c.texts[l7Exception], c.duration, c.reqLen, c.respLen,
		&c.texts[l7TraceID], &c.texts[l7SpanID],
	}
}

// maxDateTimeUS is the last µs of DateTime's range (UInt32 seconds).
const maxDateTimeUS = math.MaxUint32*1_000_000 + 999_999

// l7US is a Log time (µs since the epoch) as stored in start_time_us and
// end_time_us: clamped to DateTime's range, as the DateTime columns are.
func l7US(us int64) uint64 { return uint64(min(max(us, 0), maxDateTimeUS)) }

// l7Time is a Log time as stored in start_time and end_time.
func l7Time(us int64) time.Time { return time.UnixMicro(int64(l7US(us))).UTC() }

// l7RowSec is the row's time column in seconds: the second of end_time, or
// of start_time if the end is missing or before the start.
func l7RowSec(l *dissectors.Log) int64 { return int64(l7US(max(l.StartTime, l.EndTime)) / 1_000_000) }

func l7RowTime(l *dissectors.Log) time.Time { return time.Unix(l7RowSec(l), 0).UTC() }
