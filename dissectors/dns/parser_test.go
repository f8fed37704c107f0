package dns_test

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/dns"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

// IP protocol numbers for dissectors.Meta.Proto.
const (
	tcpProto = 6
	udpProto = 17
)

// wireName encodes a dotted name as labels ("" or "." is the root).
func wireName(s string) []byte {
	var b []byte
	if s != "" && s != "." {
		for _, l := range strings.Split(s, ".") {
			b = append(b, byte(len(l)))
			b = append(b, l...)
		}
	}
	return append(b, 0)
}

// question is a question for name with qtype, class IN.
func question(name string, qtype uint16) []byte {
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(wireName(name), qtype), 1)
}

// answerA is an A record for the name at offset 12 (compressed).
func answerA(ip [4]byte) []byte {
	return append([]byte{0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4}, ip[:]...)
}

// message builds a DNS message: header fields then the sections' bytes.
func message(id, flags, qd, an, ns, ar uint16, sections ...[]byte) []byte {
	b := make([]byte, 0, 64)
	for _, v := range []uint16{id, flags, qd, an, ns, ar} {
		b = binary.BigEndian.AppendUint16(b, v)
	}
	for _, s := range sections {
		b = append(b, s...)
	}
	return b
}

// tcp prefixes each message with its two-byte length and concatenates them.
func tcp(msgs ...[]byte) []byte {
	var b []byte
	for _, m := range msgs {
		b = binary.BigEndian.AppendUint16(b, uint16(len(m)))
		b = append(b, m...)
	}
	return b
}

const (
	flagsQuery    = 0x0100 // RD
	flagsResponse = 0x8180 // QR RD RA
)

func response(rcode uint16) uint16 { return flagsResponse | rcode }

var (
	queryA      = message(0x1234, flagsQuery, 1, 0, 0, 0, question("www.example.com", 1))
	responseA   = message(0x1234, response(0), 1, 1, 0, 0, question("www.example.com", 1), answerA([4]byte{192, 0, 2, 1}))
	queryAAAA   = message(0x2345, flagsQuery, 1, 0, 0, 0, question("www.example.com", 28))
	queryMX     = message(0x3456, flagsQuery, 1, 0, 0, 0, question("example.com", 15))
	nxdomain    = message(0x4567, response(3), 1, 0, 0, 0, question("nope.example.com", 1))
	servfail    = message(0x5678, response(2), 1, 0, 0, 0, question("x.broken.test", 28))
	formerr     = message(0x6789, response(1), 0, 0, 0, 0)
	refused     = message(0x789a, response(5), 1, 0, 0, 0, question("example.com", 16))
	notimp      = message(0x89ab, response(4), 1, 0, 0, 0, question("example.com", 6))
	queryUnk    = message(0x9abc, flagsQuery, 1, 0, 0, 0, question("example.com", 65280))
	queryHTTPS  = message(0xabcd, flagsQuery, 1, 0, 0, 0, question("example.com", 65))
	queryCAA    = message(0xbcde, flagsQuery, 1, 0, 0, 0, question("example.com", 257))
	queryRoot   = message(0xcdef, flagsQuery, 1, 0, 0, 0, question(".", 2))
	mdnsAnnounc = message(0, 0x8400, 0, 1, 0, 0, wireName("host.local"), []byte{0, 1, 0x80, 1, 0, 0, 0, 120, 0, 4, 192, 0, 2, 9})
)

type parseCase struct {
	name     string
	proto    uint8
	toServer bool
	payload  []byte
	err      error
	want     []string // AppendJSON of each record
}

