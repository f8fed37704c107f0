package tap_test

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/tap"
)

// tcpdumpCases are the tunnel captures whose decodes are checked against
// tcpdump's, packet by packet. For the tcpdump corpus the reference is the
// expected/*.out file of tcpdump's own test suite (the TESTLIST entry without
// a filter); the nDPI corpus has no tcpdump decodes, so for its tunnel
// captures /usr/bin/tcpdump is run at test time.
var tcpdumpCases = []struct {
	corpus, pcap, out string
}{
	// ERSPAN type I, II, III (incl. III's platform subheader and frame type 7).
	{"tcpdump", "erspan-type-i-1.pcap", "erspan-type-i-1.out"},
	{"tcpdump", "erspan-type-i-2.pcap", "erspan-type-i-2.out"},
	{"tcpdump", "erspan-type-i-3.pcap", "erspan-type-i-3.out"},
	{"tcpdump", "erspan-type-i-4.pcap", "erspan-type-i-4.out"},
	{"tcpdump", "erspan-type-ii-1.pcap", "erspan-type-ii-1.out"},
	{"tcpdump", "erspan-type-ii-2.pcap", "erspan-type-ii-2.out"},
	{"tcpdump", "erspan-type-ii-3.pcap", "erspan-type-ii-3.out"},
	{"tcpdump", "erspan-type-iii-ft-0.pcap", "erspan-type-iii-ft-0.out"},
	{"tcpdump", "erspan-type-iii-ft-7.pcap", "erspan-type-iii-ft-7.out"},
	{"tcpdump", "erspan-type-iii-pb-1.pcap", "erspan-type-iii-pb-1.out"},
	// GRE: keyed, keepalives, WCCP redirection, malformed.
	{"tcpdump", "various_gre.pcap", "various_gre.out"},
	{"tcpdump", "wccp_redirect_gre.pcap", "wccp_redirect_gre.out"},
	{"tcpdump", "gre-heapoverflow-1.pcap", "gre-heapoverflow-1.out"},
	{"tcpdump", "gre-heapoverflow-2.pcap", "gre-heapoverflow-2.out"},
	// VXLAN (4789 and Linux's 8472), VXLAN-GPE with NSH, NSH on Ethernet.
	{"tcpdump", "vxlan.pcap", "vxlan.out"},
	{"tcpdump", "vxlan_port_8472.pcap", "vxlan_port_8472.out"},
	{"tcpdump", "nsh-over-vxlan-gpe.pcap", "nsh-over-vxlan-gpe.out"},
	{"tcpdump", "nsh.pcap", "nsh.out"},
	// Geneve, with options, and GSO / BIG TCP frames in VXLAN and Geneve.
	{"tcpdump", "geneve.pcap", "geneve-vv.out"},
	{"tcpdump", "geneve-gcp.pcap", "geneve-gcp.out"},
	{"tcpdump", "gso-ipv4-geneve-ipv4.pcap", "gso-ipv4-geneve-ipv4.out"},
	{"tcpdump", "gso-ipv4-geneve-ipv6.pcap", "gso-ipv4-geneve-ipv6.out"},
	{"tcpdump", "gso-ipv4-vxlan-ipv4.pcap", "gso-ipv4-vxlan-ipv4.out"},
	{"tcpdump", "gso-ipv4-vxlan-ipv6.pcap", "gso-ipv4-vxlan-ipv6.out"},
	{"tcpdump", "gso-ipv6-geneve-ipv4.pcap", "gso-ipv6-geneve-ipv4.out"},
	{"tcpdump", "gso-ipv6-geneve-ipv6.pcap", "gso-ipv6-geneve-ipv6.out"},
	{"tcpdump", "gso-ipv6-vxlan-ipv4.pcap", "gso-ipv6-vxlan-ipv4.out"},
	{"tcpdump", "gso-ipv6-vxlan-ipv6.pcap", "gso-ipv6-vxlan-ipv6.out"},
	{"tcpdump", "bigtcp-ipv4-geneve-ipv4.pcap", "bigtcp-ipv4-geneve-ipv4.out"},
	{"tcpdump", "bigtcp-ipv4-geneve-ipv6.pcap", "bigtcp-ipv4-geneve-ipv6.out"},
	{"tcpdump", "bigtcp-ipv4-vxlan-ipv4.pcap", "bigtcp-ipv4-vxlan-ipv4.out"},
	{"tcpdump", "bigtcp-ipv4-vxlan-ipv6.pcap", "bigtcp-ipv4-vxlan-ipv6.out"},
	{"tcpdump", "bigtcp-ipv6-geneve-ipv4.pcap", "bigtcp-ipv6-geneve-ipv4.out"},
	{"tcpdump", "bigtcp-ipv6-geneve-ipv6.pcap", "bigtcp-ipv6-geneve-ipv6.out"},
	{"tcpdump", "bigtcp-ipv6-vxlan-ipv4.pcap", "bigtcp-ipv6-vxlan-ipv4.out"},
	{"tcpdump", "bigtcp-ipv6-vxlan-ipv6.pcap", "bigtcp-ipv6-vxlan-ipv6.out"},
	// MPLS: on PPP, over UDP (RFC 7510), LDP, a malformed stack.
	{"tcpdump", "mpls-traceroute.pcap", "mpls-traceroute.out"},
	{"tcpdump", "mpls-over-udp.pcap", "mpls-over-udp.out"},
	{"tcpdump", "mpls-ldp-hello.pcap", "mpls-ldp-hello.out"},
	{"tcpdump", "mpls-label-heapoverflow.pcap", "mpls-label-heapoverflow.out"},
	// 802.1ad QinQ (0x88A8 over 0x8100), PPPoE sessions.
	{"tcpdump", "802.1ad_QinQ.pcap", "802.1ad_QinQ.out"},
	{"tcpdump", "pppoes.pcap", "pppoes.out"},
	// IPIP, 4in6, 6in4, 6in6, PPTP GRE, VXLAN: decoded by tcpdump now.
	{"ndpi", "4in4tunnel.pcap", ""},
	{"ndpi", "4in6tunnel.pcap", ""},
	{"ndpi", "6in4tunnel.pcap", ""},
	{"ndpi", "6in6tunnel.pcap", ""},
	{"ndpi", "gre.pcapng", ""},
	{"ndpi", "vxlan.pcap", ""},
}

