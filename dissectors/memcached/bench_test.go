package memcached

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct {
		name     string
		payload  []byte
		toServer bool
	}{
		{"kind=text_get", []byte("get user:1234:profile\r\n"), true},
		{"kind=text_set", []byte("set user:1234:profile 0 3600 32\r\n0123456789abcdef0123456789abcdef\r\n"), true},
		{"kind=text_value", []byte("VALUE user:1234:profile 0 32\r\n0123456789abcdef0123456789abcdef\r\nEND\r\n"), false},
		{"kind=binary_get", binPacket(0x80, 0x00, 0, 42, nil, []byte("user:1234:profile"), nil), true},
		{"kind=binary_pipeline", append(binPacket(0x81, 0x00, 1, 42, nil, nil, []byte("Not found")),
			binPacket(0x81, 0x0a, 0, 43, nil, nil, nil)...), false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d := New()
			m := &dissectors.Meta{Proto: 6, ServerPort: 11211, ToServer: bc.toServer, PayloadLen: uint32(len(bc.payload))}
			recs := make([]dissectors.Record, 0, 8)
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.payload)))
			for b.Loop() {
				d.Check(bc.payload, m)
				recs, _ = d.Parse(recs[:0], bc.payload, m)
			}
		})
	}
}

func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	dtest.NoAllocs(t, New(), dtest.Read(t, "testdata/memcached-1.6.pcap"))
	dtest.NoAllocs(t, New(), dtest.Read(t, dtest.Shared(t, "ndpi", "memcached.cap")))
}
