package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// NDPIFlow is one flow as ndpiReader prints it in its flow list, for example
//
//	1	TCP 192.168.1.13:55523 <-> 178.62.197.130:443 [proto: 91.26/TLS.ntop]...[51 pkts/4260 bytes <-> 58 pkts/69722 bytes]...
//
// Src is the sender of the first packet ndpiReader saw for the flow, which is
// not necessarily the TCP client. ndpiReader prints port 0 for every protocol
// other than TCP and UDP, and "->" instead of "<->" when no packet went from
// Dst to Src.
type NDPIFlow struct {
	Line    int    // 1-based line number in the .out file
	Proto   string // protocol as printed: "TCP", "UDP", "ICMPV6", "IGMP", "37"…
	IPProto uint8  // IP protocol number of Proto
	Src     netip.AddrPort
	Dst     netip.AddrPort
	VLAN    uint16 // innermost 802.1Q id, 0 if ndpiReader printed none

	// Tunnel names the encapsulation ndpiReader removed before it saw the
	// flow, taken from the "[proto: GTP:…]" prefix: "GTP", "CAPWAP",
	// "VXLAN", "GRE", or "" when there was none (IP-in-IP is decapsulated
	// without a prefix).
	Tunnel string

	// Undetected is true for flows listed under "Undetected flows:". A flow
	// is listed in exactly one of the two sections.
	Undetected bool

	// App is the master protocol ndpiReader detected ("HTTP" of
	// "[proto: 7.126/HTTP.Google]", "TLS" of "91.26/TLS.ntop"), "" if none.
	App string
	// Hostname is ndpiReader's "[Hostname/SNI: …]": the HTTP Host, the TLS
	// SNI or the DNS query name.
	Hostname string

	PacketsSrcToDst, PacketsDstToSrc uint64
	BytesSrcToDst, BytesDstToSrc     uint64

	// SrcAlts and DstAlts hold every reading of an IPv6 address that
	// ndpiReader printed with more than one "::" (its formatter compresses
	// every run of zero groups, e.g. "[2600:1901::7a0b::]:443"), Src or Dst
	// being the first of them. They are nil for well-formed addresses.
	SrcAlts, DstAlts []netip.Addr
}

// ErrNDPILine is wrapped by ParseNDPIOut and ParseNDPIFlowLine when a line
// that has the shape of a flow line cannot be parsed.
var ErrNDPILine = errors.New("malformed ndpiReader flow line")

var (
	// A flow line starts with a tab, the flow number, a tab, the protocol
	// and "SRC <-> DST " or "SRC -> DST ". Other numbered tables (the JA3
	// host stats) have a space after the second tab and do not match.
	ndpiFlowRe = regexp.MustCompile(`^\t(\d+)\t(\S+) (\S+) (<->|->) (\S+) (.*)$`)
	// The VLAN id, when present, directly follows the tuple.
	ndpiVLANRe = regexp.MustCompile(`^\[VLAN: (\d+)\]`)
	// "[proto: GTP:79/IPSec]" or "[proto: 91.26/TLS.ntop]".
	ndpiTunnelRe = regexp.MustCompile(`\[proto: (?:([A-Za-z][A-Za-z0-9]*):)?[0-9]`)
	// "[proto: 7.126/HTTP.Google]": the name after the slash, up to a dot.
	ndpiAppRe  = regexp.MustCompile(`\[proto: (?:[A-Za-z][A-Za-z0-9]*:)?[0-9.]+/([A-Za-z0-9_-]+)`)
	ndpiHostRe = regexp.MustCompile(`\[Hostname/SNI: ([^\]]*)\]`)
	// The packet and byte counts; the first match on the line is the one.
	ndpiCountsRe = regexp.MustCompile(`\[(\d+) pkts/(\d+) bytes (<->|->) (\d+) pkts/(\d+) bytes\]`)
)

// ndpiProtoNumbers maps the protocol names ndpiReader prints (its
// ipProto2Name) to IP protocol numbers. Any other protocol is printed as its
// decimal number.
var ndpiProtoNumbers = map[string]uint8{
	"ICMP":     1,
	"IGMP":     2,
	"IP_IN_IP": 4,
	"TCP":      6,
	"EGP":      8,
	"UDP":      17,
	"IPV6":     41,
	"GRE":      47,
	"ESP":      50,
	"AH":       51,
	"ICMPV6":   58,
	"OSPF":     89,
	"PIM":      103,
	"VRRP":     112,
	"PGM":      113,
	"SCTP":     132,
}

// ParseNDPIOut reads an ndpiReader .out file and returns its flows in file
// order. Lines that are not flow lines (statistics, JA3 tables, section
// headers) are skipped; a line shaped like a flow line that does not parse is
// an error wrapping ErrNDPILine. The files hold some non-UTF-8 bytes, which
// are tolerated.
func ParseNDPIOut(r io.Reader) ([]NDPIFlow, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	var (
		flows      []NDPIFlow
		undetected bool
		lineNo     int
	)
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if strings.HasPrefix(line, "Undetected flows:") {
			undetected = true
			continue
		}
		f, ok, err := ParseNDPIFlowLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", lineNo, err)
		}
		if !ok {
			continue
		}
		f.Line = lineNo
		f.Undetected = undetected
		flows = append(flows, f)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading ndpiReader output: %w", err)
	}
	return flows, nil
}

