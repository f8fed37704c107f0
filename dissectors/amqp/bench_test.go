package amqp

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func BenchmarkParse(b *testing.B) {
	body := []byte(`{"order": 1234, "items": [1, 2, 3], "total": 99.5}`)
	for _, bc := range []struct {
		name     string
		payload  []byte
		toServer bool
	}{
		{"kind=publish_header_body", cat(mframe(1, 60, 40, uint16(0), "orders", "orders.eu.new", byte(0)),
			frame(frameHeader, 1, []byte{0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, byte(len(body)), 0x10, 0, 2}),
			frame(frameBody, 1, body)), true},
		{"kind=deliver", mframe(1, 60, 60, "ctag-1", uint64(7), byte(0), "orders", "orders.eu.new"), false},
		{"kind=queue_declare", mframe(1, 50, 10, uint16(0), "jobs", byte(0x02), uint32(0)), true},
		{"kind=channel_close", mframe(1, 20, 40, uint16(404), "NOT_FOUND - no queue 'jobs'", uint16(50), uint16(10)), false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d := New()
			m := &dissectors.Meta{Proto: 6, ServerPort: 5672, ToServer: bc.toServer, PayloadLen: uint32(len(bc.payload))}
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
	dtest.NoAllocs(t, New(), dtest.Read(t, "testdata/rabbitmq-3.10.pcap"))
	dtest.NoAllocs(t, New(), dtest.Read(t, dtest.Shared(t, "ndpi", "amqp.pcap")))
}
