package mongodb

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func FuzzParse(f *testing.F) {
	dtest.Fuzz(f, New(), 6, [][]byte{
		opMsgReq(7, findCmd), insertSeq, queryMsg(16, "admin.$cmd", doc(bi32("isMaster", 1))),
		opMsgReply(1, 7, okReply), opMsgReply(1, 7, cursorReply), opMsgReply(2, 8, notFoundCmd),
		opMsgReply(3, 9, dupKeyReply), opMsgReply(5, 11, wcError),
		replyMsg(21, 2, 2, doc(bstr("$err", "bad query"), bi32("code", 2))),
		append(opMsgReq(50, okReply), queryMsg(51, "a.$cmd", doc(bi32("ping", 1)))...),
		opMsgReq(8, doc(bstr("s", "x"), el(tRegex, "re", []byte("^a\x00i\x00")), bbin("b"), boid("o"), bdate("d"),
			barr("a", doc(bdoc("0", doc(bnull("n"))))))),
	}, "testdata/ferretdb.pcap")
}
