package mongodb

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

// BSON builders (https://bsonspec.org/spec.html).

func le32(b []byte, v int32) []byte { return binary.LittleEndian.AppendUint32(b, uint32(v)) }
func le64(b []byte, v int64) []byte { return binary.LittleEndian.AppendUint64(b, uint64(v)) }

// doc builds a document from elements.
func doc(elems ...[]byte) []byte {
	n := 5
	for _, e := range elems {
		n += len(e)
	}
	b := le32(nil, int32(n))
	for _, e := range elems {
		b = append(b, e...)
	}
	return append(b, 0)
}

func el(t byte, k string, v []byte) []byte {
	b := append([]byte{t}, k...)
	return append(append(b, 0), v...)
}

func bstr(k, v string) []byte {
	return el(tString, k, append(append(le32(nil, int32(len(v)+1)), v...), 0))
}
func bi32(k string, v int32) []byte { return el(tInt32, k, le32(nil, v)) }
func bi64(k string, v int64) []byte { return el(tInt64, k, le64(nil, v)) }
func bdbl(k string, v float64) []byte {
	return el(tDouble, k, le64(nil, int64(math.Float64bits(v))))
}
func bbool(k string, v bool) []byte {
	if v {
		return el(tBool, k, []byte{1})
	}
	return el(tBool, k, []byte{0})
}
func bnull(k string) []byte          { return el(tNull, k, nil) }
func bdoc(k string, d []byte) []byte { return el(tDocument, k, d) }
func barr(k string, d []byte) []byte { return el(tArray, k, d) }
func boid(k string) []byte {
	return el(tObjectID, k, []byte{0x65, 0x5f, 0x1d, 0x2a, 0, 1, 2, 3, 4, 5, 0xab, 0xcd})
}
func bbin(k string) []byte {
	return el(tBinary, k, append(le32(nil, 16), append([]byte{4}, make([]byte, 16)...)...))
}
func bdate(k string) []byte { return el(tDateTime, k, le64(nil, 1700000000000)) }

// Wire protocol message builders.

func message(reqID, respTo, op int32, body []byte) []byte {
	b := le32(nil, int32(headerLen+len(body)))
	b = le32(b, reqID)
	b = le32(b, respTo)
	b = le32(b, op)
	return append(b, body...)
}

func opMsgBody(flags uint32, d []byte) []byte {
	return append(append(binary.LittleEndian.AppendUint32(nil, flags), 0), d...)
}

func opMsgReq(reqID int32, d []byte) []byte { return message(reqID, 0, opMsg, opMsgBody(0, d)) }
func opMsgReply(reqID, respTo int32, d []byte) []byte {
	return message(reqID, respTo, opMsg, opMsgBody(0, d))
}

func queryMsg(reqID int32, ns string, d []byte) []byte {
	b := le32(nil, 4) // secondaryOk
	b = append(append(b, ns...), 0)
	b = le32(le32(b, 0), -1)
	return message(reqID, 0, opQuery, append(b, d...))
}

func replyMsg(reqID, respTo int32, flags int32, docs ...[]byte) []byte {
	b := le32(nil, flags)
	b = le64(b, 0)
	b = le32(b, 0)
	b = le32(b, int32(len(docs)))
	for _, d := range docs {
		b = append(b, d...)
	}
	return message(reqID, respTo, opReply, b)
}

