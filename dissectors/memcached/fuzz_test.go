package memcached

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func FuzzParse(f *testing.F) {
	dtest.Fuzz(f, New(), 6, []string{
		"get foo\r\n", "set foo 0 0 3\r\nbar\r\nget foo\r\n", "cas k 0 -1 2 5 noreply\r\nab\r\n",
		"VALUE foo 5 3\r\nbar\r\nEND\r\n", "STAT pid 1\r\nEND\r\n", "SERVER_ERROR x\r\n",
		string(binPacket(0x80, 0x01, 0, 1, make([]byte, 8), []byte("k"), []byte("v"))),
		string(binPacket(0x81, 0x10, 0, 3, nil, []byte("pid"), []byte("1"))),
	}, "testdata/memcached-1.6.pcap")
}
