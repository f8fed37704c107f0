package http_test

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors/http"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

// The tests that use dtest (golden, fuzz, allocations, benchmarks) live in
// package http_test and use the exported API only, as the engine does; being
// external, they also build if dtest's imports ever reach the registry,
// which imports this package.

func TestGolden(t *testing.T) {
	dtest.Goldens(t, http.New(), []dtest.Capture{
		{Name: "http", Corpus: "ndpi", File: "http.pcapng"},
		{Name: "http_ipv6", Corpus: "ndpi", File: "http_ipv6.pcap"}, // TLS and QUIC only: no records
		{Name: "http-lines-split", Corpus: "ndpi", File: "http-lines-split.pcap"},
		{Name: "http_on_sip_port", Corpus: "ndpi", File: "http_on_sip_port.pcap"},
		{Name: "http1_errors_trace", File: "http1_errors_trace.pcap"},
	})
}
