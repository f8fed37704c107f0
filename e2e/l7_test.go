package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// l7Log is one line of `tapflow replay FILE --print l7` (l7_flow_log).
type l7Log struct {
	FlowID          uint64     `json:"flow_id"`
	Type            string     `json:"type"`
	Proto           uint8      `json:"protocol"`
	ClientIP        netip.Addr `json:"client_ip"`
	ClientPort      uint16     `json:"client_port"`
	ServerIP        netip.Addr `json:"server_ip"`
	ServerPort      uint16     `json:"server_port"`
	VLAN            uint16     `json:"vlan"`
	L7              string     `json:"l7_protocol_str"`
	RequestType     string     `json:"request_type"`
	RequestDomain   string     `json:"request_domain"`
	RequestResource string     `json:"request_resource"`
	ResponseStatus  uint8      `json:"response_status"`
}

// splitL7 separates the l7_flow_log lines of replay's stdout (they carry
// "l7_protocol") from the l4 lines.
func splitL7(stdout []byte) (l4, l7 []byte) {
	for line := range bytes.Lines(stdout) {
		if bytes.Contains(line, []byte(`"l7_protocol":`)) {
			l7 = append(l7, line...)
		} else {
			l4 = append(l4, line...)
		}
	}
	return l4, l7
}

