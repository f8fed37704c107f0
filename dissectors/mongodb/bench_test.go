package mongodb

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func BenchmarkParse(b *testing.B) {
	big := opMsgReply(70, 7, cursorReply)
	for _, bc := range []struct {
		name     string
		payload  []byte
		toServer bool
	}{
		{"msg=op-msg-find", opMsgReq(7, findCmd), true},
		{"msg=op-msg-insert-sequence", insertSeq, true},
		{"msg=op-query-ismaster", queryMsg(16, "admin.$cmd", doc(bi32("isMaster", 1))), true},
		{"msg=op-msg-reply-ok", opMsgReply(1, 7, okReply), false},
		{"msg=op-msg-reply-cursor", big, false},
		{"msg=op-msg-reply-error", opMsgReply(2, 8, notFoundCmd), false},
		{"msg=op-msg-reply-first-segment", big[:60], false},
		{"msg=continuation", cursorReply[20:], false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d := New()
			m := meta(bc.toServer, bc.payload)
			dst := make([]dissectors.Record, 0, 8)
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.payload)))
			for b.Loop() {
				d.Check(bc.payload, m)
				dst, _ = d.Parse(dst[:0], bc.payload, m)
			}
		})
	}
}

func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
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
