package tls_test

import (
	"encoding/binary"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
	"github.com/tapflow/tapflow/dissectors/tls"
)

// Wire values the hand-built payloads use (RFC 8446).
const (
	tcpProto             = 6
	randomLen            = 32
	typeChangeCipherSpec = 20
	typeAlert            = 21
	typeHandshake        = 22
	typeApplicationData  = 23
	hsClientHello        = 1
	hsServerHello        = 2
	extServerName        = 0
	extSupportedVersions = 43
)

// record builds a TLS record.
func record(typ byte, body []byte) []byte {
	b := []byte{typ, 3, 3, 0, 0}
	binary.BigEndian.PutUint16(b[3:], uint16(len(body)))
	return append(b, body...)
}

// handshake prefixes body with a handshake header.
func handshake(typ byte, body []byte) []byte {
	n := len(body)
	return append([]byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}

func ext(typ uint16, data []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}

func sniExt(host string) []byte {
	entry := append([]byte{0, byte(len(host) >> 8), byte(len(host))}, host...)
	list := binary.BigEndian.AppendUint16(nil, uint16(len(entry)))
	return ext(extServerName, append(list, entry...))
}

func versionsExt(vs ...uint16) []byte {
	d := []byte{byte(2 * len(vs))}
	for _, v := range vs {
		d = binary.BigEndian.AppendUint16(d, v)
	}
	return ext(extSupportedVersions, d)
}

func withLen16(b []byte) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(b))), b...)
}

// clientHello is a ClientHello handshake message with a 32-byte session
// id, three cipher suites, null compression and the given extensions.
func clientHello(version uint16, exts ...[]byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, version)
	b = append(b, make([]byte, randomLen)...)
	b = append(b, 32)
	b = append(b, make([]byte, 32)...)
	b = append(b, withLen16([]byte{0x13, 0x01, 0x13, 0x02, 0xc0, 0x2f})...)
	b = append(b, 1, 0)
	var e []byte
	for _, x := range exts {
		e = append(e, x...)
	}
	b = append(b, withLen16(e)...)
	return handshake(hsClientHello, b)
}

// serverHello is a ServerHello handshake message.
func serverHello(version uint16, exts ...[]byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, version)
	b = append(b, make([]byte, randomLen)...)
	b = append(b, 0)
	b = append(b, 0x13, 0x01, 0)
	var e []byte
	for _, x := range exts {
		e = append(e, x...)
	}
	if len(exts) > 0 {
		b = append(b, withLen16(e)...)
	}
	return handshake(hsServerHello, b)
}

func alert(level, desc byte) []byte { return record(typeAlert, []byte{level, desc}) }

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

const grease = 0x3a3a

var (
	ch13 = record(typeHandshake, clientHello(0x0303, ext(grease, nil), sniExt("www.example.com"),
		versionsExt(grease, 0x0304, 0x0303), ext(10, []byte{0, 2, 0, 0x1d})))
	ch12       = record(typeHandshake, clientHello(0x0303))
	ch10SNI    = record(typeHandshake, clientHello(0x0301, sniExt("legacy.example.com")))
	chDraft    = record(typeHandshake, clientHello(0x0303, versionsExt(0x7f1c, 0x0303)))
	chFuture   = record(typeHandshake, clientHello(0x0303, versionsExt(0x0305)))
	sh13       = record(typeHandshake, serverHello(0x0303, ext(51, make([]byte, 36)), ext(extSupportedVersions, []byte{3, 4})))
	sh12Flight = record(typeHandshake, cat(serverHello(0x0303), handshake(11, make([]byte, 300)), handshake(14, nil)))
	ccs        = record(typeChangeCipherSpec, []byte{1})
	// encFinished looks like a ClientHello header but is not one.
	encFinished = record(typeHandshake, append([]byte{1, 0x8e, 0x12, 0x55, 0x03, 0x03}, make([]byte, 34)...))
	appData     = record(typeApplicationData, make([]byte, 100))
	// sslv2 is an SSL 2.0-format ClientHello offering TLS 1.0.
	sslv2 = append([]byte{0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10},
		append(make([]byte, 21), make([]byte, 16)...)...)
)

type parseCase struct {
	name     string
	toServer bool
	payload  []byte
	err      error
	want     []string
}

