package tls_test

import (
	"path/filepath"
	"testing"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
	"github.com/tapflow/tapflow/dissectors/tls"
)

// benchPayloads are realistic first segments: hellos, a TLS 1.2 server
// flight, an alert, and application data (which yields nothing).
var benchPayloads = []struct {
	name     string
	toServer bool
	payload  []byte
}{
	{"msg=client_hello_tls13", true, ch13},
	{"msg=server_hello_tls13", false, sh13},
	{"msg=server_flight_tls12", false, sh12Flight},
	{"msg=alert", false, alert(2, 40)},
	{"msg=application_data", false, cat(appData, appData)},
}

func BenchmarkParse(b *testing.B) {
	d := tls.New()
	for _, bp := range benchPayloads {
		b.Run(bp.name, func(b *testing.B) {
			m := dissectors.Meta{Proto: tcpProto, ClientPort: 40000, ServerPort: 443, ToServer: bp.toServer, PayloadLen: uint32(len(bp.payload))}
			dst := make([]dissectors.Record, 0, 4)
			b.ReportAllocs()
			b.SetBytes(int64(len(bp.payload)))
			for b.Loop() {
				dst, _ = d.Parse(dst[:0], bp.payload, &m)
			}
		})
	}
}

func BenchmarkCheck(b *testing.B) {
	d := tls.New()
	for _, bp := range benchPayloads {
		b.Run(bp.name, func(b *testing.B) {
			m := dissectors.Meta{Proto: tcpProto, ClientPort: 40000, ServerPort: 443, ToServer: bp.toServer, PayloadLen: uint32(len(bp.payload))}
			b.ReportAllocs()
			b.SetBytes(int64(len(bp.payload)))
			for b.Loop() {
				d.Check(bp.payload, &m)
			}
		})
	}
}

func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	pkts := dtest.Read(t, filepath.Join("testdata", "openssl.pcap"))
	for _, tc := range parseCases {
		pkts = append(pkts, dtest.Packet{Payload: tc.payload, Meta: dissectors.Meta{
			Proto: tcpProto, ClientPort: 40000, ServerPort: 443, ToServer: tc.toServer, PayloadLen: uint32(len(tc.payload))}})
	}
	dtest.NoAllocs(t, tls.New(), pkts)
}
