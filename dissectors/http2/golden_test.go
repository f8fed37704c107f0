package http2_test

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors/http2"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

// The tests that use dtest (golden, fuzz, allocations, benchmarks) live in
// package http2_test and use the exported API only, as the engine does; being
// external, they also build if dtest's imports ever reach the registry,
// which imports this package.

func TestGolden(t *testing.T) {
	dtest.Goldens(t, http2.New(), []dtest.Capture{
		{Name: "http2", Corpus: "ndpi", File: "http2.pcapng"},
		{Name: "h2c", File: "h2c.pcap"},
		{Name: "grpc", File: "grpc.pcap"},
		// Without the first request (the preface, SETTINGS and the
		// first HEADERS): the flow is found from a later HEADERS and the
		// dynamic-table references stay unknown.
		{Name: "grpc_midstream", File: "grpc.pcap", Skip: 8},
		{Name: "http_ipv6", Corpus: "ndpi", File: "http_ipv6.pcap"}, // TLS and QUIC only: no records
	})
}
