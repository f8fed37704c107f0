package redis_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
	"github.com/tapflow/tapflow/dissectors/redis"
)

// cmd builds a RESP command: an array of bulk strings.
func cmd(args ...string) []byte {
	var b strings.Builder
	b.WriteString("*" + itoa(len(args)) + "\r\n")
	for _, a := range args {
		b.WriteString("$" + itoa(len(a)) + "\r\n" + a + "\r\n")
	}
	return []byte(b.String())
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var d []byte
	for ; n > 0; n /= 10 {
		d = append([]byte{byte('0' + n%10)}, d...)
	}
	return string(d)
}

func cat(ps ...[]byte) []byte {
	var b []byte
	for _, p := range ps {
		b = append(b, p...)
	}
	return b
}

var (
	lrange    = cmd("LRANGE", "mylist", "0", "299")
	get       = cmd("GET", "user:1")
	arrReply  = []byte("*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n")
	nested    = []byte("*2\r\n*2\r\n:1\r\n$-1\r\n%1\r\n+k\r\n~1\r\n#t\r\n")
	wrongType = []byte("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")
	resp3     = []byte("%2\r\n$2\r\nf1\r\n$2\r\nv1\r\n$2\r\nf2\r\n_\r\n")
)

// expect checks the records of the table tests: Redis's, without keys.
var expect = dtest.Records{Protocol: dissectors.ProtoRedis}

