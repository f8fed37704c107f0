package postgresql_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
	"github.com/tapflow/tapflow/dissectors/postgresql"
)

// Codes of the untyped startup-phase messages.
const (
	codeProtocol3 = 196608
	codeCancel    = 80877102
	codeSSL       = 80877103
	codeGSSENC    = 80877104
)

// msg builds one typed message: type, length (counting itself), body.
func msg(t byte, body ...string) []byte {
	b := strings.Join(body, "")
	n := len(b) + 4
	return append([]byte{t, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, b...)
}

// untyped builds a startup-phase message: length, code, body.
func untyped(code uint32, body string) []byte {
	n := len(body) + 8
	return append([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n),
		byte(code >> 24), byte(code >> 16), byte(code >> 8), byte(code)}, body...)
}

func cat(ps ...[]byte) []byte {
	var b []byte
	for _, p := range ps {
		b = append(b, p...)
	}
	return b
}

var (
	startup    = untyped(codeProtocol3, "user\x00app\x00database\x00shop\x00\x00")
	sslRequest = untyped(codeSSL, "")
	simpleQ    = msg('Q', "SELECT id, name FROM users WHERE id < 3\x00")
	extended   = cat(msg('P', "\x00SELECT name FROM users WHERE id = $1\x00\x00\x00"), msg('B', "\x00\x00\x00\x00\x00\x01\x00\x00\x00\x017\x00\x00"),
		msg('D', "P\x00"), msg('E', "\x00\x00\x00\x00\x00"), msg('S'))
	bindExec  = cat(msg('B', "\x00s1\x00\x00\x00\x00\x00\x00\x00"), msg('E', "\x00\x00\x00\x00\x00"), msg('S'))
	ready     = msg('Z', "I")
	rowsReply = cat(msg('T', "\x00\x01name\x00\x00\x00\x00\x00\x00\x00\x00\x00\x19\xff\xff\xff\xff\xff\xff\x00\x00"),
		msg('D', "\x00\x01\x00\x00\x00\x06user-1"), msg('C', "SELECT 1\x00"), ready)
	extReply   = cat(msg('1'), msg('2'), msg('T', "\x00\x00"), msg('D', "\x00\x00"), msg('C', "SELECT 1\x00"), ready)
	errUndef   = cat(msg('E', "SERROR\x00VERROR\x00C42P01\x00Mrelation \"orders\" does not exist\x00P13\x00\x00"), ready)
	errDivZero = cat(msg('E', "SERROR\x00VERROR\x00C22012\x00Mdivision by zero\x00\x00"), ready)
	authOK     = cat(msg('R', "\x00\x00\x00\x00"), msg('S', "client_encoding\x00UTF8\x00"), msg('K', "\x00\x00\x00\x01\x00\x00\x00\x02"), ready)
)

// expect checks the records of the table tests: PostgreSQL's, without keys.
var expect = dtest.Records{Protocol: dissectors.ProtoPostgreSQL}

