package mysql_test

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors/internal/dtest"
	"github.com/tapflow/tapflow/dissectors/mysql"
)

func FuzzParse(f *testing.F) {
	dtest.Fuzz(f, mysql.New(), 6, [][]byte{query, greeting, handshake, sslRequest, okPacket, loginOK, fastAuthOK, loginErr,
		authSwitch, errSyntax, errOld, resultSet, pkt(0, []byte{comQuery, 0x00, 0x01}, str("UPDATE t SET a=1"))},
		"testdata/mariadb.pcap")
}