var (
	findCmd = doc(bstr("find", "users"), bdoc("filter", doc(bdoc("age", doc(bi32("$gt", 21))))),
		bi32("limit", 2), bstr("$db", "shop"))
	insertSeq = func() []byte { // OP_MSG insert: kind 0 command, kind 1 documents
		cmd := doc(bstr("insert", "users"), bbool("ordered", true), bstr("$db", "shop"))
		d1 := doc(bi32("_id", 1), bstr("name", "ann"))
		seq := le32(nil, int32(4+len("documents")+1+len(d1)))
		seq = append(append(append(seq, "documents"...), 0), d1...)
		body := append(binary.LittleEndian.AppendUint32(nil, 0), 0)
		body = append(body, cmd...)
		body = append(append(body, 1), seq...)
		return message(11, 0, opMsg, body)
	}()
	okReply      = doc(bdbl("ok", 1))
	cursorReply  = doc(bdoc("cursor", doc(barr("firstBatch", doc(bdoc("0", doc(bi32("_id", 2), bstr("name", "user2"))))), bi64("id", 0), bstr("ns", "shop.users"))), bdbl("ok", 1))
	notFoundCmd  = doc(bdbl("ok", 0), bstr("errmsg", "no such command: 'frobnicate'"), bi32("code", 59), bstr("codeName", "CommandNotFound"))
	dupKeyReply  = doc(bi32("n", 0), barr("writeErrors", doc(bdoc("0", doc(bi32("index", 0), bi32("code", 11000), bstr("errmsg", "E11000 duplicate key error"))))), bdbl("ok", 1))
	shutdown     = doc(bdbl("ok", 0), bstr("errmsg", "interrupted at shutdown"), bi32("code", 11600), bstr("codeName", "InterruptedAtShutdown"))
	wcError      = doc(bi32("n", 1), bdoc("writeConcernError", doc(bi32("code", 64), bstr("errmsg", "waiting for replication timed out"))), bdbl("ok", 1))
	okZeroNoCode = doc(bdbl("ok", 0), bstr("errmsg", "something failed"))
)

// expect checks the records of the table tests: MongoDB's, each keyed by
// its requestID (a reply by responseTo).
var expect = dtest.Records{Protocol: dissectors.ProtoMongoDB, Keyed: true}

func meta(toServer bool, payload []byte) *dissectors.Meta {
	return &dissectors.Meta{Proto: 6, ClientPort: 51822, ServerPort: 27017, ToServer: toServer, PayloadLen: uint32(len(payload))}
}

