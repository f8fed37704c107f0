package kafka

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func FuzzParse(f *testing.F) {
	for _, s := range [][]byte{
		request(18, 0, 7, "rdkafka", false, nil),
		produceV3(2, 1), produceV3(3, 0), produceV9(6), fetchV11(9), fetchV12(10),
		append(fetchV11(1), fetchV12(2)...),
		produceRespV8(3), produceRespV9(6), fetchRespV11(9), fetchRespV12(60), fetchRespV12(60)[:70],
		apiVersionsResp(7), apiVersionsRespV3(1, 35),
		append(produceRespV9(70), fetchRespV11(71)...),
	} {
		f.Add(s)
	}
	for _, p := range dtest.Read(f, "testdata/kfake.pcap") {
		f.Add(p.Payload)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dtest.Invariants(t, New(), data, 6)
	})
}
