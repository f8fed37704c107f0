package http2_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dissectors/http2"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

// The tests that use dtest (golden, fuzz, allocations, benchmarks) live in
// package http2_test and use the exported API only, as the engine does; being
// external, they also build if dtest's imports ever reach the registry,
// which imports this package.

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name, shared, path string
		skip               int // packets dropped from the start: a capture that begins mid-connection
	}{
		{name: "http2", shared: "http2.pcapng"},
		{name: "h2c", path: "testdata/h2c.pcap"},
		{name: "grpc", path: "testdata/grpc.pcap"},
		// Without the first request (the preface, SETTINGS and the
		// first HEADERS): the flow is found from a later HEADERS and the
		// dynamic-table references stay unknown.
		{name: "grpc_midstream", path: "testdata/grpc.pcap", skip: 8},
		{name: "http_ipv6", shared: "http_ipv6.pcap"}, // TLS and QUIC only: no records
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if tc.shared != "" {
				path = dtest.Shared(t, "ndpi", tc.shared)
			}
			pkts := dtest.Read(t, path)
			require.Greater(t, len(pkts), tc.skip)
			out, errs := dtest.Run(http2.New(), pkts[tc.skip:])
			require.Zero(t, errs)
			dtest.Golden(t, tc.name, out)
		})
	}
}
