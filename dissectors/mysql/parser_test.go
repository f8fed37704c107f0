package mysql_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
	"github.com/tapflow/tapflow/dissectors/mysql"
)

// Command bytes used by the tests.
const (
	comQuit        = 0x01
	comInitDB      = 0x02
	comQuery       = 0x03
	comPing        = 0x0e
	comStmtPrepare = 0x16
	comStmtExecute = 0x17
	comStmtClose   = 0x19
)

// pkt builds one MySQL packet: the 3-byte length, seq and body.
func pkt(seq byte, body ...[]byte) []byte {
	var b []byte
	for _, x := range body {
		b = append(b, x...)
	}
	return append([]byte{byte(len(b)), byte(len(b) >> 8), byte(len(b) >> 16), seq}, b...)
}

func cat(ps ...[]byte) []byte {
	var b []byte
	for _, p := range ps {
		b = append(b, p...)
	}
	return b
}

func str(s string) []byte { return []byte(s) }

var (
	okPacket   = pkt(1, []byte{0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00})
	greeting   = pkt(0, str("\x0a8.0.36\x00"), []byte{0x0c, 0, 0, 0}, str("12345678"), []byte{0, 0xff, 0xff, 0xff, 0x02, 0, 0xff, 0xdf, 0x15}, make([]byte, 10), str("123456789012\x00caching_sha2_password\x00"))
	handshake  = pkt(1, []byte{0x8d, 0xa2, 0xbf, 0x00, 0, 0, 0, 1, 0x21}, make([]byte, 23), str("app\x00"), []byte{3, 1, 2, 3}, str("shop\x00mysql_native_password\x00"))
	sslRequest = pkt(1, []byte{0x8d, 0xaa, 0xbf, 0x00, 0, 0, 0, 1, 0x21}, make([]byte, 23))
	loginOK    = pkt(2, []byte{0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00})
	fastAuthOK = cat(pkt(2, []byte{0x01, 0x03}), pkt(3, []byte{0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00}))
	loginErr   = pkt(2, []byte{0xff, 0x15, 0x04}, str("#28000Access denied for user 'app'@'localhost' (using password: YES)"))
	authSwitch = pkt(2, []byte{0xfe}, str("mysql_native_password\x00"), str("12345678901234567890\x00"))
	errSyntax  = pkt(1, []byte{0xff, 0x28, 0x04}, str("#42000You have an error in your SQL syntax"))
	errDead    = pkt(1, []byte{0xff, 0xbd, 0x04}, str("#40001Deadlock found when trying to get lock"))
	errOld     = pkt(1, []byte{0xff, 0x7a, 0x04}, str("Table 't' doesn't exist")) // pre-4.1, no SQLSTATE
	resultSet  = cat(pkt(1, []byte{0x01}), pkt(2, []byte{0x03}, str("def"), []byte{0, 0, 0, 1, 'x', 0, 0x0c, 0x3f, 0, 1, 0, 0, 0, 3, 0x81, 0, 0, 0, 0}), pkt(3, []byte{0xfe, 0, 0, 2, 0}), pkt(4, []byte{0x01, '1'}), pkt(5, []byte{0xfe, 0, 0, 2, 0}))
	query      = pkt(0, []byte{comQuery}, str("SELECT id, name FROM users WHERE id < 3"))
)

// expect checks the records of the table tests: MySQL's, without keys.
var expect = dtest.Records{Protocol: dissectors.ProtoMySQL}

