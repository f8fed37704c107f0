package kafka

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

// wb builds Kafka wire bytes (https://kafka.apache.org/protocol#protocol_types).
type wb []byte

func (b wb) i8(v int8) wb   { return append(b, byte(v)) }
func (b wb) i16(v int16) wb { return binary.BigEndian.AppendUint16(b, uint16(v)) }
func (b wb) i32(v int32) wb { return binary.BigEndian.AppendUint32(b, uint32(v)) }
func (b wb) i64(v int64) wb { return binary.BigEndian.AppendUint64(b, uint64(v)) }
func (b wb) uv(v uint32) wb { return binary.AppendUvarint(b, uint64(v)) }
func (b wb) raw(p []byte) wb {
	return append(b, p...)
}

// str is a classic STRING, cstr a COMPACT_STRING.
func (b wb) str(s string) wb  { return b.i16(int16(len(s))).raw([]byte(s)) }
func (b wb) cstr(s string) wb { return b.uv(uint32(len(s) + 1)).raw([]byte(s)) }

// tags is an empty TAGGED_FIELDS section.
func (b wb) tags() wb { return append(b, 0) }

// frame prepends the size field.
func frame(msg wb) []byte {
	return append(wb(nil).i32(int32(len(msg))), msg...)
}

// request frames a request with a v1 header (flex: v2, with tagged fields).
func request(key, ver int16, corr int32, client string, flex bool, body wb) []byte {
	h := wb(nil).i16(key).i16(ver).i32(corr).str(client)
	if flex {
		h = h.tags()
	}
	return frame(h.raw(body))
}

// response frames a response with a v0 header (flex: v1, with tagged fields).
func response(corr int32, flex bool, body wb) []byte {
	h := wb(nil).i32(corr)
	if flex {
		h = h.tags()
	}
	return frame(h.raw(body))
}

var records = []byte(strings.Repeat("\x00\x00\x00\x00\x00\x00\x00\x00rec", 4))

// produceV3 is a librdkafka-style Produce v3 request for orders-2.
func produceV3(corr int32, acks int16) []byte {
	body := wb(nil).i16(-1).i16(acks).i32(5000).
		i32(1).str("orders").i32(1).i32(2).i32(int32(len(records))).raw(records)
	return request(0, 3, corr, "rdkafka", false, body)
}

// produceV9 is a flexible Produce v9 request for orders-0.
func produceV9(corr int32) []byte {
	body := wb(nil).uv(0).i16(-1).i32(1500).
		uv(2).cstr("orders").uv(2).i32(0).uv(uint32(len(records) + 1)).raw(records).tags().tags().tags()
	return request(0, 9, corr, "console-producer", true, body)
}

// fetchV11 is a classic Fetch v11 request for orders-1 at offset 42.
func fetchV11(corr int32) []byte {
	body := wb(nil).i32(-1).i32(500).i32(1).i32(52428800).i8(0).i32(0).i32(-1).
		i32(1).str("orders").i32(1).i32(1).i32(-1).i64(42).i64(-1).i32(1048576).
		i32(0).str("")
	return request(1, 11, corr, "rdkafka", false, body)
}

// fetchV12 is a flexible Fetch v12 request for orders-0 at offset 7.
func fetchV12(corr int32) []byte {
	body := wb(nil).i32(-1).i32(500).i32(1).i32(52428800).i8(1).i32(0).i32(0).
		uv(2).cstr("orders").uv(2).i32(0).i32(5).i64(7).i32(-1).i64(-1).i32(1048576).tags().tags().
		uv(1).cstr("").tags()
	return request(1, 12, corr, "tapflow", true, body)
}

// produceRespV8 answers a Produce v8 with error 10 and a message.
func produceRespV8(corr int32) []byte {
	body := wb(nil).i32(1).str("orders").i32(1).
		i32(0).i16(10).i64(-1).i64(-1).i64(-1).i32(0).str("The message is too large.").
		i32(0)
	return response(corr, false, body)
}