var parseCases = []parseCase{
	{name: "client hello tls 1.3 with sni", toServer: true, payload: ch13, want: []string{
		`{"kind":1,"l7_protocol":"TLS","len":` + strconv.Itoa(len(ch13)-5) + `,"version":"TLS 1.3","request_type":"ClientHello","request_domain":"www.example.com"}`}},
	{name: "client hello tls 1.2 without extensions", toServer: true, payload: ch12, want: []string{
		`{"kind":1,"l7_protocol":"TLS","len":` + strconv.Itoa(len(ch12)-5) + `,"version":"TLS 1.2","request_type":"ClientHello"}`}},
	{name: "client hello tls 1.0 with sni", toServer: true, payload: ch10SNI, want: []string{
		`{"kind":1,"l7_protocol":"TLS","len":` + strconv.Itoa(len(ch10SNI)-5) + `,"version":"TLS 1.0","request_type":"ClientHello","request_domain":"legacy.example.com"}`}},
	{name: "draft version is tls 1.3", toServer: true, payload: chDraft, want: []string{
		`{"kind":1,"l7_protocol":"TLS","len":` + strconv.Itoa(len(chDraft)-5) + `,"version":"TLS 1.3","request_type":"ClientHello"}`}},
	{name: "unnamed version in hex", toServer: true, payload: chFuture, want: []string{
		`{"kind":1,"l7_protocol":"TLS","len":` + strconv.Itoa(len(chFuture)-5) + `,"version":"0x0305","request_type":"ClientHello"}`}},
	{name: "server hello tls 1.3", payload: sh13, want: []string{
		`{"kind":2,"l7_protocol":"TLS","response_code":0,"response_status":0,"len":` + strconv.Itoa(len(sh13)-5) + `,"version":"TLS 1.3"}`}},
	{name: "server hello flight tls 1.2", payload: sh12Flight, want: []string{
		`{"kind":2,"l7_protocol":"TLS","response_code":0,"response_status":0,"len":42,"version":"TLS 1.2"}`}},
	{name: "fatal alert from server", payload: alert(2, 40), want: []string{
		`{"kind":2,"l7_protocol":"TLS","response_code":40,"response_status":3,"len":7,"response_exception":"handshake_failure"}`}},
	{name: "fatal alert with unnamed description", payload: alert(2, 200), want: []string{
		`{"kind":2,"l7_protocol":"TLS","response_code":200,"response_status":3,"len":7,"response_exception":"alert_200"}`}},
	{name: "server hello then fatal alert", payload: cat(sh13, alert(2, 47), alert(2, 80)), want: []string{
		`{"kind":2,"l7_protocol":"TLS","response_code":47,"response_status":3,"len":` + strconv.Itoa(len(sh13)-5) + `,"version":"TLS 1.3","response_exception":"illegal_parameter"}`}},
	{name: "fatal alert from client", toServer: true, payload: alert(2, 42)},
	{name: "warning alert from server", payload: alert(1, 0)},
	{name: "encrypted alert", payload: record(typeAlert, make([]byte, 26))},
	{name: "application data", payload: cat(appData, appData)},
	{name: "change cipher spec and encrypted finished", toServer: true, payload: cat(ccs, encFinished)},
	{name: "change cipher spec and second client hello", toServer: true, payload: cat(ccs, ch13), want: []string{
		`{"kind":1,"l7_protocol":"TLS","len":` + strconv.Itoa(len(ch13)-5) + `,"version":"TLS 1.3","request_type":"ClientHello","request_domain":"www.example.com"}`}},
	{name: "continuation segment", toServer: true, payload: ch13[40:]},
	{name: "record header cut", toServer: true, payload: ch13[:3]},
	{name: "client hello cut in its extensions", toServer: true, payload: ch13[:len(ch13)-15], want: []string{
		`{"kind":1,"l7_protocol":"TLS","len":` + strconv.Itoa(len(ch13)-5) + `,"version":"TLS 1.2","request_type":"ClientHello","request_domain":"www.example.com"}`}},
	{name: "client hello continued in the next record", toServer: true, payload: func() []byte {
		hs := clientHello(0x0303, sniExt("split.example.com"), ext(21, make([]byte, 400)))
		return cat(record(typeHandshake, hs[:200]), record(typeHandshake, hs[200:]))
	}(), want: []string{
		`{"kind":1,"l7_protocol":"TLS","len":` + strconv.Itoa(len(clientHello(0x0303, sniExt("split.example.com"), ext(21, make([]byte, 400))))) + `,"version":"TLS 1.2","request_type":"ClientHello","request_domain":"split.example.com"}`}},
	{name: "sslv2 client hello", toServer: true, payload: sslv2, want: []string{
		`{"kind":1,"l7_protocol":"TLS","len":48,"version":"TLS 1.0","request_type":"ClientHello"}`}},
	{name: "hello cut before its version", toServer: true, payload: ch13[:8], err: dissectors.ErrShort},
	{name: "malformed extensions stop quietly", toServer: true, payload: record(typeHandshake, clientHello(0x0303, []byte{0, 0, 0xff, 0xff, 1})), want: []string{
		`{"kind":1,"l7_protocol":"TLS","len":88,"version":"TLS 1.2","request_type":"ClientHello"}`}},
}

