package dubbo

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct {
		name     string
		payload  []byte
		toServer bool
	}{
		{"kind=request", invoke(1, greetings, "1.0.0", "sayHi", "dubbo"), true},
		{"kind=response_ok", msg(respH2, statusOK, 1, []byte{0x94}, hs("hi, dubbo"), hmap("dubbo", "2.0.2")), false},
		{"kind=response_error", msg(respH2, 60, 3, hs("Not found exported service: org.apache.dubbo.samples.api.MissingService:1.0.0:20880")), false},
		{"kind=pipelined_requests", append(invoke(4, greetings, "1.0.0", "sayHello", "a"), invoke(5, greetings, "1.0.0", "sayHello", "b")...), true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d := New()
			m := &dissectors.Meta{Proto: 6, ServerPort: 20880, ToServer: bc.toServer, PayloadLen: uint32(len(bc.payload))}
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
	dtest.NoAllocs(t, New(), dtest.Read(t, "testdata/dubbo.pcap"))
}
