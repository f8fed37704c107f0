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
var benchPayloads = []dtest.Case{
	{Name: "msg=client_hello_tls13", ToServer: true, Payload: ch13},
	{Name: "msg=server_hello_tls13", Payload: sh13},
	{Name: "msg=server_flight_tls12", Payload: sh12Flight},
	{Name: "msg=alert", Payload: alert(2, 40)},
	{Name: "msg=application_data", Payload: cat(appData, appData)},
}

var benchMeta = dissectors.Meta{Proto: tcpProto, ClientPort: 40000, ServerPort: 443}

func BenchmarkParse(b *testing.B) { dtest.BenchParse(b, tls.New(), benchMeta, benchPayloads) }

func BenchmarkCheck(b *testing.B) { dtest.BenchCheck(b, tls.New(), benchMeta, benchPayloads) }

func TestNoAllocs(t *testing.T) {
	pkts := dtest.Read(t, filepath.Join("testdata", "openssl.pcap"))
	for _, tc := range parseCases {
		pkts = append(pkts, dtest.Packet{Payload: tc.payload, Meta: dissectors.Meta{
			Proto: tcpProto, ClientPort: 40000, ServerPort: 443, ToServer: tc.toServer, PayloadLen: uint32(len(tc.payload))}})
	}
	dtest.NoAllocs(t, tls.New(), pkts)
}