func parseL7(b []byte) ([]l7Log, error) {
	var out []l7Log
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		var l l7Log
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return out, fmt.Errorf("l7 line %q: %w", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

func (l l7Log) key() flowKey {
	return makeKey(protoClass(l.Proto), netip.AddrPortFrom(l.ClientIP, l.ClientPort), netip.AddrPortFrom(l.ServerIP, l.ServerPort), l.VLAN)
}

// ndpiL7 maps the master protocols ndpiReader names to the l7_protocol_str
// tapflow gives the same traffic; protocols tapflow has no dissector for
// are not compared.
var ndpiL7 = map[string]string{
	"HTTP": "HTTP", "HTTP_Proxy": "HTTP", "HTTP_Connect": "HTTP", "HTTP2": "HTTP2",
	"TLS": "TLS", "DNS": "DNS", "MDNS": "DNS",
	"MySQL": "MySQL", "PostgreSQL": "PostgreSQL", "Redis": "Redis", "Kafka": "Kafka", "MongoDB": "MongoDB",
	"Memcached": "Memcached", "MQTT": "MQTT", "AMQP": "AMQP",
}

// ndpiCarries lists protocols nDPI names for what, on the wire, is one of
// tapflow's: DNS wire format (LLMNR, DNSCrypt's certificate queries),
// TLS-wrapped mail and file transfer, SOAP over HTTP, Redis (nDPI's
// "RESP"). A row of that protocol there is right, not a false claim; these
// flows are left out of both counts. SOCKS carries anything.
var ndpiCarries = map[string]string{
	"LLMNR": "DNS", "DNScrypt": "DNS", "AVASTSecureDNS": "DNS",
	"SMTPS": "TLS", "IMAPS": "TLS", "POPS": "TLS", "FTPS": "TLS", "RDP": "TLS",
	"SOAP": "HTTP", "RESP": "Redis", "SOCKS": "*",
}

// minL7Identified is the share of nDPI's flows of a protocol tapflow
// dissects that tapflow must log with the same protocol.
const minL7Identified = 0.85

// maxL7FalseClaims is the share of flows nDPI identifies as a protocol
// tapflow has no dissector for that tapflow may log as one of its own.
const maxL7FalseClaims = 0.01

// TestNDPIL7Agreement compares tapflow's L7 logs with ndpiReader's protocol
// detection over the whole nDPI corpus: every flow nDPI labels with a
// protocol tapflow dissects must have an l7_flow_log row of that protocol
// on its 5-tuple, and where nDPI extracted a host name (HTTP Host, TLS SNI,
// DNS query) one of the flow's rows must carry it (request_domain for HTTP
// and TLS, request_resource for DNS). The per-protocol table and every miss
// go to a report file.
func TestNDPIL7Agreement(t *testing.T) {
	results, _ := runNDPICorpus(t)
	type tally struct{ flows, identified, named, nameEqual int }
	per := map[string]*tally{}
	var misses, claims []string
	var logs, foreign, claimed int
	for _, r := range results {
		require.NoError(t, r.l7Err, "%s: l7 output", r.name)
		logs += len(r.l7)
		byKey := map[flowKey][]l7Log{}
		for _, l := range r.l7 {
			byKey[l.key()] = append(byKey[l.key()], l)
		}
		for _, f := range r.want {
			want, ok := ndpiL7[f.App]
			if f.Undetected || f.Tunnel != "" || f.App == "" || f.App == "Unknown" {
				continue
			}
			if !ok {
				// nDPI found a protocol tapflow has no dissector for: a
				// tapflow row there is a false claim by some Check.
				got := byKey[ndpiKey(f)]
				if c := ndpiCarries[f.App]; c != "" {
					if len(got) == 0 || c == "*" || got[0].L7 == c {
						continue
					}
				}
				foreign++
				if len(got) > 0 {
					claimed++
					claims = append(claims, fmt.Sprintf("%s\t%s\tnDPI %s, tapflow %s", r.name, ndpiKey(f), f.App, got[0].L7))
				}
				continue
			}
			tl := per[want]
			if tl == nil {
				tl = &tally{}
				per[want] = tl
			}
			tl.flows++
			got := byKey[ndpiKey(f)]
			protos := map[string]bool{}
			for _, l := range got {
				protos[l.L7] = true
			}
			if !protos[want] {
				misses = append(misses, fmt.Sprintf("%s\t%s\tnot identified: nDPI %s, tapflow %v", r.name, ndpiKey(f), f.App, slices.Sorted(maps.Keys(protos))))
				continue
			}
			tl.identified++
			if f.Hostname == "" {
				continue
			}
			tl.named++
			var seen []string
			for _, l := range got {
				v := l.RequestDomain
				if want == "DNS" {
					v = l.RequestResource
				}
				if strings.EqualFold(v, f.Hostname) {
					tl.nameEqual++
					seen = nil
					break
				}
				seen = append(seen, v)
			}
			if seen != nil {
				misses = append(misses, fmt.Sprintf("%s\t%s\t%s name: nDPI %q, tapflow %q", r.name, ndpiKey(f), want, f.Hostname, seen))
			}
		}
	}
	var report strings.Builder
	var flows, identified int
	fmt.Fprintf(&report, "%-12s %7s %10s %7s %9s\n", "protocol", "flows", "identified", "named", "name equal")
	for _, p := range slices.Sorted(maps.Keys(per)) {
		tl := per[p]
		flows += tl.flows
		identified += tl.identified
		fmt.Fprintf(&report, "%-12s %7d %9.1f%% %7d %9.1f%%\n", p, tl.flows, pct(tl.identified, tl.flows), tl.named, pct(tl.nameEqual, tl.named))
	}
	headline := fmt.Sprintf("ndpi l7 agreement: %d/%d flows (%.1f%%) of protocols tapflow dissects logged with nDPI's protocol; "+
		"%d/%d flows (%.2f%%) of other protocols falsely claimed; %d l7_flow_log rows",
		identified, flows, pct(identified, flows), claimed, foreign, pct(claimed, foreign), logs)
	fmt.Fprintf(&report, "\n%s\n\nmisses:\n%s\n\nfalse claims:\n%s\n", headline, strings.Join(misses, "\n"), strings.Join(claims, "\n"))
	path := filepath.Join(os.TempDir(), "tapflow-e2e-ndpi-l7.txt")
	require.NoError(t, os.WriteFile(path, []byte(report.String()), 0o644))
	fmt.Println(headline)
	fmt.Print(report.String()[:strings.Index(report.String(), "\n\n")+1])
	fmt.Printf("every miss: %s\n", path)
	require.NotZero(t, flows)
	require.GreaterOrEqual(t, float64(identified)/float64(flows), minL7Identified, "see %s", path)
	require.LessOrEqual(t, float64(claimed)/float64(foreign), maxL7FalseClaims, "see %s", path)
}

func pct(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return 100 * float64(n) / float64(d)
}
