package kafka

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func BenchmarkParse(b *testing.B) {
	big := fetchRespV12(60)
	dtest.BenchCases(b, New(), *meta(false, nil), []dtest.Case{
		{Name: "msg=produce-v9-request", Payload: produceV9(6), ToServer: true},
		{Name: "msg=fetch-v11-request", Payload: fetchV11(9), ToServer: true},
		{Name: "msg=metadata-request", Payload: request(3, 12, 5, "console-producer", true, wb(nil).uv(1).i8(0).i8(0).tags()), ToServer: true},
		{Name: "msg=produce-v9-response", Payload: produceRespV9(6)},
		{Name: "msg=fetch-v12-response", Payload: big},
		{Name: "msg=fetch-v12-response-first-segment", Payload: big[:70]},
		{Name: "msg=apiversions-response", Payload: apiVersionsRespV3(1, 0)},
		{Name: "msg=heartbeat-response", Payload: response(5, false, wb(nil).i16(27))},
		{Name: "msg=metadata-response", Payload: response(8, false, wb(nil).i32(1).i32(1001).str("172.30.0.237").i32(9092).i16(-1).
			str("Q5NNiXPfR2qTAoF5i73JPg").i32(1001).i32(1).i16(0).str("orders").i8(0).i32(1).i16(0).i32(0).i32(1001).
			i32(1).i32(1001).i32(1).i32(1001))},
		{Name: "msg=pipelined2", Payload: append(fetchV11(1), fetchV12(2)...), ToServer: true},
		{Name: "msg=continuation", Payload: records},
	})
}

func TestNoAllocs(t *testing.T) {
	pkts := dtest.Read(t, "testdata/kfake.pcap")
	pkts = append(pkts, dtest.Read(t, dtest.Shared(t, "ndpi", "kafka.pcapng"))...)
	for _, p := range [][]byte{produceV3(3, 0), fetchV12(10), produceRespV8(3), fetchRespV11(9), apiVersionsResp(7)} {
		pkts = append(pkts, dtest.Packet{Payload: p, Meta: *meta(true, p)}, dtest.Packet{Payload: p, Meta: *meta(false, p)})
	}
	dtest.NoAllocs(t, New(), pkts)
}
