package http_test

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors/http"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func FuzzParse(f *testing.F) {
	for _, s := range http.FuzzSeeds {
		f.Add([]byte(s))
	}
	for _, p := range dtest.Read(f, "testdata/http1_errors_trace.pcap") {
		f.Add(p.Payload)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dtest.Invariants(t, http.New(), data, 6)
	})
}
