package postgresql_test

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors/internal/dtest"
	"github.com/tapflow/tapflow/dissectors/postgresql"
)

func FuzzParse(f *testing.F) {
	for _, p := range [][]byte{startup, sslRequest, simpleQ, extended, bindExec, rowsReply, extReply, errUndef, errDivZero, authOK,
		cat(msg('P', "\x00BEGIN\x00\x00\x00"), msg('P', "\x00SELECT 1\x00\x00\x00"), msg('S')), msg('X')} {
		f.Add(p)
	}
	for _, p := range dtest.Read(f, "testdata/postgres15.pcap") {
		f.Add(p.Payload)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dtest.Invariants(t, postgresql.New(), data, 6)
	})
}
