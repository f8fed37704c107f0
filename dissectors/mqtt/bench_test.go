package mqtt

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func BenchmarkParse(b *testing.B) {
	dtest.BenchCases(b, New(), dissectors.Meta{Proto: 6, ServerPort: 1883}, []dtest.Case{
		{Name: "kind=connect", Payload: []byte("\x10\x23\x00\x04MQTT\x04\xc2\x00\x3c\x00\x08sub-v311\x00\x05alice\x00\x06secret"), ToServer: true},
		{Name: "kind=publish_qos1", Payload: []byte("\x32\x2a\x00\x14sensors/room-12/temp\x00\x07{\"t\":21.5,\"unit\":\"C\"}"), ToServer: true},
		{Name: "kind=acks", Payload: []byte("\x40\x02\x00\x07\x50\x02\x00\x08\x70\x02\x00\x08\xd0\x00")},
		{Name: "kind=subscribe", Payload: []byte("\x82\x16\x00\x05\x00\x03a/#\x01\x00\x0bsensors/+/t\x02"), ToServer: true},
	})
}

func TestNoAllocs(t *testing.T) {
	dtest.NoAllocs(t, New(), dtest.Read(t, "testdata/mosquitto.pcap"))
	dtest.NoAllocs(t, New(), dtest.Read(t, dtest.Shared(t, "ndpi", "mqtt.pcap")))
}
