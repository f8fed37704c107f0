package postgresql_test

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors/internal/dtest"
	"github.com/tapflow/tapflow/dissectors/postgresql"
)

func FuzzParse(f *testing.F) {
	dtest.Fuzz(f, postgresql.New(), 6, [][]byte{startup, sslRequest, simpleQ, extended, bindExec, rowsReply, extReply, errUndef, errDivZero, authOK,
		cat(msg('P', "\x00BEGIN\x00\x00\x00"), msg('P', "\x00SELECT 1\x00\x00\x00"), msg('S')), msg('X')},
		"testdata/postgres15.pcap")
}
