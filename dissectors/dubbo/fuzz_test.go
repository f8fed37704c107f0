package dubbo

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func FuzzParse(f *testing.F) {
	seeds := [][]byte{
		msg(reqTwoWay, 0, 9, hs("2.0.2"), []byte{'R', 0, 4}, []byte("com."), []byte{3}, []byte("Svc"), hs(""), []byte{'S', 0, 3}, []byte("get")),
		msg(reqTwoWay, 0, 9, hs("2.0.2"), hs("a.\u00e9\u4e16"), hs(""), hs("m")),
	}
	for _, seg := range dubboExchange() {
		seeds = append(seeds, seg.payload)
	}
	dtest.Fuzz(f, New(), 6, seeds)
}
