package tls_test

import (
	"path/filepath"
	"testing"

	"github.com/tapflow/tapflow/dissectors/internal/dtest"
	"github.com/tapflow/tapflow/dissectors/tls"
)

// FuzzParse checks the dissector's invariants (no panic; records or an
// error, never both; dst's records untouched) on any payload. It is seeded
// from the table tests and the local capture.
func FuzzParse(f *testing.F) {
	var seeds [][]byte
	for _, tc := range parseCases {
		seeds = append(seeds, tc.payload)
	}
	dtest.Fuzz(f, tls.New(), tcpProto, seeds, filepath.Join("testdata", "openssl.pcap"))
}
