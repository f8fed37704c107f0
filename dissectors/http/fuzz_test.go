package http_test

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors/http"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func FuzzParse(f *testing.F) {
	dtest.Fuzz(f, http.New(), 6, http.FuzzSeeds, "testdata/http1_errors_trace.pcap")
}