func TestParseRequests(t *testing.T) {
	allTypes := doc(bstr("s", `q"uo\te`+"\n"), bi32("i", -7), bi64("l", 1<<40), bdbl("d", 2.5), bdbl("n", -0.125),
		bbool("t", true), bbool("f", false), bnull("z"), boid("_id"), bbin("b"), bdate("at"),
		barr("a", doc(bi32("0", 1), bstr("1", "x"), bdoc("2", doc()))), el(tMinKey, "min", nil), el(tTimestamp, "ts", make([]byte, 8)),
		el(tRegex, "re", []byte("^a\x00i\x00")), el(tDecimal128, "dec", make([]byte, 16)))
	deep := doc(bi32("x", 1))
	for i := 0; i < 10; i++ {
		deep = doc(bdoc("d", deep))
	}
	long := doc(bstr("insert", strings.Repeat("a", 600)))
	compressed := message(30, 0, opCompressed, append(le32(le32(nil, opMsg), 40), append([]byte{2}, "zlib-bytes"...)...))
	noop := message(31, 0, opCompressed, append(le32(le32(nil, opMsg), int32(5+len(findCmd))), append([]byte{0}, opMsgBody(0, findCmd)...)...))
	getMore := message(40, 0, opGetMore, le64(le32(append(le32(nil, 0), "shop.users\x00"...), 2), 871066945))
	insert := message(41, 0, opInsert, append(append(le32(nil, 0), "shop.users\x00"...), doc(bi32("_id", 1))...))
	kill := message(42, 0, opKillCursors, le64(le32(le32(nil, 0), 1), 871066945))
	for _, tc := range []struct {
		name    string
		payload []byte
		want    []dtest.Want
	}{
		{"OP_MSG find", opMsgReq(7, findCmd),
			[]dtest.Want{{Kind: dissectors.Request, Key: 7, Len: uint32(len(opMsgReq(7, findCmd))), Type: "OP_MSG",
				Resource: `{"find":"users","filter":{"age":{"$gt":21}},"limit":2,"$db":"shop"}`}}},
		{"OP_MSG every BSON type", opMsgReq(8, allTypes),
			[]dtest.Want{{Kind: dissectors.Request, Key: 8, Type: "OP_MSG",
				Resource: `{"s":"q\"uo\\te\u000a","i":-7,"l":1099511627776,"d":2.5,"n":-0.125,"t":true,"f":false,"z":null,` +
					`"_id":"655f1d2a000102030405abcd","b":Binary,"at":Date,"a":[1,"x",{}],"min":MinKey,"ts":Timestamp,"re":Regex,"dec":Decimal128}`}}},
		{"OP_MSG insert with a document sequence", insertSeq,
			[]dtest.Want{{Kind: dissectors.Request, Key: 11, Type: "OP_MSG", Resource: `{"insert":"users","ordered":true,"$db":"shop"}`}}},
		{"OP_MSG moreToCome is a session", message(12, 0, opMsg, opMsgBody(msgMoreToCome, findCmd)),
			[]dtest.Want{{Kind: dissectors.Session, Key: 12, Type: "OP_MSG", Resource: `{"find":"users","filter":{"age":{"$gt":21}},"limit":2,"$db":"shop"}`}}},
		{"OP_MSG nesting deeper than the limit", opMsgReq(13, deep),
			[]dtest.Want{{Kind: dissectors.Request, Key: 13, Type: "OP_MSG",
				Resource: strings.Repeat(`{"d":`, maxDepth) + `{...}` + strings.Repeat("}", maxDepth)}}},
		{"OP_MSG truncated by the record buffer", opMsgReq(14, long),
			[]dtest.Want{{Kind: dissectors.Request, Key: 14, Type: "OP_MSG", Resource: (`{"insert":"` + strings.Repeat("a", 600))[:dissectors.TextCap-len("OP_MSG")]}}},
		{"OP_MSG first segment", opMsgReq(15, findCmd)[:40],
			[]dtest.Want{{Kind: dissectors.Request, Key: 15, Type: "OP_MSG", Resource: `{"find":"users`}}},
		{"OP_QUERY isMaster", queryMsg(16, "admin.$cmd", doc(bi32("isMaster", 1))),
			[]dtest.Want{{Kind: dissectors.Request, Key: 16, Type: "OP_QUERY", Resource: `{"isMaster":1}`}}},
		{"OP_QUERY with responseTo -1", message(17, -1, opQuery, queryMsg(17, "InactiveUserIdentity.$cmd", doc(bi32("getnonce", 1)))[headerLen:]),
			[]dtest.Want{{Kind: dissectors.Request, Key: 17, Type: "OP_QUERY", Resource: `{"getnonce":1}`}}},
		{"OP_COMPRESSED zlib", compressed, []dtest.Want{{Kind: dissectors.Request, Key: 30, Type: "OP_COMPRESSED"}}},
		{"OP_COMPRESSED noop", noop, []dtest.Want{{Kind: dissectors.Request, Key: 31, Type: "OP_COMPRESSED",
			Resource: `{"find":"users","filter":{"age":{"$gt":21}},"limit":2,"$db":"shop"}`}}},
		{"OP_GET_MORE", getMore, []dtest.Want{{Kind: dissectors.Request, Key: 40, Type: "OP_GET_MORE", Resource: "shop.users"}}},
		{"OP_INSERT", insert, []dtest.Want{{Kind: dissectors.Session, Key: 41, Type: "OP_INSERT", Resource: "shop.users"}}},
		{"OP_KILL_CURSORS", kill, []dtest.Want{{Kind: dissectors.Session, Key: 42, Type: "OP_KILL_CURSORS"}}},
		{"two messages", append(opMsgReq(50, okReply), queryMsg(51, "a.$cmd", doc(bi32("ping", 1)))...),
			[]dtest.Want{{Kind: dissectors.Request, Key: 50, Type: "OP_MSG", Resource: `{"ok":1}`},
				{Kind: dissectors.Request, Key: 51, Type: "OP_QUERY", Resource: `{"ping":1}`}}},
		{"a message then a header split by the segment", append(opMsgReq(52, okReply), opMsgReq(53, okReply)[:9]...),
			[]dtest.Want{{Kind: dissectors.Request, Key: 52, Type: "OP_MSG", Resource: `{"ok":1}`}}},
		{"continuation: documents", cursorReply[10:], nil},
		{"a message then garbage", append(opMsgReq(54, okReply), []byte("not a mongodb header at all")...), nil},
		{"an OP_REPLY sent by the client", replyMsg(1, 2, 0, okReply), nil},
		{"responseTo set on a request", message(55, 9, opMsg, opMsgBody(0, okReply)), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect.Require(t, dtest.Parse(t, New(), tc.payload, meta(true, tc.payload), nil), tc.want)
		})
	}
}

