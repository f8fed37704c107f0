package mqtt

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct {
		name     string
		payload  string
		toServer bool
	}{
		{"kind=connect", "\x10\x23\x00\x04MQTT\x04\xc2\x00\x3c\x00\x08sub-v311\x00\x05alice\x00\x06secret", true},
		{"kind=publish_qos1", "\x32\x2a\x00\x14sensors/room-12/temp\x00\x07{\"t\":21.5,\"unit\":\"C\"}", true},
		{"kind=acks", "\x40\x02\x00\x07\x50\x02\x00\x08\x70\x02\x00\x08\xd0\x00", false},
		{"kind=subscribe", "\x82\x16\x00\x05\x00\x03a/#\x01\x00\x0bsensors/+/t\x02", true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d := New()
			p := []byte(bc.payload)
			m := &dissectors.Meta{Proto: 6, ServerPort: 1883, ToServer: bc.toServer, PayloadLen: uint32(len(p))}
			recs := make([]dissectors.Record, 0, 8)
			b.ReportAllocs()
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				d.Check(p, m)
				recs, _ = d.Parse(recs[:0], p, m)
			}
		})
	}
}

func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	dtest.NoAllocs(t, New(), dtest.Read(t, "testdata/mosquitto.pcap"))
	dtest.NoAllocs(t, New(), dtest.Read(t, dtest.Shared(t, "ndpi", "mqtt.pcap")))
}