// ParseNDPIFlowLine parses one line of ndpiReader output. It returns ok false
// and no error for a line that is not a flow line. Line and Undetected are
// left zero: only ParseNDPIOut knows them.
func ParseNDPIFlowLine(line string) (f NDPIFlow, ok bool, err error) {
	m := ndpiFlowRe.FindStringSubmatch(line)
	if m == nil {
		return NDPIFlow{}, false, nil
	}
	proto, src, arrow, dst, rest := m[2], m[3], m[4], m[5], m[6]

	f.Proto = proto
	if n, known := ndpiProtoNumbers[proto]; known {
		f.IPProto = n
	} else {
		n, perr := strconv.ParseUint(proto, 10, 8)
		if perr != nil {
			return NDPIFlow{}, false, fmt.Errorf("%w: unknown protocol %q", ErrNDPILine, proto)
		}
		f.IPProto = uint8(n)
	}
	if f.Src, f.SrcAlts, err = parseNDPIEndpoint(src); err != nil {
		return NDPIFlow{}, false, err
	}
	if f.Dst, f.DstAlts, err = parseNDPIEndpoint(dst); err != nil {
		return NDPIFlow{}, false, err
	}

	if vm := ndpiVLANRe.FindStringSubmatch(rest); vm != nil {
		v, perr := strconv.ParseUint(vm[1], 10, 16)
		if perr != nil {
			return NDPIFlow{}, false, fmt.Errorf("%w: vlan %q", ErrNDPILine, vm[1])
		}
		f.VLAN = uint16(v)
	}
	if tm := ndpiTunnelRe.FindStringSubmatch(rest); tm != nil {
		f.Tunnel = tm[1]
	}
	if am := ndpiAppRe.FindStringSubmatch(rest); am != nil {
		f.App = am[1]
	}
	if hm := ndpiHostRe.FindStringSubmatch(rest); hm != nil {
		f.Hostname = hm[1]
	}

	cm := ndpiCountsRe.FindStringSubmatch(rest)
	if cm == nil {
		return NDPIFlow{}, false, fmt.Errorf("%w: no packet counts", ErrNDPILine)
	}
	if cm[3] != arrow {
		return NDPIFlow{}, false, fmt.Errorf("%w: tuple arrow %q but counts arrow %q", ErrNDPILine, arrow, cm[3])
	}
	for i, dst := range []*uint64{&f.PacketsSrcToDst, &f.BytesSrcToDst, nil, &f.PacketsDstToSrc, &f.BytesDstToSrc} {
		if dst == nil {
			continue
		}
		if *dst, err = strconv.ParseUint(cm[i+1], 10, 64); err != nil {
			return NDPIFlow{}, false, fmt.Errorf("%w: count %q", ErrNDPILine, cm[i+1])
		}
	}
	return f, true, nil
}

// parseNDPIEndpoint parses "1.2.3.4:80" or "[2001:db8::1]:443". For an IPv6
// address with several "::" it returns the first reading and all of them.
func parseNDPIEndpoint(s string) (netip.AddrPort, []netip.Addr, error) {
	ap, err := netip.ParseAddrPort(s)
	if err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil, nil
	}
	host, portText, ok := strings.Cut(strings.TrimPrefix(s, "["), "]:")
	port, perr := strconv.ParseUint(portText, 10, 16)
	if !ok || perr != nil || strings.Count(host, "::") < 2 {
		return netip.AddrPort{}, nil, fmt.Errorf("%w: endpoint %q: %v", ErrNDPILine, s, err)
	}
	alts := expandZeroRuns(host)
	if len(alts) == 0 {
		return netip.AddrPort{}, nil, fmt.Errorf("%w: endpoint %q: %v", ErrNDPILine, s, err)
	}
	return netip.AddrPortFrom(alts[0], uint16(port)), alts, nil
}

// expandZeroRuns returns every IPv6 address that host, written with several
// "::" each standing for one or more zero groups, can be.
func expandZeroRuns(host string) []netip.Addr {
	parts := strings.Split(host, "::")
	known := 0
	for _, p := range parts {
		if p != "" {
			known += strings.Count(p, ":") + 1
		}
	}
	gaps := len(parts) - 1
	zeros := 8 - known
	if zeros < gaps {
		return nil
	}
	var out []netip.Addr
	sizes := make([]int, gaps)
	var walk func(gap, left int)
	walk = func(gap, left int) {
		if gap == gaps-1 {
			sizes[gap] = left
			var groups []string
			for i, p := range parts {
				if p != "" {
					groups = append(groups, strings.Split(p, ":")...)
				}
				if i < gaps {
					for range sizes[i] {
						groups = append(groups, "0")
					}
				}
			}
			if a, err := netip.ParseAddr(strings.Join(groups, ":")); err == nil {
				out = append(out, a)
			}
			return
		}
		for n := 1; n <= left-(gaps-1-gap); n++ {
			sizes[gap] = n
			walk(gap+1, left-n)
		}
	}
	walk(0, zeros)
	return out
}
