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

type rec struct {
	kind     dissectors.Kind
	typ      string
	resource string
	endpoint string
	code     int32 // -1: none
	status   dissectors.Status
	exc      string
	len      uint32
}

func TestParse(t *testing.T) {
	bigSQL := "INSERT INTO `shop`.`blobs` VALUES ('" + strings.Repeat("x", 3000) + "')"
	bigQuery := pkt(0, []byte{comQuery}, str(bigSQL))
	for _, tc := range []struct {
		name     string
		toServer bool
		payload  []byte
		plen     int // PayloadLen when the segment is part of a longer packet
		want     []rec
		err      error
	}{
		{name: "query", toServer: true, payload: query,
			want: []rec{{kind: dissectors.Request, typ: "COM_QUERY", resource: "SELECT id, name FROM users WHERE id < 3", endpoint: "SELECT users", code: -1, len: 44}}},
		{name: "query with attributes", toServer: true, payload: pkt(0, []byte{comQuery, 0x00, 0x01}, str("update t set a=1")),
			want: []rec{{kind: dissectors.Request, typ: "COM_QUERY", resource: "update t set a=1", endpoint: "UPDATE t", code: -1, len: 23}}},
		{name: "init db", toServer: true, payload: pkt(0, []byte{comInitDB}, str("shop")),
			want: []rec{{kind: dissectors.Request, typ: "COM_INIT_DB", resource: "shop", code: -1, len: 9}}},
		{name: "ping", toServer: true, payload: pkt(0, []byte{comPing}),
			want: []rec{{kind: dissectors.Request, typ: "COM_PING", code: -1, len: 5}}},
		{name: "quit is a session", toServer: true, payload: pkt(0, []byte{comQuit}),
			want: []rec{{kind: dissectors.Session, typ: "COM_QUIT", code: -1, len: 5}}},
		{name: "stmt execute", toServer: true, payload: pkt(0, []byte{comStmtExecute, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 0, 7, 0, 0, 0}),
			want: []rec{{kind: dissectors.Request, typ: "COM_STMT_EXECUTE", code: -1, len: 22}}},
		{name: "close and prepare in one segment", toServer: true,
			payload: cat(pkt(0, []byte{comStmtClose, 1, 0, 0, 0}), pkt(0, []byte{comStmtPrepare}, str("DELETE FROM t WHERE id = ?"))),
			want: []rec{
				{kind: dissectors.Session, typ: "COM_STMT_CLOSE", code: -1, len: 9},
				{kind: dissectors.Request, typ: "COM_STMT_PREPARE", resource: "DELETE FROM t WHERE id = ?", endpoint: "DELETE t", code: -1, len: 31},
			}},
		{name: "query longer than the segment", toServer: true, payload: bigQuery[:1448], plen: 1448,
			want: []rec{{kind: dissectors.Request, typ: "COM_QUERY", resource: bigSQL[:dissectors.TextCap-len("COM_QUERYINSERT shop.blobs")], endpoint: "INSERT shop.blobs", code: -1, len: uint32(len(bigQuery))}}},
		{name: "continuation of a long query", toServer: true, payload: bigQuery[1448:2896]},
		{name: "login", toServer: true, payload: handshake,
			want: []rec{{kind: dissectors.Request, typ: "Login", resource: "shop", code: -1, len: uint32(len(handshake))}}},
		{name: "ssl request", toServer: true, payload: sslRequest},
		{name: "tls record from client", toServer: true, payload: []byte{0x17, 0x03, 0x03, 0x00, 0x16, 1, 2, 3, 4, 5}},
		{name: "unknown command", toServer: true, payload: pkt(0, []byte{0x00}), err: dissectors.ErrMalformed},
		{name: "execute with bad iteration count", toServer: true, payload: pkt(0, []byte{comStmtExecute, 1, 0, 0, 0, 0, 2, 0, 0, 0}), err: dissectors.ErrMalformed},
		{name: "ping longer than the segment", toServer: true, payload: []byte{0x20, 0x03, 0x00, 0x00, comPing}, err: dissectors.ErrMalformed},
		{name: "short", toServer: true, payload: []byte{1, 0, 0}, err: dissectors.ErrShort},
		{name: "header only", toServer: true, payload: []byte{1, 0, 0, 0}, err: dissectors.ErrShort},

		{name: "greeting", payload: greeting},
		{name: "ok", payload: okPacket,
			want: []rec{{kind: dissectors.Response, code: -1, status: dissectors.StatusOK, len: 11}}},
		{name: "syntax error is a client error", payload: errSyntax,
			want: []rec{{kind: dissectors.Response, code: 1064, status: dissectors.StatusClientError, exc: "You have an error in your SQL syntax", len: uint32(len(errSyntax))}}},
		{name: "deadlock is a server error", payload: errDead,
			want: []rec{{kind: dissectors.Response, code: 1213, status: dissectors.StatusServerError, exc: "Deadlock found when trying to get lock", len: uint32(len(errDead))}}},
		{name: "error without sqlstate", payload: errOld,
			want: []rec{{kind: dissectors.Response, code: 1146, status: dissectors.StatusClientError, exc: "Table 't' doesn't exist", len: uint32(len(errOld))}}},
		{name: "result set", payload: resultSet,
			want: []rec{{kind: dissectors.Response, code: -1, status: dissectors.StatusOK, len: uint32(len(resultSet))}}},
		{name: "rows of a result set", payload: resultSet[5:]},
		{name: "seq 1 followed by the wrong seq", payload: cat(pkt(1, []byte{0x01}), pkt(5, []byte{0x01, '1'}))},
		{name: "seq 1 longer than the segment", payload: []byte{0x20, 0x20, 0x20, 0x01, 'a', 'b'}},
		{name: "short ok", payload: pkt(1, []byte{0x00, 0x00}), err: dissectors.ErrMalformed},
		{name: "login ok", payload: loginOK,
			want: []rec{{kind: dissectors.Response, code: -1, status: dissectors.StatusOK, len: 11}}},
		{name: "login ok after fast auth", payload: fastAuthOK,
			want: []rec{{kind: dissectors.Response, code: -1, status: dissectors.StatusOK, len: 11}}},
		{name: "login denied", payload: loginErr,
			want: []rec{{kind: dissectors.Response, code: 1045, status: dissectors.StatusClientError, exc: "Access denied for user 'app'@'localhost' (using password: YES)", len: uint32(len(loginErr))}}},
		{name: "auth switch", payload: authSwitch},
		{name: "tls record from server", payload: []byte{0x16, 0x03, 0x03, 0x01, 0x16, 1, 2, 3, 4, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := dissectors.Meta{Proto: 6, ClientPort: 40000, ServerPort: 3306, ToServer: tc.toServer, PayloadLen: uint32(len(tc.payload))}
			if tc.plen > 0 {
				m.PayloadLen = uint32(tc.plen)
			}
			pre := make([]dissectors.Record, 1, 4)
			out, err := mysql.New().Parse(pre, tc.payload, &m)
			require.ErrorIs(t, err, tc.err)
			require.Len(t, out, 1+len(tc.want))
			for i, w := range tc.want {
				r := &out[1+i]
				require.Equal(t, dissectors.ProtoMySQL, r.Protocol)
				require.Equal(t, w.kind, r.Kind, "kind")
				require.Equal(t, w.typ, r.String(r.RequestType), "request_type")
				require.Equal(t, w.resource, r.String(r.RequestResource), "request_resource")
				require.Equal(t, w.endpoint, r.String(r.Endpoint), "endpoint")
				require.Equal(t, w.code >= 0, r.HasCode, "has code")
				if w.code >= 0 {
					require.Equal(t, w.code, r.Code, "code")
				}
				require.Equal(t, w.status, r.Status, "status")
				require.Equal(t, w.exc, r.String(r.Exception), "exception")
				require.Equal(t, w.len, r.Len, "len")
			}
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
	for _, tc := range []struct{ name, path string }{
		{"mariadb", "testdata/mariadb.pcap"},
		{"ndpi-mysql", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = dtest.Shared(t, "ndpi", "mysql.pcapng")
			}
			pkts := dtest.Read(t, path)
			out, errs := dtest.Run(mysql.New(), pkts)
			require.Zero(t, errs, "parse errors")
			dtest.Golden(t, tc.name, out)
		})
	}
}