var parseCases = []parseCase{
	{name: "udp query A", proto: 17, toServer: true, payload: queryA, want: []string{
		`{"kind":1,"l7_protocol":"DNS","key":4660,"len":33,"request_type":"A","request_domain":"www.example.com","request_resource":"www.example.com","endpoint":"www.example.com"}`}},
	{name: "udp response A", proto: 17, payload: responseA, want: []string{
		`{"kind":2,"l7_protocol":"DNS","key":4660,"response_code":0,"response_status":0,"len":49,"request_type":"A","request_domain":"www.example.com","request_resource":"www.example.com","endpoint":"www.example.com"}`}},
	{name: "udp query AAAA", proto: 17, toServer: true, payload: queryAAAA, want: []string{
		`{"kind":1,"l7_protocol":"DNS","key":9029,"len":33,"request_type":"AAAA","request_domain":"www.example.com","request_resource":"www.example.com","endpoint":"www.example.com"}`}},
	{name: "udp query MX has no domain", proto: 17, toServer: true, payload: queryMX, want: []string{
		`{"kind":1,"l7_protocol":"DNS","key":13398,"len":29,"request_type":"MX","request_resource":"example.com","endpoint":"example.com"}`}},
	{name: "nxdomain is a client error", proto: 17, payload: nxdomain, want: []string{
		`{"kind":2,"l7_protocol":"DNS","key":17767,"response_code":3,"response_status":4,"len":34,"request_type":"A","request_domain":"nope.example.com","request_resource":"nope.example.com","endpoint":"nope.example.com","response_exception":"NXDomain"}`}},
	{name: "servfail is a server error", proto: 17, payload: servfail, want: []string{
		`{"kind":2,"l7_protocol":"DNS","key":22136,"response_code":2,"response_status":3,"len":31,"request_type":"AAAA","request_domain":"x.broken.test","request_resource":"x.broken.test","endpoint":"x.broken.test","response_exception":"ServFail"}`}},
	{name: "formerr without question is a client error", proto: 17, payload: formerr, want: []string{
		`{"kind":2,"l7_protocol":"DNS","key":26505,"response_code":1,"response_status":4,"len":12,"response_exception":"FormErr"}`}},
	{name: "refused is a server error", proto: 17, payload: refused, want: []string{
		`{"kind":2,"l7_protocol":"DNS","key":30874,"response_code":5,"response_status":3,"len":29,"request_type":"TXT","request_resource":"example.com","endpoint":"example.com","response_exception":"Refused"}`}},
	{name: "notimp is a server error", proto: 17, payload: notimp, want: []string{
		`{"kind":2,"l7_protocol":"DNS","key":35243,"response_code":4,"response_status":3,"len":29,"request_type":"SOA","request_resource":"example.com","endpoint":"example.com","response_exception":"NotImp"}`}},
	{name: "unknown type", proto: 17, toServer: true, payload: queryUnk, want: []string{
		`{"kind":1,"l7_protocol":"DNS","key":39612,"len":29,"request_type":"TYPE65280","request_resource":"example.com","endpoint":"example.com"}`}},
	{name: "HTTPS type", proto: 17, toServer: true, payload: queryHTTPS, want: []string{
		`{"kind":1,"l7_protocol":"DNS","key":43981,"len":29,"request_type":"HTTPS","request_resource":"example.com","endpoint":"example.com"}`}},
	{name: "CAA type", proto: 17, toServer: true, payload: queryCAA, want: []string{
		`{"kind":1,"l7_protocol":"DNS","key":48350,"len":29,"request_type":"CAA","request_resource":"example.com","endpoint":"example.com"}`}},
	{name: "root name", proto: 17, toServer: true, payload: queryRoot, want: []string{
		`{"kind":1,"l7_protocol":"DNS","key":52719,"len":17,"request_type":"NS","request_resource":".","endpoint":"."}`}},
	{name: "mdns announcement without question", proto: 17, payload: mdnsAnnounc, want: []string{
		`{"kind":2,"l7_protocol":"DNS","key":0,"response_code":0,"response_status":0,"len":38}`}},
	{name: "kind from QR bit, not direction", proto: 17, toServer: true, payload: nxdomain, want: []string{
		`{"kind":2,"l7_protocol":"DNS","key":17767,"response_code":3,"response_status":4,"len":34,"request_type":"A","request_domain":"nope.example.com","request_resource":"nope.example.com","endpoint":"nope.example.com","response_exception":"NXDomain"}`}},
	{name: "tcp query", proto: 6, toServer: true, payload: tcp(queryMX), want: []string{
		`{"kind":1,"l7_protocol":"DNS","key":13398,"len":29,"request_type":"MX","request_resource":"example.com","endpoint":"example.com"}`}},
	{name: "tcp three queries in one segment", proto: 6, toServer: true, payload: tcp(queryA, queryAAAA, queryMX), want: []string{
		`{"kind":1,"l7_protocol":"DNS","key":4660,"len":33,"request_type":"A","request_domain":"www.example.com","request_resource":"www.example.com","endpoint":"www.example.com"}`,
		`{"kind":1,"l7_protocol":"DNS","key":9029,"len":33,"request_type":"AAAA","request_domain":"www.example.com","request_resource":"www.example.com","endpoint":"www.example.com"}`,
		`{"kind":1,"l7_protocol":"DNS","key":13398,"len":29,"request_type":"MX","request_resource":"example.com","endpoint":"example.com"}`}},
	{name: "tcp two responses", proto: 6, payload: tcp(responseA, nxdomain), want: []string{
		`{"kind":2,"l7_protocol":"DNS","key":4660,"response_code":0,"response_status":0,"len":49,"request_type":"A","request_domain":"www.example.com","request_resource":"www.example.com","endpoint":"www.example.com"}`,
		`{"kind":2,"l7_protocol":"DNS","key":17767,"response_code":3,"response_status":4,"len":34,"request_type":"A","request_domain":"nope.example.com","request_resource":"nope.example.com","endpoint":"nope.example.com","response_exception":"NXDomain"}`}},
	{name: "tcp message continuing in the next segment", proto: 6, payload: tcp(responseA)[:2+12+17+6], want: []string{
		`{"kind":2,"l7_protocol":"DNS","key":4660,"response_code":0,"response_status":0,"len":49,"request_type":"A","request_domain":"www.example.com","request_resource":"www.example.com","endpoint":"www.example.com"}`}},
	{name: "tcp next message cut inside its header", proto: 6, toServer: true, payload: tcp(queryA, queryMX)[:2+33+2+5], want: []string{
		`{"kind":1,"l7_protocol":"DNS","key":4660,"len":33,"request_type":"A","request_domain":"www.example.com","request_resource":"www.example.com","endpoint":"www.example.com"}`}},
	{name: "tcp continuation segment", proto: 6, payload: []byte("\x00\x04\x03www\x07example\x03com\x00\x00\x01\x00\x01\xc0\x0c\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\xc0\x00\x02\x01")},
	{name: "tcp length prefix alone", proto: 6, toServer: true, payload: []byte{0, 33}},
	{name: "tcp bad question", proto: 6, toServer: true, payload: tcp(message(1, flagsQuery, 1, 0, 0, 0, []byte{0x45, 'a', 0, 0, 1, 0, 1})), err: dissectors.ErrMalformed},
	{name: "udp short header", proto: 17, payload: queryA[:11], err: dissectors.ErrShort},
	{name: "udp name cut", proto: 17, payload: queryA[:20], err: dissectors.ErrShort},
	{name: "udp qtype cut", proto: 17, payload: queryA[:30], err: dissectors.ErrShort},
	{name: "udp bad opcode", proto: 17, payload: message(1, 0x1800, 1, 0, 0, 0, question("a.b", 1)), err: dissectors.ErrMalformed},
	{name: "udp counts beyond length", proto: 17, payload: message(1, flagsResponse, 1, 40, 0, 0, question("a.b", 1)), err: dissectors.ErrMalformed},
	{name: "extended label type", proto: 17, payload: message(1, flagsQuery, 1, 0, 0, 0, []byte{0x41, 'a', 0, 0, 1, 0, 1}), err: dissectors.ErrMalformed},
	{name: "pointer to itself", proto: 17, payload: message(1, flagsQuery, 1, 0, 0, 0, []byte{0xc0, 12, 0, 1, 0, 1}), err: dissectors.ErrMalformed},
	{name: "pointer forward", proto: 17, payload: message(1, flagsQuery, 1, 0, 0, 0, []byte{0xc0, 14, 1, 'a', 0, 0, 1, 0, 1}), err: dissectors.ErrMalformed},
	{name: "pointer into header", proto: 17, payload: message(1, flagsQuery, 1, 0, 0, 0, []byte{0xc0, 2, 0, 1, 0, 1}), err: dissectors.ErrMalformed},
	{name: "name longer than 255", proto: 17, payload: message(1, flagsQuery, 1, 0, 0, 0, question(strings.Repeat(strings.Repeat("a", 63)+".", 4)+"com", 1)), err: dissectors.ErrMalformed},
}

