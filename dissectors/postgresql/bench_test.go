package postgresql_test

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
	"github.com/tapflow/tapflow/dissectors/postgresql"
)

func BenchmarkParse(b *testing.B) {
	dtest.BenchCases(b, postgresql.New(), dissectors.Meta{Proto: 6}, []dtest.Case{
		{Name: "msg=query", Payload: simpleQ, ToServer: true},
		{Name: "msg=extended", Payload: extended, ToServer: true},
		{Name: "msg=rows", Payload: rowsReply},
		{Name: "msg=error", Payload: errUndef},
	})
	dtest.BenchPcap(b, postgresql.New(), "testdata/postgres15.pcap")
}

func TestNoAllocs(t *testing.T) {
	dtest.NoAllocs(t, postgresql.New(), dtest.Read(t, "testdata/postgres15.pcap"))
}