func TestParse(t *testing.T) {
	twoParses := cat(msg('P', "\x00BEGIN\x00\x00\x00"), msg('B', "\x00\x00\x00\x00\x00\x00\x00\x00"), msg('E', "\x00\x00\x00\x00\x00"),
		msg('P', "\x00SELECT 1\x00\x00\x00"), msg('B', "\x00\x00\x00\x00\x00\x00\x00\x00"), msg('E', "\x00\x00\x00\x00\x00"), msg('S'))
	parseFlush := cat(msg('P', "s1\x00SELECT 2\x00\x00\x00"), msg('D', "Ss1\x00"), msg('H'))
	longQ := msg('Q', "SELECT '"+strings.Repeat("y", 3000)+"'\x00")
	for _, tc := range []struct {
		name     string
		toServer bool
		payload  []byte
		want     []dtest.Want
		err      error
	}{
		{name: "simple query", toServer: true, payload: simpleQ,
			want: []dtest.Want{{Kind: dissectors.Request, Type: "simple query", Resource: "SELECT id, name FROM users WHERE id < 3", Len: uint32(len(simpleQ))}}},
		{name: "extended batch", toServer: true, payload: extended,
			want: []dtest.Want{{Kind: dissectors.Request, Type: "parse", Resource: "SELECT name FROM users WHERE id = $1", Len: uint32(len(extended))}}},
		{name: "two batches", toServer: true, payload: cat(extended, bindExec),
			want: []dtest.Want{
				{Kind: dissectors.Request, Type: "parse", Resource: "SELECT name FROM users WHERE id = $1", Len: uint32(len(extended))},
				{Kind: dissectors.Request, Type: "bind", Len: uint32(len(bindExec))},
			}},
		{name: "two parses before one sync", toServer: true, payload: twoParses,
			want: []dtest.Want{{Kind: dissectors.Request, Type: "parse", Resource: "BEGIN; SELECT 1", Len: uint32(len(twoParses))}}},
		{name: "parse with flush", toServer: true, payload: parseFlush,
			want: []dtest.Want{{Kind: dissectors.Request, Type: "parse", Resource: "SELECT 2", Len: uint32(len(parseFlush))}}},
		{name: "pipelined queries", toServer: true, payload: cat(simpleQ, msg('Q', "SELECT 2\x00")),
			want: []dtest.Want{
				{Kind: dissectors.Request, Type: "simple query", Resource: "SELECT id, name FROM users WHERE id < 3", Len: uint32(len(simpleQ))},
				{Kind: dissectors.Request, Type: "simple query", Resource: "SELECT 2", Len: 14},
			}},
		{name: "query longer than the segment", toServer: true, payload: longQ[:1448],
			want: []dtest.Want{{Kind: dissectors.Request, Type: "simple query", Resource: string(longQ[5 : 5+dissectors.TextCap-len("simple query")]), Len: uint32(len(longQ))}}},
		{name: "continuation of a long query", toServer: true, payload: longQ[1448:2896]},
		{name: "terminate", toServer: true, payload: msg('X'),
			want: []dtest.Want{{Kind: dissectors.Session, Type: "terminate", Len: 5}}},
		{name: "startup", toServer: true, payload: startup},
		{name: "ssl request", toServer: true, payload: sslRequest},
		{name: "password", toServer: true, payload: msg('p', "md5abc\x00")},
		{name: "sync alone", toServer: true, payload: msg('S')},
		{name: "copy data", toServer: true, payload: cat(msg('d', "1\t2\n"), msg('c'))},
		{name: "tls", toServer: true, payload: []byte{0x16, 0x03, 0x01, 0x02, 0x00, 1, 2, 3}},
		{name: "short", toServer: true, payload: []byte{'Q', 0, 0}, err: dissectors.ErrShort},

		{name: "rows", payload: rowsReply,
			want: []dtest.Want{{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: uint32(len(rowsReply))}}},
		{name: "extended reply", payload: extReply,
			want: []dtest.Want{{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: uint32(len(extReply))}}},
		{name: "two replies", payload: cat(extReply, msg('2'), msg('C', "UPDATE 1\x00"), ready),
			want: []dtest.Want{
				{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: uint32(len(extReply))},
				{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: uint32(len(msg('2')) + len(msg('C', "UPDATE 1\x00")) + len(ready))},
			}},
		{name: "undefined table is a client error", payload: errUndef,
			want: []dtest.Want{{Kind: dissectors.Response, Status: dissectors.StatusClientError, Exception: `relation "orders" does not exist`, Len: uint32(len(errUndef))}}},
		{name: "division by zero is a server error", payload: errDivZero,
			want: []dtest.Want{{Kind: dissectors.Response, Status: dissectors.StatusServerError, Exception: "division by zero", Len: uint32(len(errDivZero))}}},
		{name: "error after rows", payload: cat(msg('T', "\x00\x00"), msg('D', "\x00\x00"), errDivZero),
			want: []dtest.Want{{Kind: dissectors.Response, Status: dissectors.StatusServerError, Exception: "division by zero", Len: 7 + 7 + uint32(len(errDivZero))}}},
		{name: "notice before the reply", payload: cat(msg('N', "SNOTICE\x00Mskipping\x00\x00"), msg('C', "DROP TABLE\x00"), ready),
			want: []dtest.Want{{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: 16 + 6}}},
		{name: "rows continuing a reply", payload: cat(msg('D', "\x00\x00"), msg('D', "\x00\x00"), msg('C', "SELECT 400\x00"), ready)},
		{name: "continuation then a new reply", payload: cat(msg('D', "\x00\x00"), msg('C', "SELECT 400\x00"), ready, rowsReply),
			want: []dtest.Want{{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: uint32(len(rowsReply))}}},
		{name: "startup reply", payload: authOK},
		{name: "ready alone", payload: ready},
		{name: "ssl refused", payload: []byte{'N'}},
		{name: "mid-message bytes", payload: []byte("ser-400\x00\x00\x00\x00")},
		{name: "bad fixed length", payload: cat(msg('Z', "II"))},
		{name: "short backend", payload: []byte{'Z', 0, 0, 0}, err: dissectors.ErrShort},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := dissectors.Meta{Proto: 6, ClientPort: 40000, ServerPort: 5432, ToServer: tc.toServer, PayloadLen: uint32(len(tc.payload))}
			expect.Require(t, dtest.Parse(t, postgresql.New(), tc.payload, &m, tc.err), tc.want)
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
		{"startup", startup, 6, true},
		{"ssl request", sslRequest, 6, true},
		{"gssenc request", untyped(codeGSSENC, ""), 6, true},
		{"cancel", untyped(codeCancel, "\x00\x00\x00\x01\x00\x00\x00\x02"), 6, true},
		{"simple query", simpleQ, 6, true},
		{"extended", extended, 6, true},
		{"over udp", simpleQ, 17, false},
		{"bind only", bindExec, 6, false},
		{"query cut", simpleQ[:20], 6, false},
		{"query without nul", msg('Q', "SELECT 1"), 6, false},
		{"unknown startup code", untyped(1234, "user\x00a\x00\x00"), 6, false},
		{"startup length mismatch", startup[:20], 6, false},
		{"http", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 6, false},
		{"backend reply", rowsReply, 6, false},
		{"mysql query", []byte("\x09\x00\x00\x00\x03select 1"), 6, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := dissectors.Meta{Proto: tc.proto, ToServer: true, PayloadLen: uint32(len(tc.payload))}
			require.Equal(t, tc.want, postgresql.New().Check(tc.payload, &m))
		})
	}
}

// TestGolden runs the dissector over real captures: a PostgreSQL 15
// session made for this package (psql and pgbench, errors, extended
// protocol) and nDPI's captures (PostgreSQL 7.4 with extended-query
// batches; SSL-only sessions).
func TestGolden(t *testing.T) {
	dtest.Goldens(t, postgresql.New(), []dtest.Capture{
		{Name: "postgres15", File: "postgres15.pcap"},
		{Name: "ndpi-pgsql", Corpus: "ndpi", File: "pgsql.pcap"},
		{Name: "ndpi-pgsql2", Corpus: "ndpi", File: "pgsql2.pcapng"},
	})
}