// produceRespV9 answers a Produce v9 with base offset 42 on orders-0.
func produceRespV9(corr int32) []byte {
	body := wb(nil).uv(2).cstr("orders").uv(2).
		i32(0).i16(0).i64(42).i64(-1).i64(0).uv(1).uv(0).tags().tags().
		i32(0).tags()
	return response(corr, true, body)
}

// fetchRespV11 answers a Fetch v11 with OFFSET_OUT_OF_RANGE on orders-1.
func fetchRespV11(corr int32) []byte {
	body := wb(nil).i32(0).i16(0).i32(12345).
		i32(1).str("orders").i32(1).
		i32(1).i16(1).i64(-1).i64(-1).i64(-1).i32(-1).i32(-1).i32(0)
	return response(corr, false, body)
}

// fetchRespV12 answers a Fetch v12 with records on orders-0.
func fetchRespV12(corr int32) []byte {
	body := wb(nil).i32(0).i16(0).i32(777).
		uv(2).cstr("orders").uv(2).
		i32(0).i16(0).i64(10).i64(10).i64(0).uv(0).i32(-1).uv(uint32(len(records) + 1)).raw(records).tags().
		tags().tags()
	return response(corr, true, body)
}

// apiVersionsResp answers ApiVersions v0 (classic) with three keys.
func apiVersionsResp(corr int32) []byte {
	body := wb(nil).i16(0).i32(3).i16(0).i16(0).i16(9).i16(1).i16(0).i16(12).i16(18).i16(0).i16(3)
	return response(corr, false, body)
}

// apiVersionsRespV3 answers ApiVersions v3 (flexible body, v0 header).
func apiVersionsRespV3(corr int32, code int16) []byte {
	body := wb(nil).i16(code).uv(3).i16(0).i16(0).i16(11).tags().i16(1).i16(0).i16(17).tags().i32(0).tags()
	return response(corr, false, body)
}

// expect checks the records of the table tests: Kafka's, each keyed by
// its correlation_id.
var expect = dtest.Records{Protocol: dissectors.ProtoKafka, Keyed: true}

func meta(toServer bool, payload []byte) *dissectors.Meta {
	return &dissectors.Meta{Proto: 6, ClientPort: 40000, ServerPort: 36333, ToServer: toServer, PayloadLen: uint32(len(payload))}
}