var (
	blockStart = regexp.MustCompile(`(?m)^ *(\d+)  \S`)
	// An IPv4 or IPv6 address with an optional .port, ">", the same, ":".
	addrPair = regexp.MustCompile(`([0-9a-f:.]+) > ([0-9a-f:.]+):`)
	vlanRe   = regexp.MustCompile(`\b(?:vlan|isl) (\d+)\b`)
	// What tcpdump prints for a tunnel header or a cut-off decode.
	tunnelMark = regexp.MustCompile(`VXLAN|Geneve|GREv[01]|erspan|wccp|MPLS|NSH|\[\|`)
	// The protocol field of an IP header printed with -v, which is not an
	// ICMP message.
	icmpProto = regexp.MustCompile(`proto ICMP \(1\)|next-header ICMPv6 \(58\)`)
)

// endpoint is one side of tcpdump's "a.b.c.d.port > ..." or "v6::addr.port".
type endpoint struct {
	addr    netip.Addr
	port    int // -1 if tcpdump printed none
	hasPort bool
}

func parseEndpoint(s string) (endpoint, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return endpoint{addr: a, port: -1}, true
	}
	i := strings.LastIndexByte(s, '.')
	if i < 0 {
		return endpoint{}, false
	}
	a, err := netip.ParseAddr(s[:i])
	p, perr := strconv.Atoi(s[i+1:])
	if err != nil || perr != nil || p > 65535 {
		return endpoint{}, false
	}
	return endpoint{addr: a, port: p, hasPort: true}, true
}

// tdPacket is what tcpdump shows of one packet.
type tdPacket struct {
	num      int
	text     string
	src, dst endpoint
	hasIP    bool // some IP header was printed
	noInner  bool // a tunnel header or a cut-off follows the innermost IP
	vlan     int  // last "vlan N"/"isl N", -1 if none
}

// parseTcpdump splits tcpdump output into packets and finds, for each, the
// innermost IP header: the chain of address pairs goes inward until the text
// between two pairs mentions ICMP (an ICMP error quotes the packet it is
// about, which is not an encapsulated packet).
func parseTcpdump(out string) []tdPacket {
	starts := blockStart.FindAllStringSubmatchIndex(out, -1)
	var pkts []tdPacket
	for i, s := range starts {
		end := len(out)
		if i+1 < len(starts) {
			end = starts[i+1][0]
		}
		num, _ := strconv.Atoi(out[s[2]:s[3]])
		p := tdPacket{num: num, text: out[s[0]:end], vlan: -1}
		last := -1
		for _, m := range addrPair.FindAllStringSubmatchIndex(p.text, -1) {
			src, ok1 := parseEndpoint(p.text[m[2]:m[3]])
			dst, ok2 := parseEndpoint(p.text[m[4]:m[5]])
			if !ok1 || !ok2 {
				continue
			}
			if p.hasIP && strings.Contains(icmpProto.ReplaceAllString(p.text[last:m[0]], ""), "ICMP") {
				break
			}
			p.src, p.dst, p.hasIP, last = src, dst, true, m[1]
		}
		if p.hasIP {
			p.noInner = tunnelMark.MatchString(p.text[last:])
		}
		if vs := vlanRe.FindAllStringSubmatch(p.text, -1); len(vs) > 0 {
			p.vlan, _ = strconv.Atoi(vs[len(vs)-1][1])
		}
		pkts = append(pkts, p)
	}
	return pkts
}

