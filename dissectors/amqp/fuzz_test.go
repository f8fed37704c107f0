package amqp

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func FuzzParse(f *testing.F) {
	dtest.Fuzz(f, New(), 6, [][]byte{
		mframe(1, 60, 60, "ctag", uint64(7), byte(0), "amq.topic", "orders.eu"),
		mframe(1, 50, 20, uint16(0), "jobs", "amq.topic", "orders.#", byte(0), uint32(0)),
		mframe(0, 10, 50, uint16(541), "INTERNAL_ERROR", uint16(0), uint16(0)),
	}, "testdata/rabbitmq-3.10.pcap")
}