func TestParseRequests(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload []byte
		want    []dtest.Want
	}{
		{"ApiVersions v0", request(18, 0, 7, "rdkafka", false, nil),
			[]dtest.Want{{Kind: dissectors.Request, Key: 7, Len: 21, Version: "0", Type: "ApiVersions"}}},
		{"ApiVersions v3 flexible, null client_id", frame(wb(nil).i16(18).i16(3).i32(1).i16(-1).tags().cstr("kgo").cstr("1.0").tags()),
			[]dtest.Want{{Kind: dissectors.Request, Key: 1, Version: "3", Type: "ApiVersions"}}},
		{"Metadata v12", request(3, 12, 5, "console-producer", true, wb(nil).uv(1).i8(0).i8(0).tags()),
			[]dtest.Want{{Kind: dissectors.Request, Key: 5, Version: "12", Type: "Metadata"}}},
		{"Produce v3", produceV3(2, 1),
			[]dtest.Want{{Kind: dissectors.Request, Key: 2, Len: uint32(len(produceV3(2, 1))), Version: "3", Type: "Produce",
				Domain: "orders", Endpoint: "orders-2"}}},
		{"Produce v3 acks=0 is a session", produceV3(3, 0),
			[]dtest.Want{{Kind: dissectors.Session, Key: 3, Version: "3", Type: "Produce", Domain: "orders", Endpoint: "orders-2"}}},
		{"Produce v9 flexible", produceV9(6),
			[]dtest.Want{{Kind: dissectors.Request, Key: 6, Version: "9", Type: "Produce", Domain: "orders", Endpoint: "orders-0"}}},
		{"Produce v13 by topic id", request(0, 13, 8, "kgo", true, wb(nil).uv(0).i16(-1).i32(1500).
			uv(2).raw(make([]byte, 16)).uv(2).i32(0).uv(1).tags().tags().tags()),
			[]dtest.Want{{Kind: dissectors.Request, Key: 8, Version: "13", Type: "Produce"}}},
		{"Produce v2 without transactional_id", request(0, 2, 4, "old", false, wb(nil).i16(1).i32(100).i32(1).str("t.x_y-z").i32(1).i32(3).i32(0)),
			[]dtest.Want{{Kind: dissectors.Request, Key: 4, Version: "2", Type: "Produce", Domain: "t.x_y-z", Endpoint: "t.x_y-z-3"}}},
		{"Fetch v11", fetchV11(9),
			[]dtest.Want{{Kind: dissectors.Request, Key: 9, Version: "11", Type: "Fetch", Domain: "orders", Endpoint: "orders-1", Resource: "orders-1:42"}}},
		{"Fetch v12 flexible", fetchV12(10),
			[]dtest.Want{{Kind: dissectors.Request, Key: 10, Version: "12", Type: "Fetch", Domain: "orders", Endpoint: "orders-0", Resource: "orders-0:7"}}},
		{"Fetch v4", request(1, 4, 11, "c", false, wb(nil).i32(-1).i32(100).i32(1).i32(1000).i8(0).
			i32(1).str("logs").i32(1).i32(5).i64(123456789).i32(1000)),
			[]dtest.Want{{Kind: dissectors.Request, Key: 11, Version: "4", Type: "Fetch", Domain: "logs", Endpoint: "logs-5", Resource: "logs-5:123456789"}}},
		{"Fetch v12 incremental without topics", request(1, 12, 12, "c", true, wb(nil).i32(-1).i32(500).i32(1).i32(1).i8(0).i32(99).i32(3).
			uv(1).uv(1).uv(1).tags()),
			[]dtest.Want{{Kind: dissectors.Request, Key: 12, Version: "12", Type: "Fetch"}}},
		{"Fetch v15 without replica_id, by topic id", request(1, 15, 13, "c", true, wb(nil).i32(500).i32(1).i32(1).i8(0).i32(0).i32(-1).
			uv(2).raw(make([]byte, 16)).uv(2).i32(0).i32(0).i64(5).i32(-1).i64(-1).i32(100).tags().tags().uv(1).uv(1).tags()),
			[]dtest.Want{{Kind: dissectors.Request, Key: 13, Version: "15", Type: "Fetch"}}},
		{"Fetch with a bad topic name keeps the header fields", request(1, 4, 14, "c", false, wb(nil).i32(-1).i32(100).i32(1).i32(1000).i8(0).
			i32(1).str("bad topic").i32(1).i32(5).i64(1).i32(1000)),
			[]dtest.Want{{Kind: dissectors.Request, Key: 14, Version: "4", Type: "Fetch"}}},
		{"Fetch cut before its partition", fetchV11(15)[:60],
			[]dtest.Want{{Kind: dissectors.Request, Key: 15, Version: "11", Type: "Fetch"}}},
		{"pipelined: Heartbeat and Fetch", append(request(12, 4, 20, "c", true, wb(nil).cstr("g").i32(1).cstr("m").uv(0).tags()), fetchV11(21)...),
			[]dtest.Want{{Kind: dissectors.Request, Key: 20, Version: "4", Type: "Heartbeat"},
				{Kind: dissectors.Request, Key: 21, Version: "11", Type: "Fetch", Domain: "orders", Endpoint: "orders-1", Resource: "orders-1:42"}}},
		{"a message then a header split by the segment", append(produceV9(30), produceV9(31)[:10]...),
			[]dtest.Want{{Kind: dissectors.Request, Key: 30, Version: "9", Type: "Produce", Domain: "orders", Endpoint: "orders-0"}}},
		{"first segment of a large Produce", produceV9(40)[:30],
			[]dtest.Want{{Kind: dissectors.Request, Key: 40, Version: "9", Type: "Produce"}}},
		{"continuation: record bytes", []byte("\x8a\x01\x00\x00\x18Hello world!\x00\x00\x00\x00\x01\x02"), nil},
		{"continuation: text", []byte(`{"timestamp":"1681878307","received":"1681878307"}`), nil},
		{"a message then garbage", append(produceV9(50), []byte("\xff\xff\xff\xff garbage that is no header")...), nil},
		{"split header (no capture cut)", []byte{0, 0, 0, 40, 0}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect.Require(t, dtest.Parse(t, New(), tc.payload, meta(true, tc.payload), nil), tc.want)
		})
	}
}