func TestParse(t *testing.T) {
	d := dns.New()
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			m := dissectors.Meta{Proto: tc.proto, ClientPort: 40000, ServerPort: 53, ToServer: tc.toServer, PayloadLen: uint32(len(tc.payload))}
			require.Equal(t, dtest.Lines(tc.want...), dtest.JSON(dtest.Parse(t, d, tc.payload, &m, tc.err)))
		})
	}
}

func TestCheck(t *testing.T) {
	d := dns.New()
	mdnsQuery := message(0, 0, 2, 1, 0, 0, question("_http._tcp.local", 12), question("_ipp._tcp.local", 12),
		[]byte{0xc0, 12, 0, 12, 0, 1, 0, 0, 0x11, 0x94, 0, 2, 0xc0, 12})
	for _, tc := range []struct {
		name    string
		proto   uint8
		port    uint16
		payload []byte
		want    bool
	}{
		{"udp query on 53", 17, 53, queryA, true},
		{"udp query on another port", 17, 8053, queryA, true},
		{"udp response", 17, 8053, responseA, true},
		{"udp nxdomain", 17, 8053, nxdomain, true},
		{"udp root query", 17, 8053, queryRoot, true},
		{"tcp query", 6, 8053, tcp(queryA), true},
		{"tcp pipelined", 6, 8053, tcp(queryA, queryMX), true},
		{"tcp response starting a long message", 6, 8053, tcp(responseA)[:40], true},
		{"mdns announcement on 5353", 17, 5353, mdnsAnnounc, true},
		{"mdns announcement elsewhere", 17, 8053, mdnsAnnounc, false},
		{"mdns query with known answer on 5353", 17, 5353, mdnsQuery, true},
		{"mdns query with known answer elsewhere", 17, 8053, mdnsQuery, false},
		{"formerr without question", 17, 53, formerr, false},
		{"udp short", 17, 53, queryA[:11], false},
		{"question cut", 17, 53, queryA[:25], false},
		{"tcp without length prefix", 6, 53, queryA, false},
		{"tcp length too small", 6, 53, append([]byte{0, 10}, queryA...), false},
		{"query with rcode", 17, 53, message(1, 0x0103, 1, 0, 0, 0, question("a.b", 1)), false},
		{"z bit set", 17, 53, message(1, 0x0140, 1, 0, 0, 0, question("a.b", 1)), false},
		{"opcode 3", 17, 53, message(1, 0x1800, 1, 0, 0, 0, question("a.b", 1)), false},
		{"qtype 0", 17, 53, message(1, flagsQuery, 1, 0, 0, 0, question("a.b", 0)), false},
		{"class 7", 17, 53, message(1, flagsQuery, 1, 0, 0, 0, append(wireName("a.b"), 0, 1, 0, 7)), false},
		{"counts beyond length", 17, 53, message(1, flagsResponse, 1, 9, 0, 0, question("a.b", 1)), false},
		{"icmp", 1, 53, queryA, false},
		{"http", 6, 80, []byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"), false},
		{"http over udp", 17, 80, []byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"), false},
		{"tls client hello", 6, 443, []byte{0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, false},
		{"ntp client", 17, 123, append([]byte{0x23, 0, 6, 0x20}, make([]byte, 44)...), false},
		{"zeros", 17, 53, make([]byte, 48), false},
		{"redis", 6, 6379, []byte("*1\r\n$4\r\nPING\r\n"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := dissectors.Meta{Proto: tc.proto, ClientPort: 40000, ServerPort: tc.port, ToServer: true, PayloadLen: uint32(len(tc.payload))}
			require.Equal(t, tc.want, d.Check(tc.payload, &m))
		})
	}
}

func TestCheckDoesNotClaimOtherProtocols(t *testing.T) {
	// Captures of other UDP and TCP protocols (NetBIOS name service shares
	// DNS's format; DoT, DoH and DNSCrypt are encrypted): no flow claimed.
	dtest.NotClaimed(t, dns.New(), "ndpi",
		"NTPv4.pcap", "quic.pcap", "google_ssl.pcap", "http-manipulated.pcap", "rtp.pcapng", "snmp.pcap",
		"dhcp-fuzz.pcapng", "mysql.pcapng", "netbios.pcap", "stun.pcap", "sip.pcap", "syslog.pcap", "tftp.pcap",
		"coap_mqtt.pcap", "dns_dot.pcap", "dns_doh.pcap", "dnscrypt-v2.pcap")
}

func TestWalkNameFollowsPointers(t *testing.T) {
	// "www.example.com" at 12, then "mail" + pointer to "example.com" (16),
	// then "x" + pointer to "mail…" (the second name).
	msg := message(1, flagsResponse, 0, 0, 0, 0, wireName("www.example.com"))
	second := len(msg)
	msg = append(msg, 4, 'm', 'a', 'i', 'l', 0xc0, 16)
	third := len(msg)
	msg = append(msg, 1, 'x', 0xc0, byte(second))
	for _, tc := range []struct {
		off, end int
		want     string
	}{{12, second, "www.example.com"}, {second, third, "mail.example.com"}, {third, len(msg), "x.mail.example.com"}} {
		var r dissectors.Record
		end, err := dns.WalkName(msg, tc.off, &r, &r.RequestResource)
		require.NoError(t, err)
		require.Equal(t, tc.end, end)
		require.Equal(t, tc.want, r.String(r.RequestResource))
	}
	// A pointer pointing at a later pointer that points back: rejected.
	loop := message(1, flagsResponse, 0, 0, 0, 0, []byte{0xc0, 14, 0xc0, 12})
	_, err := dns.WalkName(loop, 12, nil, nil)
	require.ErrorIs(t, err, dissectors.ErrMalformed)
	_, err = dns.WalkName(loop, 14, nil, nil)
	require.ErrorIs(t, err, dissectors.ErrMalformed)
}

func TestLongNameIsTruncatedNotLost(t *testing.T) {
	// A 253-character name fills request_resource whole; the copies in
	// request_domain and endpoint share the 512-byte buffer.
	name := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61)
	require.Len(t, name, 253)
	q := message(7, flagsQuery, 1, 0, 0, 0, question(name, 1))
	m := dissectors.Meta{Proto: 17, ServerPort: 53, ToServer: true, PayloadLen: uint32(len(q))}
	out, err := dns.New().Parse(nil, q, &m)
	require.NoError(t, err)
	require.Len(t, out, 1)
	require.Equal(t, name, out[0].String(out[0].RequestResource))
	require.Equal(t, "A", out[0].String(out[0].RequestType))
	require.Equal(t, name, out[0].String(out[0].RequestDomain))
	require.LessOrEqual(t, out[0].Endpoint.Len(), 253)
}

// goldenPcaps are the captures the golden test runs over.
var goldenPcaps = []dtest.Capture{
	{Name: "unbound", File: "unbound.pcap"},
	{Name: "ndpi_dns", Corpus: "ndpi", File: "dns.pcap"},
	{Name: "ndpi_dns_long_domainname", Corpus: "ndpi", File: "dns_long_domainname.pcap"},
	{Name: "ndpi_malformed_dns", Corpus: "ndpi", File: "malformed_dns.pcap"},
	{Name: "ndpi_bad_dns_traffic", Corpus: "ndpi", File: "bad-dns-traffic.pcap"},
	{Name: "ndpi_dns_fragmented", Corpus: "ndpi", File: "dns_fragmented.pcap"},
	{Name: "ndpi_dns_invalid_chars", Corpus: "ndpi", File: "dns-invalid-chars.pcap"},
}

func TestGolden(t *testing.T) { dtest.Goldens(t, dns.New(), goldenPcaps) }
