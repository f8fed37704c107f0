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
	for _, tc := range parseCases {
		f.Add(tc.payload)
	}
	for _, p := range dtest.Read(f, filepath.Join("testdata", "openssl.pcap")) {
		f.Add(p.Payload)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dtest.Invariants(t, tls.New(), data, tcpProto)
	})
}