func TestParseResponses(t *testing.T) {
	big := opMsgReply(70, 7, cursorReply)
	for _, tc := range []struct {
		name    string
		payload []byte
		want    []dtest.Want
	}{
		{"OP_MSG ok", opMsgReply(1, 7, okReply),
			[]dtest.Want{{Kind: dissectors.Response, Key: 7, Len: 38, Type: "OP_MSG", HasCode: true}}},
		{"OP_MSG cursor", big,
			[]dtest.Want{{Kind: dissectors.Response, Key: 7, Type: "OP_MSG", HasCode: true}}},
		{"OP_MSG cut before ok", big[:60],
			[]dtest.Want{{Kind: dissectors.Response, Key: 7, Len: uint32(len(big)), Type: "OP_MSG", HasCode: true}}},
		{"OP_MSG CommandNotFound", opMsgReply(2, 8, notFoundCmd),
			[]dtest.Want{{Kind: dissectors.Response, Key: 8, Type: "OP_MSG", HasCode: true, Code: 59, Status: dissectors.StatusClientError,
				Exception: "no such command: 'frobnicate'"}}},
		{"OP_MSG duplicate key in writeErrors", opMsgReply(3, 9, dupKeyReply),
			[]dtest.Want{{Kind: dissectors.Response, Key: 9, Type: "OP_MSG", HasCode: true, Code: 11000, Status: dissectors.StatusClientError,
				Exception: "E11000 duplicate key error"}}},
		{"OP_MSG InterruptedAtShutdown", opMsgReply(4, 10, shutdown),
			[]dtest.Want{{Kind: dissectors.Response, Key: 10, Type: "OP_MSG", HasCode: true, Code: 11600, Status: dissectors.StatusServerError,
				Exception: "interrupted at shutdown"}}},
		{"OP_MSG writeConcernError", opMsgReply(5, 11, wcError),
			[]dtest.Want{{Kind: dissectors.Response, Key: 11, Type: "OP_MSG", HasCode: true, Code: 64, Status: dissectors.StatusServerError,
				Exception: "waiting for replication timed out"}}},
		{"OP_MSG ok:0 without a code", opMsgReply(6, 12, okZeroNoCode),
			[]dtest.Want{{Kind: dissectors.Response, Key: 12, Type: "OP_MSG", HasCode: true, Status: dissectors.StatusServerError,
				Exception: "something failed"}}},
		{"OP_MSG ok:true", opMsgReply(6, 13, doc(bbool("ok", true))),
			[]dtest.Want{{Kind: dissectors.Response, Key: 13, Type: "OP_MSG", HasCode: true}}},
		{"OP_MSG ok as int64 and code as double", opMsgReply(6, 14, doc(bi64("ok", 0), bdbl("code", 13), bstr("errmsg", "not authorized"))),
			[]dtest.Want{{Kind: dissectors.Response, Key: 14, Type: "OP_MSG", HasCode: true, Code: 13, Status: dissectors.StatusClientError,
				Exception: "not authorized"}}},
		{"OP_REPLY ismaster", replyMsg(20, 1804289383, 8, doc(bbool("ismaster", true), bi32("maxWireVersion", 13), bdbl("ok", 1))),
			[]dtest.Want{{Kind: dissectors.Response, Key: 1804289383, Type: "OP_REPLY", HasCode: true}}},
		{"OP_REPLY QueryFailure $err", replyMsg(21, 2, 2, doc(bstr("$err", "bad query"), bi32("code", 2))),
			[]dtest.Want{{Kind: dissectors.Response, Key: 2, Type: "OP_REPLY", HasCode: true, Code: 2, Status: dissectors.StatusClientError,
				Exception: "bad query"}}},
		{"OP_REPLY without documents", replyMsg(22, 3, 0),
			[]dtest.Want{{Kind: dissectors.Response, Key: 3, Type: "OP_REPLY"}}},
		{"OP_COMPRESSED reply", message(23, 4, opCompressed, append(le32(le32(nil, opMsg), 40), append([]byte{1}, "snappy"...)...)),
			[]dtest.Want{{Kind: dissectors.Response, Key: 4, Type: "OP_COMPRESSED"}}},
		{"two replies", append(opMsgReply(24, 5, okReply), opMsgReply(25, 6, notFoundCmd)...),
			[]dtest.Want{{Kind: dissectors.Response, Key: 5, Type: "OP_MSG", HasCode: true},
				{Kind: dissectors.Response, Key: 6, Type: "OP_MSG", HasCode: true, Code: 59, Status: dissectors.StatusClientError,
					Exception: "no such command: 'frobnicate'"}}},
		{"continuation: documents", cursorReply[20:], nil},
		{"a request opcode from the server", queryMsg(1, "a.$cmd", okReply), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect.Require(t, dtest.Parse(t, New(), tc.payload, meta(false, tc.payload), nil), tc.want)
		})
	}
}

