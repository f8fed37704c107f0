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
var benchPayloads = []struct {
	name    string
	proto   uint8
	payload []byte
}{
	{"proto=udp/msg=query", udpProto, queryA},
	{"proto=udp/msg=response", udpProto, responseA},
	{"proto=udp/msg=nxdomain", udpProto, nxdomain},
	{"proto=udp/msg=unnamed_type", udpProto, queryUnk},
	{"proto=tcp/msg=pipelined3", tcpProto, tcp(queryA, queryAAAA, queryMX)},
	{"proto=tcp/msg=continuation", tcpProto, tcp(responseA)[20:]},
}

func BenchmarkParse(b *testing.B) {
	d := dns.New()
	for _, bp := range benchPayloads {
		b.Run(bp.name, func(b *testing.B) {
			m := dissectors.Meta{Proto: bp.proto, ClientPort: 40000, ServerPort: 53, ToServer: true, PayloadLen: uint32(len(bp.payload))}
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
	d := dns.New()
	for _, bp := range benchPayloads {
		b.Run(bp.name, func(b *testing.B) {
			m := dissectors.Meta{Proto: bp.proto, ClientPort: 40000, ServerPort: 53, ToServer: true, PayloadLen: uint32(len(bp.payload))}
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
	pkts := dtest.Read(t, filepath.Join("testdata", "unbound.pcap"))
	for _, tc := range parseCases {
		pkts = append(pkts, dtest.Packet{Payload: tc.payload, Meta: dissectors.Meta{
			Proto: tc.proto, ClientPort: 40000, ServerPort: 53, ToServer: tc.toServer, PayloadLen: uint32(len(tc.payload))}})
	}
	dtest.NoAllocs(t, dns.New(), pkts)
}
