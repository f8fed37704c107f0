package e2e

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The lines below are copied from ../shared/pcaps/ndpi/expected/*.out (the
// file is named in each case), cut after the fields the parser reads.
func TestParseNDPIFlowLine(t *testing.T) {
	ap := netip.MustParseAddrPort
	tests := []struct {
		name string
		line string
		want NDPIFlow
	}{
		{
			name: "tcp ipv4 bidirectional", // 443-curl.pcap.out
			line: "\t1\tTCP 192.168.1.13:55523 <-> 178.62.197.130:443 [proto: 91.26/TLS.ntop][IP: 26/ntop][Encrypted][Confidence: DPI][FPC: 26/ntop, Confidence: IP address][DPI packets: 7][cat: Network/14][51 pkts/4260 bytes <-> 58 pkts/69722 bytes][Goodput ratio: 22/94][1.10 sec][Hostname/SNI: www.ntop.org][(Advertised) ALPNs: h2;http/1.1]",
			want: NDPIFlow{
				Proto: "TCP", IPProto: 6,
				Src: ap("192.168.1.13:55523"), Dst: ap("178.62.197.130:443"),
				PacketsSrcToDst: 51, BytesSrcToDst: 4260, PacketsDstToSrc: 58, BytesDstToSrc: 69722,
			},
		},
		{
			name: "udp ipv6 unidirectional", // 1kxun.pcap.out
			line: "\t113\tUDP [fe80::406:55a8:6453:25dd]:546 -> [ff02::1:2]:547 [proto: 103/DHCPV6][IP: 0/Unknown][ClearText][Confidence: DPI][FPC: 103/DHCPV6, Confidence: DPI][DPI packets: 1][cat: Network/14][5 pkts/490 bytes -> 0 pkts/0 bytes][Goodput ratio: 37/0][15.56 sec][Plen Bins: 0,100,0,0,0",
			want: NDPIFlow{
				Proto: "UDP", IPProto: 17,
				Src: ap("[fe80::406:55a8:6453:25dd]:546"), Dst: ap("[ff02::1:2]:547"),
				PacketsSrcToDst: 5, BytesSrcToDst: 490,
			},
		},
		{
			name: "icmpv6 without ports", // 6in4tunnel.pcap.out
			line: "\t3\tICMPV6 [2001:470:1f17:13f:3e97:eff:fe73:4dec]:0 <-> [2604:a880:1:20::224:b001]:0 [proto: 102/ICMPV6][IP: 0/Unknown][ClearText][Confidence: DPI][FPC: 102/ICMPV6, Confidence: DPI][DPI packets: 1][cat: Network/14][23 pkts/3174 bytes <-> 23 pkts/3174 bytes][Goodput ratio: 41/41]",
			want: NDPIFlow{
				Proto: "ICMPV6", IPProto: 58,
				Src: ap("[2001:470:1f17:13f:3e97:eff:fe73:4dec]:0"), Dst: ap("[2604:a880:1:20::224:b001]:0"),
				PacketsSrcToDst: 23, BytesSrcToDst: 3174, PacketsDstToSrc: 23, BytesDstToSrc: 3174,
			},
		},
		{
			name: "esp ipv6 with vlan", // custom_categories.pcapng.out
			line: "\t3\tESP [2a01:e34:ef6f:4340:94be:5dac:c20a:d2a0]:0 -> [2001:1670:8:40a6:a08e:332b:aa69:18dc]:0 [VLAN: 121][proto: 79/IPSec][IP: 0/Unknown][Encrypted][Confidence: DPI][FPC: 79/IPSec, Confidence: DPI][DPI packets: 1][cat: Malware/100][1 pkts/346 bytes -> 0 pkts/0 bytes][Goodput ratio: 0/0][< 1 sec]",
			want: NDPIFlow{
				Proto: "ESP", IPProto: 50,
				Src: ap("[2a01:e34:ef6f:4340:94be:5dac:c20a:d2a0]:0"), Dst: ap("[2001:1670:8:40a6:a08e:332b:aa69:18dc]:0"),
				VLAN:            121,
				PacketsSrcToDst: 1, BytesSrcToDst: 346,
			},
		},
		{
			name: "tcp in capwap with vlan", // capwap_data.pcapng.out
			line: "\t1\tTCP 10.1.3.68:47025 <-> 74.125.130.188:443 [VLAN: 4][proto: CAPWAP:91.239/TLS.GoogleServices][IP: 126/Google][Encrypted][Confidence: DPI][FPC: 126/Google, Confidence: IP address][DPI packets: 6][cat: Web/5][3 pkts/630 bytes <-> 3 pkts/434 bytes][Goodput ratio: 27/0][0.11 sec][Hostname/SNI: alt2-mtalk.google.com]",
			want: NDPIFlow{
				Proto: "TCP", IPProto: 6,
				Src: ap("10.1.3.68:47025"), Dst: ap("74.125.130.188:443"),
				VLAN: 4, Tunnel: "CAPWAP",
				PacketsSrcToDst: 3, BytesSrcToDst: 630, PacketsDstToSrc: 3, BytesDstToSrc: 434,
			},
		},
		{
			name: "udp in gre with vlan", // gre.pcapng.out
			line: "\t1\tUDP 192.168.10.210:5060 -> 192.168.103.40:5060 [VLAN: 142][proto: GRE:100/SIP][IP: 0/Unknown][ClearText][Confidence: DPI][FPC: 100/SIP, Confidence: DPI][DPI packets: 1][cat: VoIP/10][1 pkts/384 bytes -> 0 pkts/0 bytes][Goodput ratio: 77/0][< 1 sec]",
			want: NDPIFlow{
				Proto: "UDP", IPProto: 17,
				Src: ap("192.168.10.210:5060"), Dst: ap("192.168.103.40:5060"),
				VLAN: 142, Tunnel: "GRE",
				PacketsSrcToDst: 1, BytesSrcToDst: 384,
			},
		},
		{
			name: "numeric ip protocol", // fuzz-2006-06-26-2594.pcap.out
			line: "\t10\t37 192.168.1.1:0 -> 192.168.1.2:0 [proto: 0/Unknown][IP: 0/Unknown][ClearText][Confidence: Unknown][FPC: 0/Unknown, Confidence: Unknown][DPI packets: 1][1 pkts/105 bytes -> 0 pkts/0 bytes][Goodput ratio: 0/0][< 1 sec]",
			want: NDPIFlow{
				Proto: "37", IPProto: 37,
				Src: ap("192.168.1.1:0"), Dst: ap("192.168.1.2:0"),
				PacketsSrcToDst: 1, BytesSrcToDst: 105,
			},
		},
		{
			name: "ipv6 printed with two zero runs", // pinterest.pcap.out
			line: "\t11\tTCP [2a01:cb01:2049:8b07:991d:ec85:28df:f629]:47032 <-> [2600:1901::7a0b::]:443 [proto: 91/TLS][IP: 284/GoogleCloud][Encrypted][Confidence: DPI][FPC: 284/GoogleCloud, Confidence: IP address][DPI packets: 6][cat: Web/5][20 pkts/3545 bytes <-> 21 pkts/7861 bytes][Goodput ratio: 51/77]",
			want: NDPIFlow{
				Proto: "TCP", IPProto: 6,
				Src: ap("[2a01:cb01:2049:8b07:991d:ec85:28df:f629]:47032"), Dst: ap("[2600:1901:0:7a0b::]:443"),
				DstAlts: []netip.Addr{
					netip.MustParseAddr("2600:1901:0:7a0b:0:0:0:0"),
					netip.MustParseAddr("2600:1901:0:0:7a0b:0:0:0"),
					netip.MustParseAddr("2600:1901:0:0:0:7a0b:0:0"),
					netip.MustParseAddr("2600:1901:0:0:0:0:7a0b:0"),
				},
				PacketsSrcToDst: 20, BytesSrcToDst: 3545, PacketsDstToSrc: 21, BytesDstToSrc: 7861,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := ParseNDPIFlowLine(tc.line)
			require.NoError(t, err)
			require.True(t, ok)
			got.App, got.Hostname = "", "" // TestParseNDPIApp
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseNDPIApp(t *testing.T) {
	for line, want := range map[string][2]string{
		"\t1\tTCP 192.168.1.13:55523 <-> 178.62.197.130:443 [proto: 91.26/TLS.ntop][IP: 26/ntop][51 pkts/4260 bytes <-> 58 pkts/69722 bytes][Hostname/SNI: www.ntop.org][(Advertised) ALPNs: h2;http/1.1]": {"TLS", "www.ntop.org"},
		"\t1\tTCP 10.1.3.68:47025 <-> 74.125.130.188:443 [VLAN: 4][proto: CAPWAP:91.239/TLS.GoogleServices][3 pkts/630 bytes <-> 3 pkts/434 bytes][Hostname/SNI: alt2-mtalk.google.com]":                   {"TLS", "alt2-mtalk.google.com"},
		"\t2\tUDP 10.0.0.1:5353 -> 10.0.0.2:53 [proto: 5/DNS][1 pkts/70 bytes -> 0 pkts/0 bytes]":                                                                                                          {"DNS", ""},
	} {
		got, ok, err := ParseNDPIFlowLine(line)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, want, [2]string{got.App, got.Hostname}, line)
	}
}

func TestParseNDPIFlowLineNotAFlow(t *testing.T) {
	for _, line := range []string{
		"",
		"Undetected flows:",
		"DPI Packets (TCP):\t408\t(4.16 pkts/flow)",
		"HTTP\t249\t355379\t34",
		"\t1\t 192.168.5.16             \t 2      ", // JA3 host stats
		"\t\t IP Address                  \t # JA3C     ",
	} {
		_, ok, err := ParseNDPIFlowLine(line)
		require.NoError(t, err, "line %q", line)
		require.False(t, ok, "line %q", line)
	}
}

func TestParseNDPIFlowLineMalformed(t *testing.T) {
	for _, line := range []string{
		"\t1\tTCP 1.2.3.4:80 <-> 5.6.7.8:443 [proto: 7/HTTP][no counts here]",
		"\t1\tTCP 1.2.3.4 <-> 5.6.7.8:443 [1 pkts/60 bytes <-> 1 pkts/60 bytes]",
		"\t1\tFOO 1.2.3.4:80 <-> 5.6.7.8:443 [1 pkts/60 bytes <-> 1 pkts/60 bytes]",
		"\t1\tTCP 1.2.3.4:80 -> 5.6.7.8:443 [1 pkts/60 bytes <-> 1 pkts/60 bytes]",
	} {
		_, _, err := ParseNDPIFlowLine(line)
		require.ErrorIs(t, err, ErrNDPILine, "line %q", line)
	}
}

// A trimmed copy of 4in4tunnel.pcap.out's layout: statistics, a JA3 table,
// detected flows, then the "Undetected flows:" section.
func TestParseNDPIOut(t *testing.T) {
	const out = "Guessed flow protos:\t0\n" +
		"\n" +
		"DPI Packets (TCP):\t6\t(6.00 pkts/flow)\n" +
		"Unknown\t5\t850\t1\n" +
		"\n" +
		"JA3 Host Stats: \n" +
		"\t\t IP Address                  \t # JA3C     \n" +
		"\t1\t 192.168.0.1              \t 1      \n" +
		"\n" +
		"\n" +
		"\t1\tTCP 192.168.0.1:64455 <-> 10.10.10.1:443 [proto: 91.212/TLS.Microsoft][IP: 0/Unknown][Encrypted][Confidence: DPI][FPC: 0/Unknown, Confidence: Unknown][DPI packets: 4][cat: Web/5][2 pkts/520 bytes <-> 2 pkts/1150 bytes][Goodput ratio: 77/88]\n" +
		"\n" +
		"\n" +
		"Undetected flows:\n" +
		"\t1\tUDP 10.10.100.25:62367 -> 10.10.101.2:17000 [VLAN: 505][proto: 0/Unknown][IP: 0/Unknown][ClearText][Confidence: Unknown][FPC: 0/Unknown, Confidence: Unknown][DPI packets: 5][5 pkts/850 bytes -> 0 pkts/0 bytes][Goodput ratio: 59/0][121572.07 sec]\n"
	flows, err := ParseNDPIOut(strings.NewReader(out))
	require.NoError(t, err)
	require.Len(t, flows, 2)

	require.Equal(t, 11, flows[0].Line)
	require.False(t, flows[0].Undetected)
	require.Equal(t, netip.MustParseAddrPort("10.10.10.1:443"), flows[0].Dst)
	require.Equal(t, uint64(2), flows[0].PacketsDstToSrc)

	require.Equal(t, 15, flows[1].Line)
	require.True(t, flows[1].Undetected)
	require.Equal(t, uint16(505), flows[1].VLAN)
	require.Equal(t, uint64(850), flows[1].BytesSrcToDst)
}

func TestParseNDPIOutReportsLine(t *testing.T) {
	_, err := ParseNDPIOut(strings.NewReader("header\n\t1\tTCP 1.2.3.4:80 <-> nowhere [proto: 7/HTTP]\n"))
	require.ErrorIs(t, err, ErrNDPILine)
	require.Contains(t, err.Error(), "line 2")
}

// TestParseNDPIOutCorpus parses every .out file of the nDPI corpus and checks
// that each line carrying a flow's protocol and counts became one flow, none
// of them listed twice.
func TestParseNDPIOutCorpus(t *testing.T) {
	dir := filepath.Join(requireCorpus(t, "ndpi"), "expected")
	outs, err := filepath.Glob(filepath.Join(dir, "*.out"))
	require.NoError(t, err)
	require.NotEmpty(t, outs)
	total := 0
	for _, p := range outs {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		flows, err := ParseNDPIOut(bytes.NewReader(data))
		require.NoError(t, err, p)

		want := 0
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "\t") && strings.Contains(line, "[proto: ") && strings.Contains(line, " pkts/") {
				want++
			}
		}
		require.Len(t, flows, want, p)

		seen := map[flowKey]int{}
		for _, f := range flows {
			k := makeKey(strings.ToLower(f.Proto), f.Src, f.Dst, f.VLAN) // nDPI's own protocol, not its class
			require.Zero(t, seen[k], "%s: line %d repeats line %d", p, f.Line, seen[k])
			seen[k] = f.Line
			require.True(t, f.Src.Addr().Is4() == f.Dst.Addr().Is4(), "%s: line %d mixes families", p, f.Line)
		}
		total += len(flows)
	}
	t.Logf("parsed %d flows from %d .out files", total, len(outs))
}
