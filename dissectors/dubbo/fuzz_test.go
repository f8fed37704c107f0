package dubbo

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func FuzzParse(f *testing.F) {
	for _, seg := range dubboExchange() {
		f.Add(seg.payload)
	}
	f.Add(msg(reqTwoWay, 0, 9, hs("2.0.2"), []byte{'R', 0, 4}, []byte("com."), []byte{3}, []byte("Svc"), hs(""), []byte{'S', 0, 3}, []byte("get")))
	f.Add(msg(reqTwoWay, 0, 9, hs("2.0.2"), hs("a.\u00e9\u4e16"), hs(""), hs("m")))
	f.Fuzz(func(t *testing.T, data []byte) {
		dtest.Invariants(t, New(), data, 6)
	})
}