func TestParse(t *testing.T) {
	bigSQL := "INSERT INTO `shop`.`blobs` VALUES ('" + strings.Repeat("x", 3000) + "')"
	bigQuery := pkt(0, []byte{comQuery}, str(bigSQL))
	for _, tc := range []struct {
		name     string
		toServer bool
		payload  []byte
		plen     int // PayloadLen when the segment is part of a longer packet
		want     []dtest.Want
		err      error
	}{
		{name: "query", toServer: true, payload: query,
			want: []dtest.Want{{Kind: dissectors.Request, Type: "COM_QUERY", Resource: "SELECT id, name FROM users WHERE id < 3", Endpoint: "SELECT users", Len: 44}}},
		{name: "query with attributes", toServer: true, payload: pkt(0, []byte{comQuery, 0x00, 0x01}, str("update t set a=1")),
			want: []dtest.Want{{Kind: dissectors.Request, Type: "COM_QUERY", Resource: "update t set a=1", Endpoint: "UPDATE t", Len: 23}}},
		{name: "init db", toServer: true, payload: pkt(0, []byte{comInitDB}, str("shop")),
			want: []dtest.Want{{Kind: dissectors.Request, Type: "COM_INIT_DB", Resource: "shop", Len: 9}}},
		{name: "ping", toServer: true, payload: pkt(0, []byte{comPing}),
			want: []dtest.Want{{Kind: dissectors.Request, Type: "COM_PING", Len: 5}}},
		{name: "quit is a session", toServer: true, payload: pkt(0, []byte{comQuit}),
			want: []dtest.Want{{Kind: dissectors.Session, Type: "COM_QUIT", Len: 5}}},
		{name: "stmt execute", toServer: true, payload: pkt(0, []byte{comStmtExecute, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 0, 7, 0, 0, 0}),
			want: []dtest.Want{{Kind: dissectors.Request, Type: "COM_STMT_EXECUTE", Len: 22}}},
		{name: "close and prepare in one segment", toServer: true,
			payload: cat(pkt(0, []byte{comStmtClose, 1, 0, 0, 0}), pkt(0, []byte{comStmtPrepare}, str("DELETE FROM t WHERE id = ?"))),
			want: []dtest.Want{
				{Kind: dissectors.Session, Type: "COM_STMT_CLOSE", Len: 9},
				{Kind: dissectors.Request, Type: "COM_STMT_PREPARE", Resource: "DELETE FROM t WHERE id = ?", Endpoint: "DELETE t", Len: 31},
			}},
		{name: "query longer than the segment", toServer: true, payload: bigQuery[:1448], plen: 1448,
			want: []dtest.Want{{Kind: dissectors.Request, Type: "COM_QUERY", Resource: bigSQL[:dissectors.TextCap-len("COM_QUERYINSERT shop.blobs")], Endpoint: "INSERT shop.blobs", Len: uint32(len(bigQuery))}}},
		{name: "continuation of a long query", toServer: true, payload: bigQuery[1448:2896]},
		{name: "login", toServer: true, payload: handshake,
			want: []dtest.Want{{Kind: dissectors.Request, Type: "Login", Resource: "shop", Len: uint32(len(handshake))}}},
		{name: "ssl request", toServer: true, payload: sslRequest},
		{name: "tls record from client", toServer: true, payload: []byte{0x17, 0x03, 0x03, 0x00, 0x16, 1, 2, 3, 4, 5}},
		{name: "unknown command", toServer: true, payload: pkt(0, []byte{0x00}), err: dissectors.ErrMalformed},
		{name: "execute with bad iteration count", toServer: true, payload: pkt(0, []byte{comStmtExecute, 1, 0, 0, 0, 0, 2, 0, 0, 0}), err: dissectors.ErrMalformed},
		{name: "ping longer than the segment", toServer: true, payload: []byte{0x20, 0x03, 0x00, 0x00, comPing}, err: dissectors.ErrMalformed},
		{name: "short", toServer: true, payload: []byte{1, 0, 0}, err: dissectors.ErrShort},
		{name: "header only", toServer: true, payload: []byte{1, 0, 0, 0}, err: dissectors.ErrShort},

		{name: "greeting", payload: greeting},
		{name: "ok", payload: okPacket,
			want: []dtest.Want{{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: 11}}},
		{name: "syntax error is a client error", payload: errSyntax,
			want: []dtest.Want{{Kind: dissectors.Response, HasCode: true, Code: 1064, Status: dissectors.StatusClientError, Exception: "You have an error in your SQL syntax", Len: uint32(len(errSyntax))}}},
		{name: "deadlock is a server error", payload: errDead,
			want: []dtest.Want{{Kind: dissectors.Response, HasCode: true, Code: 1213, Status: dissectors.StatusServerError, Exception: "Deadlock found when trying to get lock", Len: uint32(len(errDead))}}},
		{name: "error without sqlstate", payload: errOld,
			want: []dtest.Want{{Kind: dissectors.Response, HasCode: true, Code: 1146, Status: dissectors.StatusClientError, Exception: "Table 't' doesn't exist", Len: uint32(len(errOld))}}},
		{name: "result set", payload: resultSet,
			want: []dtest.Want{{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: uint32(len(resultSet))}}},
		{name: "rows of a result set", payload: resultSet[5:]},
		{name: "seq 1 followed by the wrong seq", payload: cat(pkt(1, []byte{0x01}), pkt(5, []byte{0x01, '1'}))},
		{name: "seq 1 longer than the segment", payload: []byte{0x20, 0x20, 0x20, 0x01, 'a', 'b'}},
		{name: "short ok", payload: pkt(1, []byte{0x00, 0x00}), err: dissectors.ErrMalformed},
		{name: "login ok", payload: loginOK,
			want: []dtest.Want{{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: 11}}},
		{name: "login ok after fast auth", payload: fastAuthOK,
			want: []dtest.Want{{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: 11}}},
		{name: "login denied", payload: loginErr,
			want: []dtest.Want{{Kind: dissectors.Response, HasCode: true, Code: 1045, Status: dissectors.StatusClientError, Exception: "Access denied for user 'app'@'localhost' (using password: YES)", Len: uint32(len(loginErr))}}},
		{name: "auth switch", payload: authSwitch},
		{name: "tls record from server", payload: []byte{0x16, 0x03, 0x03, 0x01, 0x16, 1, 2, 3, 4, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := dissectors.Meta{Proto: 6, ClientPort: 40000, ServerPort: 3306, ToServer: tc.toServer, PayloadLen: uint32(len(tc.payload))}
			if tc.plen > 0 {
				m.PayloadLen = uint32(tc.plen)
			}
			expect.Require(t, dtest.Parse(t, mysql.New(), tc.payload, &m, tc.err), tc.want)
		})
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload []byte
		proto   uint8
		want    bool
	}{
		{"greeting", greeting, 6, true},
		{"query", query, 6, true},
		{"query with comment", pkt(0, []byte{comQuery}, str("/* app */ select 1")), 6, true},
		{"prepare", pkt(0, []byte{comStmtPrepare}, str("SELECT * FROM t WHERE id=?")), 6, true},
		{"init db", pkt(0, []byte{comInitDB}, str("shop")), 6, true},
		{"ping", pkt(0, []byte{comPing}), 6, true},
		{"over udp", query, 17, false},
		{"query not sql", pkt(0, []byte{comQuery}, str("hello world")), 6, false},
		{"query length mismatch", query[:20], 6, false},
		{"execute", pkt(0, []byte{comStmtExecute, 1, 0, 0, 0, 0, 1, 0, 0, 0}), 6, false},
		{"ok packet", okPacket, 6, false},
		{"http", str("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 6, false},
		{"tls", []byte{0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5}, 6, false},
		{"greeting with bad version", pkt(0, str("\x0a\x01\x02\x00"), make([]byte, 20)), 6, false},
		{"empty", nil, 6, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := dissectors.Meta{Proto: tc.proto, ToServer: true, PayloadLen: uint32(len(tc.payload))}
			require.Equal(t, tc.want, mysql.New().Check(tc.payload, &m))
		})
	}
}

// TestGolden runs the dissector over real captures: a MariaDB 10.11
// session made for this package (logins, queries, errors, prepared
// statements) and nDPI's MySQL capture (a MariaDB login and query, and a
// MySQL 8 session that switches to TLS).
func TestGolden(t *testing.T) {
	dtest.Goldens(t, mysql.New(), []dtest.Capture{
		{Name: "mariadb", File: "mariadb.pcap"},
		{Name: "ndpi-mysql", Corpus: "ndpi", File: "mysql.pcapng"},
	})
}
