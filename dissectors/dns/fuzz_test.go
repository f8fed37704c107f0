package dns_test

import (
	"path/filepath"
	"testing"

	"github.com/tapflow/tapflow/dissectors/dns"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

// FuzzParse checks the dissector's invariants (no panic; records or an
// error, never both; dst's records untouched) on any payload, over UDP and
// TCP. It is seeded from the table tests and the local capture.
func FuzzParse(f *testing.F) {
	for _, tc := range parseCases {
		f.Add(tc.payload, tc.proto == tcpProto)
	}
	for _, p := range dtest.Read(f, filepath.Join("testdata", "unbound.pcap")) {
		f.Add(p.Payload, p.Meta.Proto == tcpProto)
	}
	f.Fuzz(func(t *testing.T, data []byte, overTCP bool) {
		proto := uint8(udpProto)
		if overTCP {
			proto = tcpProto
		}
		dtest.Invariants(t, dns.New(), data, proto)
	})
}
