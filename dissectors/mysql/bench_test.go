package mysql_test

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
	"github.com/tapflow/tapflow/dissectors/mysql"
)

func BenchmarkParse(b *testing.B) {
	dtest.BenchCases(b, mysql.New(), dissectors.Meta{Proto: 6}, []dtest.Case{
		{Name: "msg=query", Payload: query, ToServer: true},
		{Name: "msg=login", Payload: handshake, ToServer: true},
		{Name: "msg=error", Payload: errSyntax},
		{Name: "msg=resultset", Payload: resultSet},
	})
	dtest.BenchPcap(b, mysql.New(), "testdata/mariadb.pcap")
}

func TestNoAllocs(t *testing.T) {
	dtest.NoAllocs(t, mysql.New(), dtest.Read(t, "testdata/mariadb.pcap"))
}
