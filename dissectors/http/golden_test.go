package http_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dissectors/http"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

// The tests that use dtest (golden, fuzz, allocations, benchmarks) live in
// package http_test and use the exported API only, as the engine does; being
// external, they also build if dtest's imports ever reach the registry,
// which imports this package.

func TestGolden(t *testing.T) {
	for _, tc := range []struct{ name, shared, path string }{
		{name: "http", shared: "http.pcapng"},
		{name: "http_ipv6", shared: "http_ipv6.pcap"}, // TLS and QUIC only: no records
		{name: "http-lines-split", shared: "http-lines-split.pcap"},
		{name: "http_on_sip_port", shared: "http_on_sip_port.pcap"},
		{name: "http1_errors_trace", path: "testdata/http1_errors_trace.pcap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if tc.shared != "" {
				path = dtest.Shared(t, "ndpi", tc.shared)
			}
			out, errs := dtest.Run(http.New(), dtest.Read(t, path))
			require.Zero(t, errs)
			dtest.Golden(t, tc.name, out)
		})
	}
}
