package redis_test

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
	"github.com/tapflow/tapflow/dissectors/redis"
)

func BenchmarkParse(b *testing.B) {
	dtest.BenchCases(b, redis.New(), dissectors.Meta{Proto: 6}, []dtest.Case{
		{Name: "msg=command", Payload: lrange, ToServer: true},
		{Name: "msg=pipeline", Payload: cat(get, cmd("INCR", "n"), cmd("SET", "k", "v"), lrange), ToServer: true},
		{Name: "msg=inline", Payload: []byte("PING\r\n"), ToServer: true},
		{Name: "msg=array", Payload: arrReply},
		{Name: "msg=error", Payload: wrongType},
	})
	dtest.BenchPcap(b, redis.New(), "testdata/redis7.pcap")
}

func TestNoAllocs(t *testing.T) {
	dtest.NoAllocs(t, redis.New(), dtest.Read(t, "testdata/redis7.pcap"))
}
