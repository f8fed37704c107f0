package redis_test

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors/internal/dtest"
	"github.com/tapflow/tapflow/dissectors/redis"
)

func FuzzParse(f *testing.F) {
	dtest.Fuzz(f, redis.New(), 6, [][]byte{lrange, get, arrReply, nested, wrongType, resp3, []byte("PING\r\n"), []byte("+OK\r\n"),
		[]byte("!21\r\nSYNTAX invalid syntax\r\n"), []byte(">2\r\n$7\r\nmessage\r\n|1\r\n+a\r\n:1\r\n:2\r\n"), []byte("$-1\r\n_\r\n")},
		"testdata/redis7.pcap")
}
