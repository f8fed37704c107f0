package amqp

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func BenchmarkParse(b *testing.B) {
	body := []byte(`{"order": 1234, "items": [1, 2, 3], "total": 99.5}`)
	dtest.BenchCases(b, New(), dissectors.Meta{Proto: 6, ServerPort: 5672}, []dtest.Case{
		{Name: "kind=publish_header_body", Payload: cat(mframe(1, 60, 40, uint16(0), "orders", "orders.eu.new", byte(0)),
			frame(frameHeader, 1, []byte{0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, byte(len(body)), 0x10, 0, 2}),
			frame(frameBody, 1, body)), ToServer: true},
		{Name: "kind=deliver", Payload: mframe(1, 60, 60, "ctag-1", uint64(7), byte(0), "orders", "orders.eu.new")},
		{Name: "kind=queue_declare", Payload: mframe(1, 50, 10, uint16(0), "jobs", byte(0x02), uint32(0)), ToServer: true},
		{Name: "kind=channel_close", Payload: mframe(1, 20, 40, uint16(404), "NOT_FOUND - no queue 'jobs'", uint16(50), uint16(10))},
	})
}

func TestNoAllocs(t *testing.T) {
	dtest.NoAllocs(t, New(), dtest.Read(t, "testdata/rabbitmq-3.10.pcap"))
	dtest.NoAllocs(t, New(), dtest.Read(t, dtest.Shared(t, "ndpi", "amqp.pcap")))
}