func tcpdumpOutput(t *testing.T, corpusDir, pcap, out string) string {
	if out != "" {
		b, err := os.ReadFile(filepath.Join(corpusDir, "expected", out))
		require.NoError(t, err)
		return string(b)
	}
	bin, err := exec.LookPath("tcpdump")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("tcpdump missing in CI: %v", err)
		}
		t.Skipf("SKIP (loud): tcpdump not installed, cannot decode %s", pcap)
	}
	cmd := exec.Command(bin, "-#", "-n", "-tttt", "-r", filepath.Join(corpusDir, pcap))
	cmd.Env = append(os.Environ(), "TZ=UTC")
	b, err := cmd.Output()
	require.NoError(t, err, "tcpdump -r %s", pcap)
	return string(b)
}

// TestDecodeMatchesTcpdump checks, for every packet of the captures in
// tcpdumpCases, that the innermost addresses, ports and VLAN tapflow decodes
// are the ones tcpdump prints. A frame tapflow drops must be one where
// tcpdump shows no inner IP packet either (ARP, STP, LLDP, an unknown ERSPAN
// frame type, a cut-off header).
func TestDecodeMatchesTcpdump(t *testing.T) {
	var total struct{ packets, matched, agreedDrop, vlans int }
	for _, tc := range tcpdumpCases {
		t.Run(tc.pcap, func(t *testing.T) {
			dir := requireCorpus(t, tc.corpus)
			frames := readCapture(t, filepath.Join(dir, tc.pcap))
			want := parseTcpdump(tcpdumpOutput(t, dir, tc.pcap, tc.out))
			require.NotEmpty(t, want, "no packets parsed from tcpdump's decode")
			var dec tap.Decoder
			var m tap.Meta
			matched, dropped, vlans := 0, 0, 0
			for _, w := range want {
				require.LessOrEqual(t, w.num, len(frames), "tcpdump packet %d beyond the capture", w.num)
				f := frames[w.num-1]
				dec.LinkType = f.link
				err := dec.Decode(f.data, f.ts, f.wire, &m)
				where := fmt.Sprintf("packet %d: tcpdump: %.300q", w.num, w.text)
				if w.vlan >= 0 {
					require.Equal(t, uint16(w.vlan), m.VLAN, "vlan; %s", where)
					vlans++
				}
				if err != nil {
					require.True(t, !w.hasIP || w.noInner,
						"tapflow dropped (%v) a packet tcpdump decodes to %s > %s; %s", err, w.src.addr, w.dst.addr, where)
					dropped++
					continue
				}
				require.True(t, w.hasIP, "tapflow decoded %s > %s where tcpdump shows no IP; %s", m.Src, m.Dst, where)
				require.Equal(t, w.src.addr.String(), m.Src.String(), "src; %s", where)
				require.Equal(t, w.dst.addr.String(), m.Dst.String(), "dst; %s", where)
				wantPort := func(e endpoint) uint16 {
					if e.hasPort {
						return uint16(e.port)
					}
					return 0
				}
				require.Equal(t, wantPort(w.src), m.SrcPort, "src port; %s", where)
				require.Equal(t, wantPort(w.dst), m.DstPort, "dst port; %s", where)
				matched++
			}
			t.Logf("%s: %d packets: %d decoded equal to tcpdump, %d dropped where tcpdump shows no inner IP, %d VLANs equal",
				tc.pcap, len(want), matched, dropped, vlans)
			total.packets += len(want)
			total.matched += matched
			total.agreedDrop += dropped
			total.vlans += vlans
		})
	}
	t.Logf("%d captures, %d packets: %d decoded equal to tcpdump, %d dropped with tcpdump showing no inner IP, %d VLANs equal",
		len(tcpdumpCases), total.packets, total.matched, total.agreedDrop, total.vlans)
}