func TestParse(t *testing.T) {
	d := tls.New()
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			m := dissectors.Meta{Proto: 6, ClientPort: 40000, ServerPort: 443, ToServer: tc.toServer, PayloadLen: uint32(len(tc.payload))}
			require.Equal(t, dtest.Lines(tc.want...), dtest.JSON(dtest.Parse(t, d, tc.payload, &m, tc.err)))
		})
	}
}

func TestCheck(t *testing.T) {
	d := tls.New()
	for _, tc := range []struct {
		name    string
		proto   uint8
		payload []byte
		want    bool
	}{
		{"client hello", 6, ch13, true},
		{"client hello tls 1.0", 6, ch10SNI, true},
		{"client hello cut after its version", 6, ch13[:11], true},
		{"server hello", 6, sh13, true},
		{"server hello flight", 6, sh12Flight, true},
		{"sslv2 client hello", 6, sslv2, true},
		{"over udp", 17, ch13, false},
		{"hello cut before its version", 6, ch13[:10], false},
		{"application data", 6, appData, false},
		{"alert", 6, alert(2, 40), false},
		{"change cipher spec", 6, ccs, false},
		{"encrypted finished", 6, encFinished, false},
		{"certificate", 6, record(typeHandshake, handshake(11, make([]byte, 100))), false},
		{"session id too long", 6, func() []byte { b := append([]byte(nil), ch12...); b[5+4+2+32] = 33; return b }(), false},
		{"record version 2", 6, func() []byte { b := append([]byte(nil), ch12...); b[1] = 2; return b }(), false},
		{"hello version 4.0", 6, func() []byte { b := append([]byte(nil), ch12...); b[9] = 4; return b }(), false},
		{"hello too short", 6, record(typeHandshake, handshake(hsClientHello, []byte{3, 3, 0})), false},
		{"record too long", 6, func() []byte { b := append([]byte(nil), ch12...); b[3] = 0x60; return b }(), false},
		{"http", 6, []byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"), false},
		{"dns over tcp", 6, []byte{0, 29, 0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1}, false},
		{"ssh banner", 6, []byte("SSH-2.0-OpenSSH_9.2p1\r\n"), false},
		{"empty", 6, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := dissectors.Meta{Proto: tc.proto, ClientPort: 40000, ServerPort: 443, ToServer: true, PayloadLen: uint32(len(tc.payload))}
			require.Equal(t, tc.want, d.Check(tc.payload, &m))
		})
	}
}

// TestApplicationDataGivesNothing parses every packet of a capture taken
// mid-session (application data only), as the engine would once the flow
// is known: no record and no error.
func TestApplicationDataGivesNothing(t *testing.T) {
	pkts := dtest.Read(t, dtest.Shared(t, "ndpi", "tls-appdata.pcap"))
	require.NotEmpty(t, pkts)
	d := tls.New()
	for i := range pkts {
		out, err := d.Parse(nil, pkts[i].Payload, &pkts[i].Meta)
		require.NoError(t, err, "packet %d", i)
		require.Empty(t, out, "packet %d", i)
	}
}

// goldenPcaps are the captures the golden test runs over.
var goldenPcaps = []dtest.Capture{
	{Name: "openssl", File: "openssl.pcap"},
	{Name: "ndpi_google_ssl", Corpus: "ndpi", File: "google_ssl.pcap"},
	{Name: "ndpi_tls_alert", Corpus: "ndpi", File: "tls_alert.pcap"},
	{Name: "ndpi_tls_1.3_unidirectional_client", Corpus: "ndpi", File: "tls_1.3_unidirectional_client.pcapng"},
	{Name: "ndpi_tls_appdata", Corpus: "ndpi", File: "tls-appdata.pcap"},
	{Name: "ndpi_tls_esni_sni_both", Corpus: "ndpi", File: "tls_esni_sni_both.pcap"},
	{Name: "ndpi_tls_with_huge_ch", Corpus: "ndpi", File: "tls_with_huge_ch.pcapng"},
}

func TestGolden(t *testing.T) { dtest.Goldens(t, tls.New(), goldenPcaps) }
