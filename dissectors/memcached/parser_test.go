package memcached

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func meta(toServer bool, n int) *dissectors.Meta {
	return &dissectors.Meta{Proto: 6, ClientPort: 40000, ServerPort: 11211, ToServer: toServer, PayloadLen: uint32(n)}
}

// binPacket builds a binary protocol packet.
func binPacket(magic, op byte, status uint16, opaque uint32, extras, key, value []byte) []byte {
	p := make([]byte, 24, 24+len(extras)+len(key)+len(value))
	p[0], p[1] = magic, op
	binary.BigEndian.PutUint16(p[2:], uint16(len(key)))
	p[4] = byte(len(extras))
	binary.BigEndian.PutUint16(p[6:], status)
	binary.BigEndian.PutUint32(p[8:], uint32(len(extras)+len(key)+len(value)))
	binary.BigEndian.PutUint32(p[12:], opaque)
	p = append(p, extras...)
	p = append(p, key...)
	return append(p, value...)
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name     string
		payload  string
		toServer bool
		want     string
		err      error
	}{
		{"get", "get foo\r\n", true,
			dtest.Lines(`{"kind":1,"l7_protocol":"Memcached","len":9,"request_type":"get","request_resource":"get foo"}`), nil},
		{"set with data block and a pipelined get", "set foo 5 0 3\r\nbar\r\nget foo bar\n", true, dtest.Lines(
			`{"kind":1,"l7_protocol":"Memcached","len":20,"request_type":"set","request_resource":"set foo 5 0 3"}`,
			`{"kind":1,"l7_protocol":"Memcached","len":12,"request_type":"get","request_resource":"get foo bar"}`), nil},
		{"data block beyond the segment", "set foo 0 0 3000\r\nxxxx", true,
			dtest.Lines(`{"kind":1,"l7_protocol":"Memcached","len":3020,"request_type":"set","request_resource":"set foo 0 0 3000"}`), nil},
		{"noreply is a session", "delete foo noreply\r\nquit\r\n", true, dtest.Lines(
			`{"kind":3,"l7_protocol":"Memcached","response_status":0,"len":20,"request_type":"delete","request_resource":"delete foo noreply"}`,
			`{"kind":3,"l7_protocol":"Memcached","response_status":0,"len":6,"request_type":"quit","request_resource":"quit"}`), nil},
		{"known command with bad arguments", "set x 0 0 nan\r\n", true,
			dtest.Lines(`{"kind":1,"l7_protocol":"Memcached","len":15,"request_type":"set","request_resource":"set x 0 0 nan"}`), nil},
		{"continuation of a data block", "xxxxxxxx\r\n", true, "", nil},
		{"value reply with END is one response", "VALUE foo 5 3\r\nbar\r\nVALUE k 0 2 7\r\nab\r\nEND\r\n", false,
			dtest.Lines(`{"kind":2,"l7_protocol":"Memcached","response_status":0,"len":44}`), nil},
		{"two replies", "END\r\nVALUE n 0 2\r\n12\r\nEND\r\nSTORED\r\n", false, dtest.Lines(
			`{"kind":2,"l7_protocol":"Memcached","response_status":0,"len":5}`,
			`{"kind":2,"l7_protocol":"Memcached","response_status":0,"len":22}`,
			`{"kind":2,"l7_protocol":"Memcached","response_status":0,"len":8}`), nil},
		{"value data containing END", "VALUE k 0 5\r\nEND\r\n\r\nEND\r\n", false,
			dtest.Lines(`{"kind":2,"l7_protocol":"Memcached","response_status":0,"len":25}`), nil},
		{"gets reply with a 20-digit cas", "VALUE k 0 1 18446744073709551615\r\nx\r\nEND\r\n", false,
			dtest.Lines(`{"kind":2,"l7_protocol":"Memcached","response_status":0,"len":42}`), nil},
		{"stats", "STAT pid 1\r\nSTAT uptime 2\r\nEND\r\n", false,
			dtest.Lines(`{"kind":2,"l7_protocol":"Memcached","response_status":0,"len":32}`), nil},
		{"value reply cut by the segment", "VALUE foo 0 3000\r\nxxx", false,
			dtest.Lines(`{"kind":2,"l7_protocol":"Memcached","response_status":0,"len":21}`), nil},
		{"errors", "ERROR\r\nCLIENT_ERROR bad data chunk\r\nSERVER_ERROR out of memory storing object\r\n", false, dtest.Lines(
			`{"kind":2,"l7_protocol":"Memcached","response_status":4,"len":7,"response_exception":"ERROR"}`,
			`{"kind":2,"l7_protocol":"Memcached","response_status":4,"len":29,"response_exception":"bad data chunk"}`,
			`{"kind":2,"l7_protocol":"Memcached","response_status":3,"len":43,"response_exception":"out of memory storing object"}`), nil},
		{"incr result and version", "42\r\nVERSION 1.6.18\r\n", false, dtest.Lines(
			`{"kind":2,"l7_protocol":"Memcached","response_status":0,"len":4}`,
			`{"kind":2,"l7_protocol":"Memcached","response_status":0,"len":16}`), nil},
		{"continuation of a reply", "xyz\r\nEND\r\n", false, "", nil},
		{"binary get", string(binPacket(0x80, 0x00, 0, 7, nil, []byte("bkey"), nil)), true,
			dtest.Lines(`{"kind":1,"l7_protocol":"Memcached","key":7,"len":28,"request_type":"get","request_resource":"bkey"}`), nil},
		{"binary miss is ok", string(binPacket(0x81, 0x00, 1, 7, nil, nil, []byte("Not found"))), false,
			dtest.Lines(`{"kind":2,"l7_protocol":"Memcached","key":7,"response_code":1,"response_status":0,"len":33,"request_type":"get"}`), nil},
		{"binary errors", string(binPacket(0x81, 0x7e, 0x81, 8, nil, nil, []byte("Unknown command"))) +
			string(binPacket(0x81, 0x01, 0x82, 9, nil, nil, []byte("Out of memory"))), false, dtest.Lines(
			`{"kind":2,"l7_protocol":"Memcached","key":8,"response_code":129,"response_status":4,"len":39,"request_type":"0x7e","response_exception":"Unknown command"}`,
			`{"kind":2,"l7_protocol":"Memcached","key":9,"response_code":130,"response_status":3,"len":37,"request_type":"set","response_exception":"Out of memory"}`), nil},
		{"binary quiet ops are sessions", string(binPacket(0x80, 0x0d, 0, 1, nil, []byte("k"), nil)) +
			string(binPacket(0x80, 0x0a, 0, 2, nil, nil, nil)), true, dtest.Lines(
			`{"kind":3,"l7_protocol":"Memcached","key":1,"response_status":0,"len":25,"request_type":"getkq","request_resource":"k"}`,
			`{"kind":1,"l7_protocol":"Memcached","key":2,"len":24,"request_type":"noop"}`), nil},
		{"binary stats: only the end packet", string(binPacket(0x81, 0x10, 0, 3, nil, []byte("pid"), []byte("1"))) +
			string(binPacket(0x81, 0x10, 0, 3, nil, nil, nil)), false,
			dtest.Lines(`{"kind":2,"l7_protocol":"Memcached","key":3,"response_code":0,"response_status":0,"len":24,"request_type":"stats"}`), nil},
		{"binary body beyond the segment", string(binPacket(0x80, 0x01, 0, 4, make([]byte, 8), []byte("k"), make([]byte, 100))[:40]), true,
			dtest.Lines(`{"kind":1,"l7_protocol":"Memcached","key":4,"len":133,"request_type":"set","request_resource":"k"}`), nil},
		{"binary short header", "\x80\x00\x00", true, "", dissectors.ErrShort},
		{"binary bad lengths", string(binPacket(0x80, 0x00, 0, 7, nil, make([]byte, 300), nil)), true, "", dissectors.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, dtest.JSON(dtest.Parse(t, New(), []byte(tc.payload), meta(tc.toServer, len(tc.payload)), tc.err)))
		})
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name     string
		payload  string
		toServer bool
		port     uint16
		want     bool
	}{
		{"set on any port", "set foo 0 0 3\r\nbar\r\n", true, 9999, true},
		{"set with a bad data block end", "set foo 0 0 3\r\nbarXX", true, 9999, false},
		{"gat on any port", "gat 10 foo\r\n", true, 9999, true},
		{"get on 11211", "get foo\r\n", true, 11211, true},
		{"get elsewhere (Redis inline too)", "get foo\r\n", true, 6379, false},
		{"stats on 11211", "stats\r\n", true, 11211, true},
		{"HTTP", "GET / HTTP/1.1\r\n", true, 11211, false},
		{"unterminated line", "get foo", true, 11211, false},
		{"VALUE reply", "VALUE foo 0 3\r\nbar\r\nEND\r\n", false, 9999, true},
		{"STORED", "STORED\r\n", false, 9999, true},
		{"END elsewhere", "END\r\n", false, 9999, false},
		{"END on 11211", "END\r\n", false, 11211, true},
		{"Redis reply", "+OK\r\n", false, 11211, false},
		{"binary request", string(binPacket(0x80, 0x00, 0, 1, nil, []byte("k"), nil)), true, 9999, true},
		{"binary response", string(binPacket(0x81, 0x00, 1, 1, nil, nil, []byte("Not found"))), false, 9999, true},
		{"binary unknown opcode", string(binPacket(0x80, 0x7e, 0, 1, nil, nil, nil)), true, 9999, false},
		{"binary unknown status", string(binPacket(0x81, 0x00, 0x4242, 1, nil, nil, nil)), false, 9999, false},
		{"binary short", "\x80\x00", true, 11211, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := meta(tc.toServer, len(tc.payload))
			m.ServerPort = tc.port
			require.Equal(t, tc.want, New().Check([]byte(tc.payload), m))
		})
	}
}

func TestGolden(t *testing.T) {
	dtest.Goldens(t, New(), []dtest.Capture{
		{Name: "ndpi-memcached", Corpus: "ndpi", File: "memcached.cap"},
		{Name: "memcached-1.6", File: "memcached-1.6.pcap"},
	})
}