func TestParseResponses(t *testing.T) {
	big := fetchRespV12(60)
	for _, tc := range []struct {
		name    string
		payload []byte
		want    []dtest.Want
	}{
		{"ApiVersions v0", apiVersionsResp(7),
			[]dtest.Want{{Kind: dissectors.Response, Key: 7, Len: uint32(len(apiVersionsResp(7))), HasCode: true}}},
		{"ApiVersions v3", apiVersionsRespV3(1, 0),
			[]dtest.Want{{Kind: dissectors.Response, Key: 1, HasCode: true}}},
		{"ApiVersions v3 UNSUPPORTED_VERSION", apiVersionsRespV3(1, 35),
			[]dtest.Want{{Kind: dissectors.Response, Key: 1, HasCode: true, Code: 35, Status: dissectors.StatusServerError}}},
		{"Produce v8 MESSAGE_TOO_LARGE", produceRespV8(3),
			[]dtest.Want{{Kind: dissectors.Response, Key: 3, HasCode: true, Code: 10, Status: dissectors.StatusServerError,
				Resource: "orders-0:-1", Exception: "The message is too large."}}},
		{"Produce v9 ok", produceRespV9(6),
			[]dtest.Want{{Kind: dissectors.Response, Key: 6, HasCode: true, Resource: "orders-0:42"}}},
		{"Produce v3 ok", response(2, false, wb(nil).i32(1).str("LB_MAIN_LOG_INPUT").i32(1).i32(0).i16(0).i64(11222049).i64(-1).i32(0)),
			[]dtest.Want{{Kind: dissectors.Response, Key: 2, HasCode: true, Resource: "LB_MAIN_LOG_INPUT-0:11222049"}}},
		{"Produce v5 NOT_LEADER on the second partition", response(4, false, wb(nil).i32(1).str("orders").i32(2).
			i32(0).i16(0).i64(5).i64(-1).i64(0).
			i32(1).i16(6).i64(-1).i64(-1).i64(-1).i32(0)),
			[]dtest.Want{{Kind: dissectors.Response, Key: 4, HasCode: true, Code: 6, Status: dissectors.StatusServerError, Resource: "orders-0:5"}}},
		{"Fetch v11 OFFSET_OUT_OF_RANGE", fetchRespV11(9),
			[]dtest.Want{{Kind: dissectors.Response, Key: 9, HasCode: true, Code: 1, Status: dissectors.StatusServerError}}},
		{"Fetch v12 with records", big,
			[]dtest.Want{{Kind: dissectors.Response, Key: 60, HasCode: true}}},
		{"Fetch v12 first segment", big[:70],
			[]dtest.Want{{Kind: dissectors.Response, Key: 60, Len: uint32(len(big)), HasCode: true}}},
		{"Fetch v12 session error", response(61, true, wb(nil).i32(0).i16(70).i32(0).uv(1).tags()),
			[]dtest.Want{{Kind: dissectors.Response, Key: 61, HasCode: true, Code: 70, Status: dissectors.StatusServerError}}},
		{"Fetch v7 empty incremental", response(62, false, wb(nil).i32(0).i16(0).i32(55).i32(0)),
			[]dtest.Want{{Kind: dissectors.Response, Key: 62, HasCode: true}}},
		{"Heartbeat v0: shape unknown, no code", response(5, false, wb(nil).i16(27)),
			[]dtest.Want{{Kind: dissectors.Response, Key: 5, Len: 10}}},
		{"Metadata: shape unknown, no code", response(8, false, wb(nil).i32(1).i32(1001).str("172.30.0.237").i32(9092).i16(-1).str("Q5NN").i32(1001).i32(0)),
			[]dtest.Want{{Kind: dissectors.Response, Key: 8}}},
		{"pipelined: Produce and Fetch", append(produceRespV9(70), fetchRespV11(71)...),
			[]dtest.Want{{Kind: dissectors.Response, Key: 70, HasCode: true, Resource: "orders-0:42"},
				{Kind: dissectors.Response, Key: 71, HasCode: true, Code: 1, Status: dissectors.StatusServerError}}},
		{"Heartbeat v0 UNKNOWN_SERVER_ERROR: shape unknown", response(5, false, wb(nil).i16(-1)),
			[]dtest.Want{{Kind: dissectors.Response, Key: 5, Len: 10}}},
		{"a body starting with neither 0x00 nor 0xff", response(5, false, wb(nil).i16(0x4142).raw([]byte("CDEFGH"))), nil},
		{"continuation: record bytes", records[8:], nil},
		{"continuation: text", []byte(`"message":"Apr 19 06:25:07 rsyslogd: [origin software="rsyslogd"]"`), nil},
		{"a small message then garbage", append([]byte{0, 0, 0, 6, 0, 0, 0, 1, 0, 0}, []byte("\x9c\xff\x00\x01\x02\x03\x04\x05\x06")...), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect.Require(t, dtest.Parse(t, New(), tc.payload, meta(false, tc.payload), nil), tc.want)
		})
	}
}

