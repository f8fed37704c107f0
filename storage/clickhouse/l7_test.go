package clickhouse

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/storage/chserver"
)

// l7Contract is the column contract of flow_log.l7_flow_log with the console
// and CLI, spelled out here on purpose rather than derived from l7Columns.
var l7Contract = []string{
	"time", "start_time", "end_time", "start_time_us", "end_time_us", "flow_id",
	"tap_type", "tap_port", "vlan", "proto", "is_ipv4",
	"client_ip4", "client_ip6", "server_ip4", "server_ip6", "client_port", "server_port",
	"l7_protocol", "l7_protocol_str", "version", "type",
	"request_type", "request_domain", "request_resource", "endpoint", "request_id",
	"response_status", "response_code", "response_exception", "response_duration",
	"request_length", "response_length", "trace_id", "span_id",
}

// longSQL is longer than a Record's text buffer: it is stored truncated.
var longSQL = "SELECT *\nFROM \"orders\" o\n\tJOIN customers c ON c.id = o.cust -- it's\r\nWHERE " +
	strings.Repeat("o.note = 'quoted \\' value' OR ", 20) + "1"

// setLog fills the protocol-specific fields of l the way that protocol's
// dissector would, with the awkward bytes real payloads carry: quotes,
// backslashes, newlines, NUL and bytes that are not UTF-8.
func setLog(l *dissectors.Log, id uint64) {
	set := func(f *dissectors.Text, s string) { l.SetString(f, s) }
	code := func(c int32, s dissectors.Status) { l.HasCode, l.Code, l.Status = true, c, s }
	protos := []dissectors.Protocol{dissectors.ProtoHTTP1, dissectors.ProtoHTTP2, dissectors.ProtoGRPC,
		dissectors.ProtoDNS, dissectors.ProtoMySQL, dissectors.ProtoPostgreSQL, dissectors.ProtoRedis,
		dissectors.ProtoKafka, dissectors.ProtoMongoDB}
	l.Protocol = protos[id%uint64(len(protos))]
	switch l.Protocol {
	case dissectors.ProtoHTTP1:
		set(&l.Version, "1.1")
		set(&l.RequestType, "GET")
		set(&l.RequestDomain, `shop."example".com`)
		set(&l.RequestResource, fmt.Sprintf(`/a/b/c?q="x%d"&y='1'\`, id))
		set(&l.Endpoint, "/a/b")
		code([]int32{200, 404, 503}[id%3], []dissectors.Status{0, 4, 3}[id%3])
		set(&l.TraceID, "4bf92f3577b34da6a3ce929d0e0e4736")
		set(&l.SpanID, "00f067aa0ba902b7")
	case dissectors.ProtoHTTP2:
		set(&l.Version, "2")
		set(&l.RequestType, "POST")
		set(&l.RequestDomain, "api.example.com:8443")
		set(&l.RequestResource, "/v1/items\n/injected")
		set(&l.Endpoint, "/v1/items")
		l.HasKey, l.Key = true, 2*id+1 // stream id
		code(201, 0)
	case dissectors.ProtoGRPC:
		set(&l.Version, "2")
		set(&l.RequestType, "POST")
		set(&l.RequestDomain, "svc:7070")
		set(&l.RequestResource, "pkg.Service")
		set(&l.Endpoint, "/pkg.Service/Method")
		l.HasKey, l.Key = true, 1
		code(14, 3)
		set(&l.Exception, "unavailable: connection refused")
	case dissectors.ProtoDNS:
		set(&l.RequestType, "AAAA")
		name := "h\xff\xfeost-" + fmt.Sprint(id) + ".example."
		set(&l.RequestDomain, name)
		set(&l.RequestResource, name)
		set(&l.Endpoint, name)
		l.HasKey, l.Key = true, id%2 // DNS id 0 is a key like any other
		code(3, 4)
		set(&l.Exception, "NXDOMAIN")
	case dissectors.ProtoMySQL:
		set(&l.Version, "8.0.36\x00")
		set(&l.RequestType, "COM_QUERY")
		set(&l.Endpoint, "SELECT orders")
		set(&l.RequestResource, longSQL) // truncated to what is left of the buffer
		code(1064, 3)
		set(&l.Exception, "You have an error in your SQL syntax near '\"' at line 1\n")
	case dissectors.ProtoPostgreSQL:
		set(&l.RequestType, "simple query")
		set(&l.RequestResource, "SELECT 1;\r\n\tSELECT 'é' -- \xc3\x28")
	case dissectors.ProtoRedis:
		set(&l.RequestType, "LRANGE")
		set(&l.RequestResource, "LRANGE mylist 0 299")
		code(0, 3)
		set(&l.Exception, "-ERR wrong\x00type\r\n")
	case dissectors.ProtoKafka:
		set(&l.Version, "9")
		set(&l.RequestType, "Produce")
		set(&l.RequestDomain, "orders")
		set(&l.RequestResource, "orders-0:42")
		set(&l.Endpoint, "orders-0")
		l.HasKey, l.Key = true, 0 // correlation id 0: the first request of a connection
		code(-1, 3)
	case dissectors.ProtoMongoDB:
		set(&l.RequestType, "OP_MSG")
		set(&l.RequestResource, `{"find": "c", "filter": {"a": "\"b\""}}`)
		l.HasKey, l.Key = true, 1<<63|id
		code(0, 0)
	}
}

// testLogs returns n logs with flow ids from firstID, cycling through the
// protocols of setLog, the three log types, and IPv4, IPv6 and
// IPv4-mapped IPv6 addresses. All end within one hour.
func testLogs(n int, firstID uint64) []dissectors.Log {
	logs := make([]dissectors.Log, n)
	for i := range logs {
		id := firstID + uint64(i)
		l := &logs[i]
		l.FlowID = id
		l.Type = dissectors.LogType(id % 3)
		l.StartTime = testBase.UnixMicro() + int64(id%1000)*1000 + int64(id%7)
		l.EndTime = l.StartTime + 1500 + int64(id%13)
		if l.Type == dissectors.LogSession {
			l.RRT = uint32(l.EndTime - l.StartTime)
		}
		l.ReqLen, l.RespLen = 100+uint32(id), 2000+uint32(id)
		l.TapType, l.TapPort, l.VLAN, l.Proto = 3, uint32(id%5), uint16(id%4096), 6
		switch id % 3 {
		case 0:
			l.ClientIP = netip.AddrFrom4([4]byte{10, byte(id >> 16), byte(id >> 8), byte(id)})
			l.ServerIP = netip.MustParseAddr("192.0.2.80")
		case 1:
			l.ClientIP = netip.MustParseAddr("2001:db8::1")
			l.ServerIP = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(id >> 8), 15: byte(id)})
		case 2:
			l.ClientIP = netip.MustParseAddr("::ffff:172.16.0.9")
			l.ServerIP = netip.MustParseAddr("::ffff:172.16.0.10")
		}
		l.ClientPort, l.ServerPort = uint16(40000+id%20000), uint16(80+id%9)
		l.Kind, l.Len = dissectors.Request, l.ReqLen
		setLog(l, id)
	}
	return logs
}

// l7View is a Log with its texts as strings, comparable with require.Equal
// (a Log's text buffer layout depends on the order fields were set in).
type l7View struct {
	FlowID                               uint64
	Type                                 dissectors.LogType
	StartTime, EndTime                   int64
	RRT, ReqLen, RespLen                 uint32
	TapType                              uint8
	TapPort                              uint32
	VLAN                                 uint16
	Proto                                uint8
	ClientIP, ServerIP                   netip.Addr
	ClientPort, ServerPort               uint16
	Kind                                 dissectors.Kind
	Protocol                             dissectors.Protocol
	HasKey                               bool
	Key                                  uint64
	HasCode                              bool
	Code                                 int32
	Status                               dissectors.Status
	Len                                  uint32
	Version, RequestType, RequestDomain  string
	RequestResource, Endpoint, Exception string
	TraceID, SpanID                      string
	textBytes                            int // all texts together
}

func viewOf(l *dissectors.Log) l7View {
	v := l7View{FlowID: l.FlowID, Type: l.Type, StartTime: l.StartTime, EndTime: l.EndTime, RRT: l.RRT,
		ReqLen: l.ReqLen, RespLen: l.RespLen, TapType: l.TapType, TapPort: l.TapPort, VLAN: l.VLAN, Proto: l.Proto,
		ClientIP: l.ClientIP, ServerIP: l.ServerIP, ClientPort: l.ClientPort, ServerPort: l.ServerPort,
		Kind: l.Kind, Protocol: l.Protocol, HasKey: l.HasKey, Key: l.Key, HasCode: l.HasCode, Code: l.Code,
		Status: l.Status, Len: l.Len,
		Version: l.String(l.Version), RequestType: l.String(l.RequestType), RequestDomain: l.String(l.RequestDomain),
		RequestResource: l.String(l.RequestResource), Endpoint: l.String(l.Endpoint), Exception: l.String(l.Exception),
		TraceID: l.String(l.TraceID), SpanID: l.String(l.SpanID)}
	for _, f := range l7Texts(l) {
		v.textBytes += f.Len()
	}
	return v
}

func viewsOf(logs []dissectors.Log) []l7View {
	out := make([]l7View, len(logs))
	for i := range logs {
		out[i] = viewOf(&logs[i])
	}
	return out
}

func TestL7SpoolEncoding(t *testing.T) {
	logs := testLogs(40, 1)
	logs[0] = dissectors.Log{}                                 // zero times, invalid addresses, no text
	logs[1].ClientIP = netip.MustParseAddr("fe80::1%eth0")     // zones are not kept
	logs[2].StartTime, logs[2].EndTime = -5, 1<<62             // out of any column's range: the spool keeps them
	logs[3].Code, logs[3].HasCode, logs[3].Key = -7, false, 99 // values behind a false flag are kept too
	full := slices.IndexFunc(logs, func(l dissectors.Log) bool { return l.Protocol == dissectors.ProtoMySQL })
	require.Equal(t, dissectors.TextCap, viewOf(&logs[full]).textBytes, "the MySQL log fills the text buffer")

	c := &l7Cols{}
	b := encodeSegment(c, logs)
	got, err := decodeSegment(c, b)
	require.NoError(t, err)
	want := viewsOf(logs)
	want[1].ClientIP = want[1].ClientIP.WithZone("")
	require.Equal(t, want, viewsOf(got))

	// Records vary in size: empty texts take 2 bytes each.
	require.Len(t, c.encode(nil, &logs[0]), l7SpoolMinSize)
	require.Equal(t, spoolHeaderSize+len(logs)*4+4+len(logs)*l7SpoolMinSize+textTotal(logs), len(b))

	// A batch of none is a valid segment.
	got, err = decodeSegment(c, encodeSegment(c, []dissectors.Log{}))
	require.NoError(t, err)
	require.Empty(t, got)

	// Damage is detected, whether or not the CRC is recomputed.
	rec := spoolHeaderSize + 4 // the first record
	tests := []struct {
		name   string
		mangle func([]byte) []byte
		fixCRC bool
	}{
		{"flipped bit", func(b []byte) []byte { b[100] ^= 1; return b }, false},
		{"truncated", func(b []byte) []byte { return b[:len(b)-10] }, false},
		{"bad magic", func(b []byte) []byte { b[0] = 'X'; return b }, false},
		{"unknown version", func(b []byte) []byte { b[8] = 9; return b }, true},
		{"count too high", func(b []byte) []byte { b[12]++; return b }, true},
		{"count too low", func(b []byte) []byte { b[12]--; return b }, true},
		{"record size past the end", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[rec-4:], 1<<20); return b }, true},
		{"record too short", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[rec-4:], 10); return b }, true},
		{"unknown flag", func(b []byte) []byte { b[rec+l7SpoolFixedSize-18] |= 0x80; return b }, true},
		{"text past its record", func(b []byte) []byte { b[rec+l7SpoolFixedSize] = 0xff; return b }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.mangle(encodeSegment(c, logs))
			if tc.fixCRC {
				b = withCRC(b[:len(b)-4])
			}
			_, err := decodeSegment(c, b)
			require.ErrorIs(t, err, ErrCorruptSegment)
		})
	}

	// More than dissectors.TextCap bytes of text is not a record encode can
	// write: refused rather than silently truncated.
	big := encodeSegment(c, logs[:1])
	body := big[spoolHeaderSize+4 : len(big)-4]
	var over []byte
	over = append(over, big[:spoolHeaderSize]...)
	r := append([]byte(nil), body[:l7SpoolFixedSize]...)
	for i := range l7NumTexts {
		n := 0
		if i < 2 {
			n = dissectors.TextCap/2 + 1
		}
		r = binary.LittleEndian.AppendUint16(r, uint16(n))
		r = append(r, make([]byte, n)...)
	}
	over = binary.LittleEndian.AppendUint32(over, uint32(len(r)))
	over = append(over, r...)
	_, err = decodeSegment(c, withCRC(over))
	require.ErrorIs(t, err, ErrCorruptSegment)

	// Segments of other row types are not L7 segments, and the reverse.
	_, err = decodeSegment(c, encodeSegment(&l4Cols{}, testRecords(2, 1)))
	require.ErrorIs(t, err, ErrCorruptSegment)
	_, err = decodeSegment(&l4Cols{}, b)
	require.ErrorIs(t, err, ErrCorruptSegment)
}

func textTotal(logs []dissectors.Log) int {
	n := 0
	for i := range logs {
		n += viewOf(&logs[i]).textBytes
	}
	return n
}

// withCRC appends the CRC of a segment's header and records.
func withCRC(b []byte) []byte {
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
}

// l7Row is one l7_flow_log row as read back, every column.
type l7Row struct {
	Time, StartTime, EndTime      time.Time
	StartUS, EndUS, FlowID        uint64
	TapType                       uint8
	TapPort                       uint32
	VLAN                          uint16
	Proto, IsIPv4                 uint8
	ClientIP4                     uint32
	ClientIP6                     string // hex
	ServerIP4                     uint32
	ServerIP6                     string
	ClientPort, ServerPort        uint16
	L7Protocol                    uint8
	L7ProtocolStr, Version        string
	Type                          uint8
	RequestType, RequestDomain    string
	RequestResource, Endpoint     string
	RequestID                     *uint64
	ResponseStatus                uint8
	ResponseCode                  *int32
	ResponseException             string
	ResponseDuration              uint64
	RequestLength, ResponseLength uint32
	TraceID, SpanID               string
}

// l7Select reads every column of l7Row, the addresses as numbers and hex
// whatever their type (UInt32/FixedString(16) or IPv4/IPv6).
const l7Select = `SELECT time, start_time, end_time, start_time_us, end_time_us, flow_id,
       tap_type, tap_port, vlan, proto, is_ipv4,
       toUInt32(client_ip4), hex(IPv6StringToNum(IPv6NumToString(client_ip6))),
       toUInt32(server_ip4), hex(IPv6StringToNum(IPv6NumToString(server_ip6))),
       client_port, server_port, l7_protocol, l7_protocol_str, version, type,
       request_type, request_domain, request_resource, endpoint, request_id,
       response_status, response_code, response_exception, response_duration,
       request_length, response_length, trace_id, span_id
FROM %s ORDER BY flow_id, start_time_us, request_resource`

func readL7(t testing.TB, db *DB, table string) []l7Row {
	t.Helper()
	rows, err := db.conn.Query(testCtx(t), fmt.Sprintf(l7Select, table))
	require.NoError(t, err)
	defer rows.Close()
	var out []l7Row
	for rows.Next() {
		var r l7Row
		require.NoError(t, rows.Scan(&r.Time, &r.StartTime, &r.EndTime, &r.StartUS, &r.EndUS, &r.FlowID,
			&r.TapType, &r.TapPort, &r.VLAN, &r.Proto, &r.IsIPv4,
			&r.ClientIP4, &r.ClientIP6, &r.ServerIP4, &r.ServerIP6,
			&r.ClientPort, &r.ServerPort, &r.L7Protocol, &r.L7ProtocolStr, &r.Version, &r.Type,
			&r.RequestType, &r.RequestDomain, &r.RequestResource, &r.Endpoint, &r.RequestID,
			&r.ResponseStatus, &r.ResponseCode, &r.ResponseException, &r.ResponseDuration,
			&r.RequestLength, &r.ResponseLength, &r.TraceID, &r.SpanID))
		r.Time, r.StartTime, r.EndTime = r.Time.UTC(), r.StartTime.UTC(), r.EndTime.UTC()
		out = append(out, r)
	}
	require.NoError(t, rows.Err())
	return out
}

// wantL7Row is the row l should become, written out from the column
// definitions rather than with the writer's helpers.
func wantL7Row(l *dissectors.Log, f features) l7Row {
	at := func(us int64) time.Time {
		t := time.UnixMicro(us).UTC()
		if !f.dateTime64 {
			t = t.Truncate(time.Second)
		}
		return t
	}
	hex16 := func(a netip.Addr) string {
		var b [16]byte
		if a = a.Unmap(); a.Is6() {
			b = a.As16()
		}
		return strings.ToUpper(hex.EncodeToString(b[:]))
	}
	num4 := func(a netip.Addr) uint32 {
		if a = a.Unmap(); a.Is4() {
			return binary.BigEndian.Uint32(a.AsSlice())
		}
		return 0
	}
	end := l.EndTime
	if end < l.StartTime { // no end: the row is filed under its start
		end = l.StartTime
	}
	r := l7Row{
		Time: time.UnixMicro(end).UTC().Truncate(time.Second), StartTime: at(l.StartTime), EndTime: at(l.EndTime),
		StartUS: uint64(l.StartTime), EndUS: uint64(l.EndTime), FlowID: l.FlowID,
		TapType: l.TapType, TapPort: l.TapPort, VLAN: l.VLAN, Proto: l.Proto,
		IsIPv4:    b2u8(l.ClientIP.Unmap().Is4() || l.ServerIP.Unmap().Is4()),
		ClientIP4: num4(l.ClientIP), ClientIP6: hex16(l.ClientIP), ServerIP4: num4(l.ServerIP), ServerIP6: hex16(l.ServerIP),
		ClientPort: l.ClientPort, ServerPort: l.ServerPort,
		L7Protocol: uint8(l.Protocol), L7ProtocolStr: l.Protocol.String(), Version: l.String(l.Version),
		Type: uint8(l.Type), RequestType: l.String(l.RequestType), RequestDomain: l.String(l.RequestDomain),
		RequestResource: l.String(l.RequestResource), Endpoint: l.String(l.Endpoint),
		ResponseStatus: uint8(l.Status), ResponseException: l.String(l.Exception), ResponseDuration: uint64(l.RRT),
		RequestLength: l.ReqLen, ResponseLength: l.RespLen, TraceID: l.String(l.TraceID), SpanID: l.String(l.SpanID),
	}
	if l.HasKey {
		r.RequestID = &l.Key
	}
	if l.HasCode {
		r.ResponseCode = &l.Code
	}
	return r
}

func wantL7Rows(logs []dissectors.Log, f features) []l7Row {
	out := make([]l7Row, len(logs))
	for i := range logs {
		out[i] = wantL7Row(&logs[i], f)
	}
	slices.SortStableFunc(out, func(a, b l7Row) int { // as l7Select's ORDER BY
		return cmp.Or(cmp.Compare(a.FlowID, b.FlowID), cmp.Compare(a.StartUS, b.StartUS),
			strings.Compare(a.RequestResource, b.RequestResource))
	})
	return out
}

func TestL7WriterRoundTrip(t *testing.T) {
	db := openTest(t, Config{})
	reg := prometheus.NewRegistry()
	w, err := NewL7Writer(db, WriterConfig{BatchSize: 100, QueueSize: 1000, FlushInterval: 50 * time.Millisecond}, reg, nil)
	require.NoError(t, err)

	const n = 450
	logs := testLogs(n, 1)
	logs[4].EndTime = 0 // a response seen without its request: no end time
	logs[4].Type = dissectors.LogResponse
	buf := make([]dissectors.Log, 0, 50)
	for i := 0; i < n; i += 50 { // the caller reuses its slice after Write
		buf = append(buf[:0], logs[i:i+50]...)
		w.Write(buf)
		for j := range buf {
			buf[j].Reset()
			buf[j].FlowID = 1 << 40
		}
	}
	require.NoError(t, w.Close(testCtx(t)))
	w.Write(logs[:1]) // after Close: dropped, counted

	table := db.Database(FlowLogDB) + ".l7_flow_log"
	got := readL7(t, db, table)
	want := wantL7Rows(logs, db.feat)
	require.Len(t, got, len(want))
	for i := range want {
		require.Equal(t, want[i], got[i], "row %d", i)
	}

	// Spot checks of what the comparison above relies on.
	byID := map[uint64]l7Row{}
	for _, r := range got {
		byID[r.FlowID] = r
	}
	require.Equal(t, logs[4].StartTime/1e6, byID[5].Time.Unix(), "no end time: filed under the start")
	require.Equal(t, uint64(0), byID[5].EndUS)
	kafka := slices.IndexFunc(logs, func(l dissectors.Log) bool { return l.Protocol == dissectors.ProtoKafka })
	require.NotNil(t, byID[logs[kafka].FlowID].RequestID, "request_id 0 is not NULL")
	require.Equal(t, uint64(0), *byID[logs[kafka].FlowID].RequestID)
	require.Equal(t, int32(-1), *byID[logs[kafka].FlowID].ResponseCode)
	pg := slices.IndexFunc(logs, func(l dissectors.Log) bool { return l.Protocol == dissectors.ProtoPostgreSQL })
	require.Nil(t, byID[logs[pg].FlowID].ResponseCode, "no code: NULL")
	require.Nil(t, byID[logs[pg].FlowID].RequestID)
	require.Contains(t, byID[logs[pg].FlowID].RequestResource, "\xc3\x28", "bytes that are not UTF-8 are kept")
	mysql := slices.IndexFunc(logs, func(l dissectors.Log) bool { return l.Protocol == dissectors.ProtoMySQL })
	res := byID[logs[mysql].FlowID].RequestResource
	require.True(t, strings.HasPrefix(longSQL, res) && len(res) < len(longSQL) && len(res) > 300, "truncated SQL: %d bytes", len(res))
	if !db.feat.dateTime64 {
		require.Equal(t, got[1].StartTime, time.Unix(int64(got[1].StartUS/1e6), 0).UTC(), "18.16: start_time in whole seconds, µs in start_time_us")
	}

	tbl := []string{"table", L7FlowLog}
	require.Equal(t, float64(n), metric(t, reg, "tapflow_storage_rows_written_total", tbl...))
	require.GreaterOrEqual(t, metric(t, reg, "tapflow_storage_batches_written_total", tbl...), 5.0)
	require.Equal(t, 0.0, metric(t, reg, "tapflow_storage_insert_errors_total", tbl...))
	require.Equal(t, 0.0, metric(t, reg, "tapflow_storage_dropped_rows_total", append(tbl, "reason", dropQueueFull)...))
	require.Equal(t, 1.0, metric(t, reg, "tapflow_storage_dropped_rows_total", append(tbl, "reason", dropClosed)...))

	// Queries read the Distributed table; the console's kind of query works.
	res2, err := db.Query(testCtx(t), db.Database(FlowLogDB),
		"SELECT l7_protocol_str, count() AS n, countIf(response_code IS NULL) FROM l7_flow_log GROUP BY l7_protocol_str ORDER BY l7_protocol_str", QueryOptions{})
	require.NoError(t, err)
	require.Len(t, res2.Rows, 9)
	require.Equal(t, []any{"DNS", uint64(n / 9), uint64(0)}, res2.Rows[0])
}

// The l4 and l7 writers and the metrics writers run side by side on one
// registry, and the L7 writer keeps its spool apart even when given the l4
// writer's SpoolDir.
func TestL7WriterBesideOthers(t *testing.T) {
	db := openTest(t, Config{})
	reg := prometheus.NewRegistry()
	spoolDir := t.TempDir()
	cfg := WriterConfig{SpoolDir: spoolDir}
	w4, err := NewWriter(db, cfg, reg, nil)
	require.NoError(t, err)
	w7, err := NewL7Writer(db, cfg, reg, nil)
	require.NoError(t, err)
	mw, err := NewMetricsWriter(db, WriterConfig{SpoolDir: filepath.Join(spoolDir, "flow_metrics")}, reg, nil)
	require.NoError(t, err)
	w4.Write(testRecords(10, 1))
	w7.Write(testLogs(20, 1))
	require.NoError(t, w4.Close(testCtx(t)))
	require.NoError(t, w7.Close(testCtx(t)))
	require.NoError(t, mw.Close(testCtx(t)))
	require.Equal(t, 10.0, metric(t, reg, "tapflow_storage_rows_written_total", "table", L4FlowLog))
	require.Equal(t, 20.0, metric(t, reg, "tapflow_storage_rows_written_total", "table", L7FlowLog))
	require.DirExists(t, filepath.Join(spoolDir, L7FlowLog))

	// A second L7 writer on the same registry is refused.
	w2, err := NewL7Writer(db, WriterConfig{}, reg, nil)
	require.Error(t, err)
	require.Nil(t, w2)
}

// requireL7ExactlyOnce checks that every log is in the table exactly once,
// every column as written.
func requireL7ExactlyOnce(t testing.TB, db *DB, table string, logs []dissectors.Log) {
	t.Helper()
	require.Equal(t, wantL7Rows(logs, db.feat), readL7(t, db, table))
}

// With ClickHouse down, batches go to the spool; when it is back they are
// replayed by themselves, in order, each row written once.
func TestL7WriterSpoolReplay(t *testing.T) {
	r := downServer(t, "l7spool_", "l7_flow_log_local")
	db, srv, cfg, reg, dir, local, spoolDir := r.db, r.srv, r.cfg, r.reg, r.dir, r.local, r.cfg.SpoolDir
	w, err := NewL7Writer(db, cfg, reg, nil)
	require.NoError(t, err)
	logs := testLogs(600, 1)
	for b := range 5 {
		w.Write(logs[b*100 : (b+1)*100])
		require.NoError(t, w.Flush(testCtx(t)))
	}
	l := []string{"table", L7FlowLog}
	require.Equal(t, 500.0, metric(t, reg, "tapflow_storage_spooled_rows_total", l...))
	require.GreaterOrEqual(t, metric(t, reg, "tapflow_storage_insert_errors_total", l...), 1.0)
	require.Equal(t, 0.0, metric(t, reg, "tapflow_storage_rows_written_total", l...))
	// One segment per batch (.inflight for a moment while a replay is tried).
	segs := segments(t, filepath.Join(spoolDir, L7FlowLog))
	require.Equal(t, 5, segs[extSeg]+segs[extInflight], "%v", segs)

	srv2, err := chserver.Start(testCtx(t), chserver.Options{DataDir: dir, TCPPort: srv.TCPPort()})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv2.Stop()) })
	require.NoError(t, db.Exec(testCtx(t), "SYSTEM STOP MERGES "+local)) // not kept across restarts
	require.Eventually(t, func() bool {
		return metric(t, reg, "tapflow_storage_rows_written_total", l...) == 500 &&
			metric(t, reg, "tapflow_storage_spool_bytes", l...) == 0
	}, 30*time.Second, 20*time.Millisecond)
	require.Empty(t, segments(t, filepath.Join(spoolDir, L7FlowLog)))

	// Rows written after the outage go straight in, behind the old ones.
	w.Write(logs[500:])
	require.NoError(t, w.Close(testCtx(t)))
	require.Equal(t, 600.0, metric(t, reg, "tapflow_storage_rows_written_total", l...))
	require.Equal(t, 500.0, metric(t, reg, "tapflow_storage_spooled_rows_total", l...))
	requireL7ExactlyOnce(t, db, local, logs)
	parts := partsInOrder(t, db, local)
	for i := 1; i < len(parts); i++ {
		require.Less(t, parts[i-1][1], parts[i][0], "parts in block order hold increasing flow ids: %v", parts)
	}
}

// An .inflight segment is a batch whose INSERT may have happened: only the
// logs not yet in the table are inserted on replay. Pipelined requests of
// one flow share flow_id, times, type and (no) request_id, and differ only
// in their texts: they are told apart.
func TestL7WriterUnfinishedBatches(t *testing.T) {
	db := openTest(t, Config{})
	local := db.Database(FlowLogDB) + ".l7_flow_log_local"

	b1, b2 := testLogs(30, 1), testLogs(30, 31)
	// Three pipelined Redis commands in one segment, answered in one.
	redis := slices.IndexFunc(b2, func(l dissectors.Log) bool { return l.Protocol == dissectors.ProtoRedis })
	require.Less(t, redis, 10)
	for i, cmd := range []string{"GET a", "GET b"} {
		p := &b2[20+i]
		*p = b2[redis]
		p.Reset()
		p.Protocol = dissectors.ProtoRedis
		p.SetString(&p.RequestType, "GET")
		p.SetString(&p.RequestResource, cmd)
	}
	b2[22] = b2[21] // and the same command twice: two rows
	b2[22].FlowID = b2[21].FlowID

	w, err := NewL7Writer(db, WriterConfig{}, nil, nil)
	require.NoError(t, err)
	w.Write(b1)
	require.NoError(t, w.Flush(testCtx(t)))
	w.Write(b2[:10])                  // incl. the first Redis command of the flow
	w.Write([]dissectors.Log{b2[21]}) // and one of the two identical ones
	require.NoError(t, w.Close(testCtx(t)))
	require.Equal(t, uint64(41), queryUint(t, db, "SELECT count() FROM "+local))

	spoolDir := t.TempDir()
	sp, err := openSpool(filepath.Join(spoolDir, L7FlowLog))
	require.NoError(t, err)
	for _, b := range [][]dissectors.Log{b1, b2} {
		require.NoError(t, sp.append(encodeSegment(&l7Cols{}, b), len(b), true))
	}
	reg := prometheus.NewRegistry()
	w2, err := NewL7Writer(db, WriterConfig{SpoolDir: spoolDir, FlushInterval: 20 * time.Millisecond}, reg, nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(segments(t, sp.dir)) == 0 }, 30*time.Second, 20*time.Millisecond)
	require.NoError(t, w2.Close(testCtx(t)))

	requireL7ExactlyOnce(t, db, local, append(b1, b2...))
	require.Equal(t, 60.0, metric(t, reg, "tapflow_storage_rows_written_total", "table", L7FlowLog))
	require.Equal(t, 1.0, metric(t, reg, "tapflow_storage_batches_written_total", "table", L7FlowLog), "batch 1 needed no insert")
}

// A spool that cannot be replayed (a segment of another row type) is set
// aside and counted; the L7 writer does not touch the l4 writer's segments.
func TestL7WriterForeignSegment(t *testing.T) {
	db := openTest(t, Config{})
	spoolDir := t.TempDir()
	sp, err := openSpool(filepath.Join(spoolDir, L7FlowLog))
	require.NoError(t, err)
	require.NoError(t, sp.append(encodeSegment(&l4Cols{}, testRecords(5, 1)), 5, false))
	require.NoError(t, sp.append(encodeSegment(&l7Cols{}, testLogs(7, 1)), 7, false))
	l4seg := filepath.Join(spoolDir, "00000000000000000001.seg")
	require.NoError(t, os.WriteFile(l4seg, encodeSegment(&l4Cols{}, testRecords(3, 1)), 0o640))

	reg := prometheus.NewRegistry()
	w, err := NewL7Writer(db, WriterConfig{SpoolDir: spoolDir, FlushInterval: 20 * time.Millisecond}, reg, nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return metric(t, reg, "tapflow_storage_rows_written_total", "table", L7FlowLog) == 7
	}, 30*time.Second, 20*time.Millisecond)
	require.NoError(t, w.Close(context.Background()))
	require.Equal(t, 5.0, metric(t, reg, "tapflow_storage_dropped_rows_total", "table", L7FlowLog, "reason", dropBadSegment))
	require.Equal(t, map[string]int{extBad: 1}, segments(t, sp.dir))
	require.FileExists(t, l4seg)
}

// Retention on 18.16 (DropOldPartitions) covers l7_flow_log.
func TestL7DropOldPartitions(t *testing.T) {
	db := openTest(t, Config{})
	w, err := NewL7Writer(db, WriterConfig{}, nil, nil)
	require.NoError(t, err)
	old := testLogs(20, 1)
	for i := range old { // two hours, two days ago
		old[i].EndTime = time.Now().Add(-48*time.Hour - time.Duration(i%2)*time.Hour).UnixMicro()
		old[i].StartTime = old[i].EndTime - 1000
	}
	w.Write(old)
	w.Write(testLogs(5, 100))
	require.NoError(t, w.Close(testCtx(t)))
	dropped, err := db.DropOldPartitions(testCtx(t), time.Now().Add(-24*time.Hour))
	require.NoError(t, err)
	require.Len(t, dropped, 2)
	for _, p := range dropped {
		require.Equal(t, "l7_flow_log_local", p.Table)
	}
	require.Equal(t, uint64(5), queryUint(t, db, "SELECT count() FROM "+db.Database(FlowLogDB)+".l7_flow_log"))
}
