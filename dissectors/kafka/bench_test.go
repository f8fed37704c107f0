package kafka

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func BenchmarkParse(b *testing.B) {
	big := fetchRespV12(60)
	for _, bc := range []struct {
		name     string
		payload  []byte
		toServer bool
	}{
		{"msg=produce-v9-request", produceV9(6), true},
		{"msg=fetch-v11-request", fetchV11(9), true},
		{"msg=metadata-request", request(3, 12, 5, "console-producer", true, wb(nil).uv(1).i8(0).i8(0).tags()), true},
		{"msg=produce-v9-response", produceRespV9(6), false},
		{"msg=fetch-v12-response", big, false},
		{"msg=fetch-v12-response-first-segment", big[:70], false},
		{"msg=apiversions-response", apiVersionsRespV3(1, 0), false},
		{"msg=heartbeat-response", response(5, false, wb(nil).i16(27)), false},
		{"msg=metadata-response", response(8, false, wb(nil).i32(1).i32(1001).str("172.30.0.237").i32(9092).i16(-1).
			str("Q5NNiXPfR2qTAoF5i73JPg").i32(1001).i32(1).i16(0).str("orders").i8(0).i32(1).i16(0).i32(0).i32(1001).
			i32(1).i32(1001).i32(1).i32(1001)), false},
		{"msg=pipelined2", append(fetchV11(1), fetchV12(2)...), true},
		{"msg=continuation", records, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d := New()
			m := meta(bc.toServer, bc.payload)
			dst := make([]dissectors.Record, 0, 8)
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.payload)))
			for b.Loop() {
				d.Check(bc.payload, m)
				dst, _ = d.Parse(dst[:0], bc.payload, m)
			}
		})
	}
}

func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	pkts := dtest.Read(t, "testdata/kfake.pcap")
	pkts = append(pkts, dtest.Read(t, dtest.Shared(t, "ndpi", "kafka.pcapng"))...)
	for _, p := range [][]byte{produceV3(3, 0), fetchV12(10), produceRespV8(3), fetchRespV11(9), apiVersionsResp(7)} {
		pkts = append(pkts, dtest.Packet{Payload: p, Meta: *meta(true, p)}, dtest.Packet{Payload: p, Meta: *meta(false, p)})
	}
	dtest.NoAllocs(t, New(), pkts)
}
