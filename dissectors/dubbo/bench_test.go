package dubbo

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func BenchmarkParse(b *testing.B) {
	dtest.BenchCases(b, New(), dissectors.Meta{Proto: 6, ServerPort: 20880}, []dtest.Case{
		{Name: "kind=request", Payload: invoke(1, greetings, "1.0.0", "sayHi", "dubbo"), ToServer: true},
		{Name: "kind=response_ok", Payload: msg(respH2, statusOK, 1, []byte{0x94}, hs("hi, dubbo"), hmap("dubbo", "2.0.2"))},
		{Name: "kind=response_error", Payload: msg(respH2, 60, 3, hs("Not found exported service: org.apache.dubbo.samples.api.MissingService:1.0.0:20880"))},
		{Name: "kind=pipelined_requests", Payload: append(invoke(4, greetings, "1.0.0", "sayHello", "a"), invoke(5, greetings, "1.0.0", "sayHello", "b")...), ToServer: true},
	})
}

func TestNoAllocs(t *testing.T) {
	dtest.NoAllocs(t, New(), dtest.Read(t, "testdata/dubbo.pcap"))
}
