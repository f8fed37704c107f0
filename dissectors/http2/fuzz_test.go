package http2_test

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors/http2"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func FuzzParse(f *testing.F) {
	for _, p := range http2.FuzzSeeds {
		f.Add(p)
	}
	for _, path := range []string{"testdata/grpc.pcap", "testdata/h2c.pcap"} {
		for _, p := range dtest.Read(f, path) {
			f.Add(p.Payload)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dtest.Invariants(t, http2.New(), data, 6)
		var buf [64]byte
		http2.HuffDecode(buf[:], data)
	})
}