func TestParseErrors(t *testing.T) {
	d := New()
	// The capture cut the header: ErrShort.
	p := produceV9(1)[:9]
	m := meta(true, p)
	m.PayloadLen = 200
	dtest.Parse(t, d, p, m, dissectors.ErrShort)
	p = produceRespV9(1)[:5]
	m = meta(false, p)
	m.PayloadLen = 60
	dtest.Parse(t, d, p, m, dissectors.ErrShort)
	// A plausible header whose client_id has control bytes: ErrMalformed.
	p = request(3, 1, 2, "bad\x01id", false, nil)
	dtest.Parse(t, d, p, meta(true, p), dissectors.ErrMalformed)
	// client_id longer than the message.
	p = frame(wb(nil).i16(3).i16(1).i32(2).i16(100).raw([]byte("abc")))
	dtest.Parse(t, d, p, meta(true, p), dissectors.ErrMalformed)
}

func TestCheck(t *testing.T) {
	d := New()
	for _, tc := range []struct {
		name     string
		payload  []byte
		toServer bool
		want     bool
	}{
		{"ApiVersions request", request(18, 0, 1, "rdkafka", false, nil), true, true},
		{"Produce v9 request", produceV9(6), true, true},
		{"first segment of a Produce", produceV9(6)[:60], true, true},
		{"Produce cut before its topic", produceV9(6)[:40], true, false},
		{"Produce with a bad topic name", request(0, 3, 1, "c", false, wb(nil).i16(-1).i16(1).i32(100).i32(1).str("a b").i32(1).i32(0).i32(0)), true, false},
		{"Fetch v12 without topics", request(1, 12, 12, "c", true, wb(nil).i32(-1).i32(500).i32(1).i32(1).i8(0).i32(99).i32(3).uv(1).uv(1).uv(1).tags()), true, true},
		{"empty client_id", request(3, 1, 2, "", false, nil), true, false},
		{"null client_id", frame(wb(nil).i16(3).i16(1).i32(2).i16(-1)), true, false},
		{"UDP", request(18, 0, 1, "rdkafka", false, nil), true, false},
		{"two requests", append(fetchV11(1), fetchV12(2)...), true, true},
		{"a request then garbage", append(fetchV11(1), []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")...), true, false},
		{"unknown api_key", request(400, 0, 1, "c", false, nil), true, false},
		{"api_version 21", request(3, 21, 1, "c", false, nil), true, false},
		{"negative correlation_id", request(3, 1, -5, "c", false, nil), true, false},
		{"size below the header", []byte{0, 0, 0, 4, 0, 3, 0, 1, 0, 0, 0, 1, 0, 0}, true, false},
		{"HTTP", []byte("GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n"), true, false},
		{"TLS ClientHello", []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x00\x00\x00\x00\x00"), true, false},
		{"MongoDB OP_QUERY", []byte("\x3b\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xd4\x07\x00\x00\x00\x00\x00\x00abtest.$cmd\x00"), true, false},
		{"ApiVersions response", apiVersionsResp(1), false, true},
		{"ApiVersions v3 response", apiVersionsRespV3(1, 0), false, true},
		{"Produce v9 response", produceRespV9(1), false, true},
		{"Fetch v12 response, first segment", fetchRespV12(1)[:70], false, true},
		{"Heartbeat response: too little to tell", response(5, false, wb(nil).i16(0)), false, false},
		{"a request sent by the server", produceV9(6), false, false},
		{"HTTP response", []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), false, false},
		{"HTTP/2 SETTINGS (nDPI http2.pcapng)", []byte("\x00\x00\x18\x04\x00\x00\x00\x00\x00\x00\x05\x00\x10\x00\x00\x00\x03\x00\x00\x00\xfa\x00\x06\x00\x10\x01\x40\x00\x04\x00\x10\x00\x00"), false, false},
		{"short", []byte{0, 0}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := meta(tc.toServer, tc.payload)
			if tc.name == "UDP" {
				m.Proto = 17
			}
			require.Equal(t, tc.want, d.Check(tc.payload, m))
		})
	}
}

func TestRecordsAppendAfterDst(t *testing.T) {
	pre := make([]dissectors.Record, 1, 1)
	pre[0].SetString(&pre[0].RequestType, "keep")
	out, err := New().Parse(pre, produceV9(1), meta(true, produceV9(1)))
	require.NoError(t, err)
	require.Len(t, out, 2)
	require.Equal(t, "keep", out[0].String(out[0].RequestType))
	require.Equal(t, "Produce", out[1].String(out[1].RequestType))
}

// TestAPINames spot-checks the api_key table against the Kafka protocol
// guide's names.
func TestAPINames(t *testing.T) {
	for k, name := range map[int16]string{0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 8: "OffsetCommit",
		9: "OffsetFetch", 10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat", 13: "LeaveGroup", 14: "SyncGroup",
		15: "DescribeGroups", 16: "ListGroups", 17: "SaslHandshake", 18: "ApiVersions", 19: "CreateTopics",
		20: "DeleteTopics", 22: "InitProducerId", 36: "SaslAuthenticate", 60: "DescribeCluster", 68: "ConsumerGroupHeartbeat",
		71: "GetTelemetrySubscriptions", 72: "PushTelemetry", 92: "DeleteShareGroupOffsets", 93: "", -1: ""} {
		require.Equal(t, name, apiName(k), "api_key %d", k)
	}
	for k := range apiNames {
		require.NotEmpty(t, apiNames[k], "api_key %d", k)
	}
}

// TestNotClaimed runs captures of other protocols whose bytes once passed
// for Kafka (AFP's DSI header, FastCGI, OpenFlow 1.3, an HTTP/2 SETTINGS
// frame, and UDP ones) and MongoDB: no record may come out.
func TestNotClaimed(t *testing.T) {
	dtest.NotClaimed(t, New(), "ndpi", "afp.pcap", "fastcgi.pcap", "http2.pcapng",
		"capwap.pcap", "cnp_ip.pcapng", "ethersbus.pcap", "mongodb.pcap")
	dtest.NotClaimed(t, New(), "tcpdump", "of13_ericsson.pcapng")
}

func TestGolden(t *testing.T) {
	dtest.Goldens(t, New(), []dtest.Capture{
		{Name: "ndpi_kafka", Corpus: "ndpi", File: "kafka.pcapng"},
		{Name: "kfake", File: "kfake.pcap"},
	})
}
