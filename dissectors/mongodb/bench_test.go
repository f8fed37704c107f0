package mongodb

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func BenchmarkParse(b *testing.B) {
	big := opMsgReply(70, 7, cursorReply)
	dtest.BenchCases(b, New(), *meta(false, nil), []dtest.Case{
		{Name: "msg=op-msg-find", Payload: opMsgReq(7, findCmd), ToServer: true},
		{Name: "msg=op-msg-insert-sequence", Payload: insertSeq, ToServer: true},
		{Name: "msg=op-query-ismaster", Payload: queryMsg(16, "admin.$cmd", doc(bi32("isMaster", 1))), ToServer: true},
		{Name: "msg=op-msg-reply-ok", Payload: opMsgReply(1, 7, okReply)},
		{Name: "msg=op-msg-reply-cursor", Payload: big},
		{Name: "msg=op-msg-reply-error", Payload: opMsgReply(2, 8, notFoundCmd)},
		{Name: "msg=op-msg-reply-first-segment", Payload: big[:60]},
		{Name: "msg=continuation", Payload: cursorReply[20:]},
	})
}

func TestNoAllocs(t *testing.T) {
	pkts := dtest.Read(t, "testdata/ferretdb.pcap")
	pkts = append(pkts, dtest.Read(t, dtest.Shared(t, "ndpi", "mongodb.pcap"))...)
	for _, p := range [][]byte{
		opMsgReq(8, doc(bstr("s", "q\"\\\n"), bdbl("d", 2.5), boid("o"), bi64("l", -1), bbool("t", true), bnull("z"),
			barr("a", doc(bi32("0", 1))), bbin("b"))),
		insertSeq, opMsgReply(2, 8, notFoundCmd), opMsgReply(3, 9, dupKeyReply), opMsgReply(5, 11, wcError),
	} {
		pkts = append(pkts, dtest.Packet{Payload: p, Meta: *meta(true, p)}, dtest.Packet{Payload: p, Meta: *meta(false, p)})
	}
	dtest.NoAllocs(t, New(), pkts)
}
