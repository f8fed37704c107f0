package mysql_test

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors/internal/dtest"
	"github.com/tapflow/tapflow/dissectors/mysql"
)

func FuzzParse(f *testing.F) {
	for _, p := range [][]byte{query, greeting, handshake, sslRequest, okPacket, loginOK, fastAuthOK, loginErr,
		authSwitch, errSyntax, errOld, resultSet, pkt(0, []byte{comQuery, 0x00, 0x01}, str("UPDATE t SET a=1"))} {
		f.Add(p)
	}
	for _, p := range dtest.Read(f, "testdata/mariadb.pcap") {
		f.Add(p.Payload)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dtest.Invariants(t, mysql.New(), data, 6)
	})
}
