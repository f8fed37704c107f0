package tap_test

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/tap"
)

// encapFrames are one TCP data frame per encapsulation the decoder follows,
// for benchmarks and the allocation test.
func encapFrames(tb testing.TB) []struct {
	name string
	link uint32
	data []byte
} {
	t4 := func(p layers.IPProtocol) *layers.IPv4 { return ip4(outerSrc, outerDst, p) }
	gre := func(g *layers.GRE, rest ...any) []byte {
		return build(tb, cat(append([]any{eth(layers.EthernetTypeIPv4), t4(layers.IPProtocolGRE), g}, rest...)...)...)
	}
	udpTun := func(port uint16, rest ...any) []byte {
		return build(tb, cat(append([]any{eth(layers.EthernetTypeIPv4), t4(layers.IPProtocolUDP), udp(51000, port)}, rest...)...)...)
	}
	seqGRE := func(proto layers.EthernetType) *layers.GRE {
		return &layers.GRE{SeqPresent: true, Seq: 1, Protocol: proto}
	}
	return []struct {
		name string
		link uint32
		data []byte
	}{
		{"plain", tap.LinkEthernet, build(tb, inner4(tb)...)},
		{"vlan", tap.LinkEthernet, build(tb, cat(eth(layers.EthernetTypeDot1Q), dot1q(100, layers.EthernetTypeIPv4), ipOnly())...)},
		{"qinq", tap.LinkEthernet, build(tb, cat(eth(layers.EthernetTypeQinQ), dot1q(200, layers.EthernetTypeDot1Q), dot1q(2001, layers.EthernetTypeIPv4), ipOnly())...)},
		{"mpls", tap.LinkEthernet, build(tb, cat(eth(layers.EthernetTypeMPLSUnicast), &layers.MPLS{Label: 16, TTL: 64}, &layers.MPLS{Label: 17, StackBottom: true, TTL: 64}, ipOnly())...)},
		{"pppoe", tap.LinkEthernet, build(tb, cat(eth(layers.EthernetTypePPPoESession), &layers.PPPoE{Version: 1, Type: 1, Code: layers.PPPoECodeSession, SessionId: 7}, gopacket.Payload{0x00, 0x21}, ipOnly())...)},
		{"ipv6", tap.LinkEthernet, build(tb, eth(layers.EthernetTypeIPv6), ip6(innerSrc6, innerDst6, layers.IPProtocolTCP), tcpData(), gopacket.Payload(payload))},
		{"gre", tap.LinkEthernet, gre(&layers.GRE{KeyPresent: true, Key: 5, Protocol: layers.EthernetTypeIPv4}, ipOnly())},
		{"gre-teb", tap.LinkEthernet, gre(&layers.GRE{KeyPresent: true, Key: 5, Protocol: layers.EthernetTypeTransparentEthernetBridging}, inner4(tb))},
		{"erspan1", tap.LinkEthernet, gre(&layers.GRE{Protocol: layers.EthernetTypeERSPAN}, inner4(tb))},
		{"erspan2", tap.LinkEthernet, gre(seqGRE(layers.EthernetTypeERSPAN), &layers.ERSPANII{Version: 1, VLANIdentifier: 5, SessionID: 101}, inner4(tb))},
		{"erspan3", tap.LinkEthernet, gre(seqGRE(0x22EB), erspan3(300, 20, 0, true), inner4(tb))},
		{"vxlan", tap.LinkEthernet, udpTun(4789, &layers.VXLAN{ValidIDFlag: true, VNI: 42}, inner4(tb))},
		{"vxlan-gpe-nsh", tap.LinkEthernet, udpTun(4790, vxlanGPE(78, 4), nsh(3), inner4(tb))},
		{"geneve", tap.LinkEthernet, udpTun(6081, &layers.Geneve{Protocol: layers.EthernetTypeTransparentEthernetBridging, VNI: 0xA,
			Options: []*layers.GeneveOption{{Class: 0x0102, Type: 0x80, Length: 8, Data: []byte{0, 0, 0, 12}}}}, inner4(tb))},
		{"mpls-udp", tap.LinkEthernet, udpTun(6635, &layers.MPLS{Label: 21, StackBottom: true, TTL: 63}, ipOnly())},
		{"ipip", tap.LinkEthernet, build(tb, cat(eth(layers.EthernetTypeIPv4), t4(layers.IPProtocolIPv4), ipOnly())...)},
		{"6in4", tap.LinkEthernet, build(tb, eth(layers.EthernetTypeIPv4), t4(layers.IPProtocolIPv6), ip6(innerSrc6, innerDst6, layers.IPProtocolTCP), tcpData(), gopacket.Payload(payload))},
		{"4in6", tap.LinkEthernet, build(tb, cat(eth(layers.EthernetTypeIPv6), ip6(outerSrc6, outerDst6, layers.IPProtocolIPv4), ipOnly())...)},
		{"sll", tap.LinkSLL2, build(tb, cat(gopacket.Payload{0x08, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0}, ipOnly())...)},
		{"raw", tap.LinkRaw, build(tb, ipOnly()...)},
	}
}

// BenchmarkDecode decodes one frame per encapsulation; every one must report
// 0 allocs/op.
func BenchmarkDecode(b *testing.B) {
	for _, f := range encapFrames(b) {
		b.Run("encap="+f.name, func(b *testing.B) {
			d := tap.NewDecoder(f.link)
			var m tap.Meta
			b.ReportAllocs()
			b.SetBytes(int64(len(f.data)))
			for b.Loop() {
				if err := d.Decode(f.data, 1, uint32(len(f.data)), &m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestDecodeAllocs is the allocation guarantee that BenchmarkDecode shows.
func TestDecodeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	for _, f := range encapFrames(t) {
		d := tap.NewDecoder(f.link)
		var m tap.Meta
		allocs := testing.AllocsPerRun(100, func() {
			if err := d.Decode(f.data, 1, uint32(len(f.data)), &m); err != nil {
				t.Fatal(err)
			}
		})
		require.Zero(t, allocs, "encap=%s", f.name)
		require.Equal(t, "hello tapflow", string(m.Payload), "encap=%s decodes to the inner payload", f.name)
	}
}