func TestParse(t *testing.T) {
	big := cmd("SET", "blob", strings.Repeat("x", 5000))
	bigReply := []byte("$5000\r\n" + strings.Repeat("x", 5000) + "\r\n")
	for _, tc := range []struct {
		name     string
		toServer bool
		payload  []byte
		want     []dtest.Want
		err      error
	}{
		{name: "command", toServer: true, payload: lrange,
			want: []dtest.Want{{Kind: dissectors.Request, Type: "LRANGE", Resource: "LRANGE mylist 0 299", Len: uint32(len(lrange))}}},
		{name: "lower case as sent", toServer: true, payload: cmd("get", "k"),
			want: []dtest.Want{{Kind: dissectors.Request, Type: "get", Resource: "get k", Len: 20}}},
		{name: "pipeline", toServer: true, payload: cat(get, cmd("INCR", "n"), cmd("PING")),
			want: []dtest.Want{
				{Kind: dissectors.Request, Type: "GET", Resource: "GET user:1", Len: uint32(len(get))},
				{Kind: dissectors.Request, Type: "INCR", Resource: "INCR n", Len: 21},
				{Kind: dissectors.Request, Type: "PING", Resource: "PING", Len: 14},
			}},
		{name: "inline", toServer: true, payload: []byte("PING\r\n"),
			want: []dtest.Want{{Kind: dissectors.Request, Type: "PING", Resource: "PING", Len: 6}}},
		{name: "inline pipeline", toServer: true, payload: []byte("set k \"a b\"\r\nget k\n"),
			want: []dtest.Want{
				{Kind: dissectors.Request, Type: "set", Resource: "set k \"a b\"", Len: 13},
				{Kind: dissectors.Request, Type: "get", Resource: "get k", Len: 6},
			}},
		{name: "value longer than the segment", toServer: true, payload: big[:1448],
			want: []dtest.Want{{Kind: dissectors.Request, Type: "SET", Resource: "SET blob " + strings.Repeat("x", dissectors.TextCap-len("SETSET blob ")), Len: uint32(len(big))}}},
		{name: "segment ends between arguments", toServer: true, payload: lrange[:len(lrange)-9],
			want: []dtest.Want{{Kind: dissectors.Request, Type: "LRANGE", Resource: "LRANGE mylist 0", Len: uint32(len(lrange) - 9)}}},
		{name: "command name cut", toServer: true, payload: cat(get, lrange[:10]),
			want: []dtest.Want{{Kind: dissectors.Request, Type: "GET", Resource: "GET user:1", Len: uint32(len(get))}}},
		{name: "continuation of a value", toServer: true, payload: big[1448:2896]},
		{name: "continuation text", toServer: true, payload: []byte("some text\r\n")},
		{name: "empty array", toServer: true, payload: []byte("*0\r\n")},
		{name: "bad array", toServer: true, payload: []byte("*x\r\n"), err: dissectors.ErrMalformed},
		{name: "array of integers", toServer: true, payload: []byte("*1\r\n:1\r\n"), err: dissectors.ErrMalformed},
		{name: "bulk without crlf", toServer: true, payload: []byte("*1\r\n$3\r\nGETX\r\n"), err: dissectors.ErrMalformed},
		{name: "bad second command", toServer: true, payload: cat(get, []byte("*1\r\n$3\r\nGETX\r\n")),
			want: []dtest.Want{{Kind: dissectors.Request, Type: "GET", Resource: "GET user:1", Len: uint32(len(get))}}},

		{name: "ok", payload: []byte("+OK\r\n"),
			want: []dtest.Want{{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: 5}}},
		{name: "wrongtype", payload: wrongType,
			want: []dtest.Want{{Kind: dissectors.Response, Status: dissectors.StatusServerError, Exception: "WRONGTYPE Operation against a key holding the wrong kind of value", Len: uint32(len(wrongType))}}},
		{name: "array", payload: arrReply,
			want: []dtest.Want{{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: uint32(len(arrReply))}}},
		{name: "nested and resp3", payload: nested,
			want: []dtest.Want{{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: uint32(len(nested))}}},
		{name: "several replies", payload: cat([]byte("+OK\r\n$2\r\nv1\r\n"), wrongType, []byte(":300\r\n"), arrReply, resp3),
			want: []dtest.Want{
				{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: 5},
				{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: 8},
				{Kind: dissectors.Response, Status: dissectors.StatusServerError, Exception: "WRONGTYPE Operation against a key holding the wrong kind of value", Len: uint32(len(wrongType))},
				{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: 6},
				{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: uint32(len(arrReply))},
				{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: uint32(len(resp3))},
			}},
		{name: "bulk error", payload: []byte("!21\r\nSYNTAX invalid syntax\r\n"),
			want: []dtest.Want{{Kind: dissectors.Response, Status: dissectors.StatusServerError, Exception: "SYNTAX invalid syntax", Len: 28}}},
		{name: "push and attribute", payload: []byte(">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n|1\r\n+ttl\r\n:3\r\n:7\r\n"),
			want: []dtest.Want{{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: 4}}},
		{name: "null bulk and null", payload: []byte("$-1\r\n_\r\n*-1\r\n"),
			want: []dtest.Want{
				{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: 5},
				{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: 3},
				{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: 5},
			}},
		{name: "bulk longer than the segment", payload: bigReply[:1448],
			want: []dtest.Want{{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: uint32(len(bigReply))}}},
		{name: "array longer than the segment", payload: arrReply[:12],
			want: []dtest.Want{{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: 12}}},
		{name: "error cut", payload: wrongType[:20],
			want: []dtest.Want{{Kind: dissectors.Response, Status: dissectors.StatusServerError, Exception: string(wrongType[1:20]), Len: 20}}},
		{name: "continuation", payload: bigReply[1448:2896]},
		{name: "continuation ending in crlf", payload: []byte("xxxx\r\n+OK\r\n")},
		{name: "bad integer", payload: []byte(":12a\r\n")},
		{name: "bad double", payload: []byte(",1.5x\r\n")},
		{name: "doubles and big number", payload: []byte(",-1.5e3\r\n,inf\r\n,nan\r\n(-123\r\n"),
			want: []dtest.Want{
				{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: 9},
				{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: 6},
				{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: 6},
				{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: 7},
			}},
		{name: "bare cr", payload: []byte("+O\rK\r\n")},
		{name: "bad boolean", payload: []byte("#x\r\n")},
		{name: "bad nested", payload: []byte("*2\r\n:1\r\nzz\r\n")},
		{name: "values then a cut value", payload: []byte("$8\r\nitem-001\r\n$8\r\nitem-002\r\n$8\r\nite")},
		{name: "replies then a cut array", payload: cat([]byte("+OK\r\n"), arrReply[:12])},
		{name: "replies then junk", payload: []byte("+OK\r\nzz"),
			want: []dtest.Want{{Kind: dissectors.Response, Status: dissectors.StatusOK, Len: 5}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := dissectors.Meta{Proto: 6, ClientPort: 40000, ServerPort: 6379, ToServer: tc.toServer, PayloadLen: uint32(len(tc.payload))}
			expect.Require(t, dtest.Parse(t, redis.New(), tc.payload, &m, tc.err), tc.want)
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
		{"command", lrange, 6, true},
		{"module command", cmd("JSON.GET", "doc"), 6, true},
		{"unknown command", cmd("NOSUCHCMD", "foo"), 6, true},
		{"cut after the name", get[:13], 6, true},
		{"inline ping", []byte("PING\r\n"), 6, true},
		{"inline lpush", []byte("lpush test3 r\n"), 6, true},
		{"inline lines", []byte("incr test\nset test2 redis\nget test2\nlpush test3 r\nlrange test3 0 -1\n"), 6, true},
		{"inline set alone", []byte("set test 1\n"), 6, false},
		{"memcached set with data", []byte("set k 0 0 5\r\nhello\r\n"), 6, false},
		{"nats info", []byte("INFO {\"server_id\":\"x\"}\r\n"), 6, false},
		{"ookla hello", []byte("HELLO 2.9 (2.9.2) 2021-10-01\n"), 6, false},
		{"stomp subscribe", []byte("SUBSCRIBE\nack:auto\ndestination:/queue/a\n\n\x00"), 6, false},
		{"munin config", []byte("config vmstat\n"), 6, false},
		{"irc ping", []byte("PING :irc.example.net\r\n"), 6, false},
		{"inline line with a control byte", []byte("lpush a\x01b\n"), 6, false},
		{"over udp", lrange, 17, false},
		{"name cut", get[:10], 6, false},
		{"name not a word", cmd("1GET"), 6, false},
		{"array reply is resp too", arrReply, 6, true},
		{"ok reply", []byte("+OK\r\n"), 6, false},
		{"memcached get", []byte("get k\r\n"), 6, false},
		{"smtp quit", []byte("QUIT\r\n"), 6, false},
		{"http", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 6, false},
		{"inline without newline", []byte("PING"), 6, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := dissectors.Meta{Proto: tc.proto, ToServer: true, PayloadLen: uint32(len(tc.payload))}
			require.Equal(t, tc.want, redis.New().Check(tc.payload, &m))
		})
	}
	t.Run("inline from the server", func(t *testing.T) {
		// A NATS server sends "PING\r\n"; a Redis server never sends a command.
		m := dissectors.Meta{Proto: 6, ToServer: false, PayloadLen: 6}
		require.False(t, redis.New().Check([]byte("PING\r\n"), &m))
	})
}

// TestGolden runs the dissector over real captures: a Redis 7.0 session
// made for this package (redis-cli commands in RESP2 and RESP3, errors,
// inline commands, a pipeline and values larger than a segment), nDPI's
// RESP capture and tcpdump's RESP tests (redis-benchmark, inline commands,
// malformed and malicious input).
func TestGolden(t *testing.T) {
	dtest.Goldens(t, redis.New(), []dtest.Capture{
		{Name: "redis7", File: "redis7.pcap"},
		{Name: "ndpi-resp", Corpus: "ndpi", File: "resp.pcap"},
		{Name: "tcpdump-resp_1_benchmark", Corpus: "tcpdump", File: "resp_1_benchmark.pcap"},
		{Name: "tcpdump-resp_2_inline", Corpus: "tcpdump", File: "resp_2_inline.pcap"},
		{Name: "tcpdump-resp_3_malicious", Corpus: "tcpdump", File: "resp_3_malicious.pcap"},
		{Name: "tcpdump-resp_4_infiniteloop", Corpus: "tcpdump", File: "resp_4_infiniteloop.pcapng"},
	})
}