func TestParseShort(t *testing.T) {
	p := opMsgReq(1, findCmd)[:10]
	m := meta(true, p)
	m.PayloadLen = 90
	dtest.Parse(t, New(), p, m, dissectors.ErrShort)
	// The same bytes without a capture cut are a header split by TCP.
	require.Empty(t, dtest.Parse(t, New(), p, meta(true, p), nil))
}

func TestCheck(t *testing.T) {
	d := New()
	for _, tc := range []struct {
		name     string
		payload  []byte
		toServer bool
		want     bool
	}{
		{"OP_MSG request", opMsgReq(7, findCmd), true, true},
		{"OP_MSG first segment", opMsgReq(7, findCmd)[:30], true, true},
		{"OP_QUERY request", queryMsg(16, "admin.$cmd", doc(bi32("isMaster", 1))), true, true},
		{"OP_MSG reply", opMsgReply(1, 7, okReply), false, true},
		{"OP_REPLY", replyMsg(20, 1, 8, okReply), false, true},
		{"OP_REPLY from the client", replyMsg(20, 1, 8, okReply), true, false},
		{"OP_MSG with unknown flag bits", message(1, 0, opMsg, opMsgBody(1<<5, okReply)), true, false},
		{"OP_MSG with a section kind 7", message(1, 0, opMsg, append(binary.LittleEndian.AppendUint32(nil, 0), append([]byte{7}, okReply...)...)), true, false},
		{"OP_MSG document longer than the message", message(1, 0, opMsg, opMsgBody(0, le32(nil, 500))), true, false},
		{"OP_QUERY without a namespace dot", queryMsg(16, "admincmd", okReply), true, false},
		{"unknown opcode", message(1, 0, 2010, okReply), true, false},
		{"HTTP", []byte("GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n"), true, false},
		{"Kafka ApiVersions", []byte("\x00\x00\x00\x15\x00\x12\x00\x00\x00\x00\x00\x81\x00\x07rdkafka"), true, false},
		{"short", []byte{1, 2, 3}, true, false},
		{"UDP", opMsgReq(7, findCmd), true, false},
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

// TestNotClaimed runs captures of other binary protocols, among them those
// that once passed for Kafka: no record may come out.
func TestNotClaimed(t *testing.T) {
	dtest.NotClaimed(t, New(), "ndpi", "afp.pcap", "fastcgi.pcap", "http2.pcapng", "capwap.pcap", "kafka.pcapng", "mysql.pcapng")
	dtest.NotClaimed(t, New(), "tcpdump", "of13_ericsson.pcapng")
}

// TestFalsePositive runs nDPI's mongo_false_positive.pcapng (a TLS flow on
// 443 whose bytes once passed for MongoDB): no packet may be claimed.
func TestFalsePositive(t *testing.T) {
	pkts := dtest.Read(t, dtest.Shared(t, "ndpi", "mongo_false_positive.pcapng"))
	require.NotEmpty(t, pkts)
	d := New()
	for i := range pkts {
		require.False(t, d.Check(pkts[i].Payload, &pkts[i].Meta), "packet %d claimed", i)
	}
	out, errs := dtest.Run(d, pkts)
	require.Empty(t, out)
	require.Zero(t, errs)
}

func TestGolden(t *testing.T) {
	dtest.Goldens(t, New(), []dtest.Capture{
		{Name: "ndpi_mongodb", Corpus: "ndpi", File: "mongodb.pcap"},
		{Name: "ferretdb", File: "ferretdb.pcap"},
	})
}
