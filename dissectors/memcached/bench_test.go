package memcached

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func BenchmarkParse(b *testing.B) {
	dtest.BenchCases(b, New(), dissectors.Meta{Proto: 6, ServerPort: 11211}, []dtest.Case{
		{Name: "kind=text_get", Payload: []byte("get user:1234:profile\r\n"), ToServer: true},
		{Name: "kind=text_set", Payload: []byte("set user:1234:profile 0 3600 32\r\n0123456789abcdef0123456789abcdef\r\n"), ToServer: true},
		{Name: "kind=text_value", Payload: []byte("VALUE user:1234:profile 0 32\r\n0123456789abcdef0123456789abcdef\r\nEND\r\n")},
		{Name: "kind=binary_get", Payload: binPacket(0x80, 0x00, 0, 42, nil, []byte("user:1234:profile"), nil), ToServer: true},
		{Name: "kind=binary_pipeline", Payload: append(binPacket(0x81, 0x00, 1, 42, nil, nil, []byte("Not found")),
			binPacket(0x81, 0x0a, 0, 43, nil, nil, nil)...)},
	})
}

func TestNoAllocs(t *testing.T) {
	dtest.NoAllocs(t, New(), dtest.Read(t, "testdata/memcached-1.6.pcap"))
	dtest.NoAllocs(t, New(), dtest.Read(t, dtest.Shared(t, "ndpi", "memcached.cap")))
}
