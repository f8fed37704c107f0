package kafka

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func FuzzParse(f *testing.F) {
	dtest.Fuzz(f, New(), 6, [][]byte{
		request(18, 0, 7, "rdkafka", false, nil),
		produceV3(2, 1), produceV3(3, 0), produceV9(6), fetchV11(9), fetchV12(10),
		append(fetchV11(1), fetchV12(2)...),
		produceRespV8(3), produceRespV9(6), fetchRespV11(9), fetchRespV12(60), fetchRespV12(60)[:70],
		apiVersionsResp(7), apiVersionsRespV3(1, 35),
		append(produceRespV9(70), fetchRespV11(71)...),
	}, "testdata/kfake.pcap")
}
