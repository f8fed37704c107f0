package dns_test

import (
	"path/filepath"
	"testing"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/dns"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

// benchPayloads are realistic messages: a query and an answer over UDP,
// an unnamed type, an NXDOMAIN, and three pipelined queries over TCP.
var benchPayloads = []dtest.Case{
	{Name: "proto=udp/msg=query", Proto: udpProto, Payload: queryA, ToServer: true},
	{Name: "proto=udp/msg=response", Proto: udpProto, Payload: responseA, ToServer: true},
	{Name: "proto=udp/msg=nxdomain", Proto: udpProto, Payload: nxdomain, ToServer: true},
	{Name: "proto=udp/msg=unnamed_type", Proto: udpProto, Payload: queryUnk, ToServer: true},
	{Name: "proto=tcp/msg=pipelined3", Proto: tcpProto, Payload: tcp(queryA, queryAAAA, queryMX), ToServer: true},
	{Name: "proto=tcp/msg=continuation", Proto: tcpProto, Payload: tcp(responseA)[20:], ToServer: true},
}

var benchMeta = dissectors.Meta{ClientPort: 40000, ServerPort: 53}

func BenchmarkParse(b *testing.B) { dtest.BenchParse(b, dns.New(), benchMeta, benchPayloads) }

func BenchmarkCheck(b *testing.B) { dtest.BenchCheck(b, dns.New(), benchMeta, benchPayloads) }

func TestNoAllocs(t *testing.T) {
	pkts := dtest.Read(t, filepath.Join("testdata", "unbound.pcap"))
	for _, tc := range parseCases {
		pkts = append(pkts, dtest.Packet{Payload: tc.payload, Meta: dissectors.Meta{
			Proto: tc.proto, ClientPort: 40000, ServerPort: 53, ToServer: tc.toServer, PayloadLen: uint32(len(tc.payload))}})
	}
	dtest.NoAllocs(t, dns.New(), pkts)
}
