package tls

import (
	"encoding/binary"
	"strconv"

	"github.com/tapflow/tapflow/dissectors"
)

// Dissector parses the clear-text start of TLS sessions. It is stateless.
type Dissector struct{}

// New returns a TLS dissector.
func New() *Dissector { return &Dissector{} }

// Transports implements the engine's transport filter: Check accepts TCP payloads only.
func (*Dissector) Transports() dissectors.Transport { return dissectors.TCP }

// FirstByte implements the engine's first-byte filter: Check needs a
// handshake record (type 22) or an SSLv2 hello, whose length has the top bit
// set.
func (*Dissector) FirstByte(b byte) bool { return b == typeHandshake || b&0x80 != 0 }

// Protocol returns dissectors.ProtoTLS.
func (*Dissector) Protocol() dissectors.Protocol { return dissectors.ProtoTLS }

// The record layer, RFC 8446 §5.1 (the same since SSL 3.0):
//
//	 0        1        2        3        4
//	+--------+--------+--------+--------+--------+
//	|  type  | major  | minor  |      length     |  then length bytes
//	+--------+--------+--------+--------+--------+
//
// A handshake record (type 22) carries handshake messages, each with a
// 4-byte header (§4): msg_type (1 byte) and a 3-byte length.
//
//	ClientHello: legacy_version(2) random(32) session_id(1+n)
//	             cipher_suites(2+n) compression_methods(1+n) extensions(2+n)
//	ServerHello: legacy_version(2) random(32) session_id(1+n)
//	             cipher_suite(2) compression_method(1) extensions(2+n)
//	extension:   type(2) length(2) data
//
// An alert record (type 21) in clear text is level(1) description(1).
const (
	recordHeaderLen = 5
	// maxRecordLen is the largest record length field: 2^14 plaintext
	// plus 2048 bytes of expansion (RFC 5246 §6.2.3).
	maxRecordLen = 1<<14 + 2048
	hsHeaderLen  = 4
	randomLen    = 32
	// minHelloLen is the shortest hello body: a ServerHello with an
	// empty session id and no extensions.
	minHelloLen = 2 + randomLen + 1 + 2 + 1
	// maxHelloLen bounds a hello's length field: a ClientHello's
	// variable parts are at most 32 + 2^16 + 2^8 + 2^16 bytes.
	maxHelloLen = 1 << 17
	// minFragment is the shortest record that may carry the start of a
	// hello continued in later records.
	minFragment = 64

	typeChangeCipherSpec = 20
	typeAlert            = 21
	typeHandshake        = 22
	typeApplicationData  = 23
	typeHeartbeat        = 24

	hsClientHello = 1
	hsServerHello = 2

	extServerName        = 0
	extSupportedVersions = 43

	alertFatal = 2
	tcpProto   = 6
)

// recordHeader reports whether b starts with a plausible record header
// and returns its type and length.
func recordHeader(b []byte) (typ byte, n int, ok bool) {
	if len(b) < recordHeaderLen {
		return 0, 0, false
	}
	typ = b[0]
	if typ < typeChangeCipherSpec || typ > typeHeartbeat || b[1] != 3 || b[2] > 4 {
		return 0, 0, false
	}
	n = int(binary.BigEndian.Uint16(b[3:]))
	if n == 0 || n > maxRecordLen {
		return 0, 0, false
	}
	return typ, n, true
}

// Check reports whether payload starts with a handshake record carrying a
// ClientHello or ServerHello: record version 3.0–3.4, a length within the
// limits, a hello whose length fits a hello and whose own version is
// 3.0–3.4, and a session id of at most 32 bytes when the segment shows it.
func (*Dissector) Check(payload []byte, m *dissectors.Meta) bool {
	if m.Proto != tcpProto {
		return false
	}
	if sslv2Hello(payload) {
		return true
	}
	typ, n, ok := recordHeader(payload)
	if !ok || typ != typeHandshake {
		return false
	}
	return helloHeader(payload[recordHeaderLen:], n) == helloOK
}

// Results of helloHeader.
const (
	notHello = iota
	helloOK
	helloShort // a hello's type, cut before its version
)

// helloHeader says whether body, the start of a handshake record of
// length n, starts with a ClientHello or ServerHello: the type, a length
// between the shortest hello and the longest ClientHello, version 3.0–3.4,
// and a session id of at most 32 bytes when the segment shows it. A hello
// longer than its record (continued in the next records) must fill a
// record of some size. This also tells a clear-text hello from encrypted
// handshake records (a TLS 1.2 Finished after change_cipher_spec).
func helloHeader(body []byte, n int) int {
	if len(body) == 0 || (body[0] != hsClientHello && body[0] != hsServerHello) {
		return notHello
	}
	if len(body) < hsHeaderLen+2 {
		return helloShort
	}
	hlen := int(body[1])<<16 | int(body[2])<<8 | int(body[3])
	if hlen < minHelloLen || hlen > maxHelloLen || (hsHeaderLen+hlen > n && n < minFragment) {
		return notHello
	}
	if body[hsHeaderLen] != 3 || body[hsHeaderLen+1] > 4 {
		return notHello
	}
	if sid := hsHeaderLen + 2 + randomLen; len(body) > sid && body[sid] > 32 {
		return notHello
	}
	return helloOK
}

// Parse appends the hello or alert records that start in payload: a
// ClientHello gives a request; a ServerHello, or a fatal alert sent by the
// server, gives one response per segment. Other records (the rest of the
// handshake, change_cipher_spec, application data) give nothing, and so
// does a segment that does not start with a record header.
func (*Dissector) Parse(dst []dissectors.Record, payload []byte, m *dissectors.Meta) ([]dissectors.Record, error) {
	if sslv2Hello(payload) {
		out, r := dissectors.Next(dst)
		r.Protocol = dissectors.ProtoTLS
		r.Kind = dissectors.Request
		r.Len = uint32(2 + (int(payload[0]&0x7f)<<8 | int(payload[1])))
		r.SetString(&r.RequestType, "ClientHello")
		setVersion(r, binary.BigEndian.Uint16(payload[3:]))
		return out, nil
	}
	out := dst
	resp := -1 // index in out of this segment's response
	for off := 0; ; {
		typ, n, ok := recordHeader(payload[off:])
		if !ok {
			// The rest of a record begun earlier, or the next record's
			// header cut by the segment end.
			return out, nil
		}
		body := payload[off+recordHeaderLen:]
		if len(body) > n {
			body = body[:n]
		}
		switch typ {
		case typeHandshake:
			h := helloHeader(body, n)
			if h == helloShort {
				if len(out) == len(dst) {
					return dst, dissectors.ErrShort
				}
				return out, nil
			}
			// Other handshake messages, encrypted ones, and a second
			// response in one segment give nothing.
			if h != helloOK || (body[0] == hsServerHello && resp >= 0) {
				break
			}
			var r *dissectors.Record
			out, r = dissectors.Next(out)
			hello(r, body)
			if r.Kind == dissectors.Response {
				resp = len(out) - 1
			}
		case typeAlert:
			// A clear-text alert is 2 bytes; a longer one is encrypted.
			if m.ToServer || n != 2 || len(body) < 2 || body[0] != alertFatal {
				break
			}
			var r *dissectors.Record
			if resp < 0 {
				out, r = dissectors.Next(out)
				resp = len(out) - 1
				r.Protocol = dissectors.ProtoTLS
				r.Kind = dissectors.Response
				r.Len = recordHeaderLen + 2
			} else {
				r = &out[resp]
				if r.Status != dissectors.StatusOK {
					break // the first fatal alert is the reason
				}
			}
			r.HasCode = true
			r.Code = int32(body[1])
			r.Status = dissectors.StatusServerError
			setAlertName(r, body[1])
		}
		off += recordHeaderLen + n
		if off >= len(payload) {
			return out, nil
		}
	}
}

// sslv2Hello reports whether b starts with a ClientHello in the SSL 2.0
// format that SSL 3.0 and TLS 1.0–1.2 clients may send for compatibility
// (RFC 5246 Appendix E.2): a 2-byte length with the top bit set, msg_type 1,
// version 3.x, then the lengths of the cipher specs (3 bytes each), the
// session id (0 or 16) and the challenge (16–32), which add up to the
// length. It has no extensions, so no server name.
//
//	 0        1        2        3        4
//	+--------+--------+--------+--------+--------+
//	|1 len hi| len lo |   1    | major  | minor  |
//	+--------+--------+--------+--------+--------+
//	| cipher_spec_len | session_id_len  | challenge_len   | …
func sslv2Hello(b []byte) bool {
	if len(b) < 11 || b[0]&0x80 == 0 || b[2] != hsClientHello || b[3] != 3 || b[4] > 3 {
		return false
	}
	n := int(b[0]&0x7f)<<8 | int(b[1])
	specs := int(binary.BigEndian.Uint16(b[5:]))
	sid := int(binary.BigEndian.Uint16(b[7:]))
	chal := int(binary.BigEndian.Uint16(b[9:]))
	return specs > 0 && specs%3 == 0 && (sid == 0 || sid == 16) && chal >= 16 && chal <= 32 &&
		n == 9+specs+sid+chal
}

// hello fills r from a ClientHello or ServerHello handshake message (msg
// starts at its 4-byte header and holds at least the version; it may be
// cut short). It reads as far as the message, its record and the segment
// go, and stops quietly at the first length that does not fit.
func hello(r *dissectors.Record, msg []byte) {
	client := msg[0] == hsClientHello
	hlen := int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3])
	r.Protocol = dissectors.ProtoTLS
	r.Len = uint32(hsHeaderLen + hlen)
	if client {
		r.Kind = dissectors.Request
		r.SetString(&r.RequestType, "ClientHello")
	} else {
		r.Kind = dissectors.Response
		r.HasCode = true
		r.Status = dissectors.StatusOK
	}
	version := binary.BigEndian.Uint16(msg[hsHeaderLen:])
	b := msg[hsHeaderLen:]
	if len(b) > hlen {
		b = b[:hlen]
	}
	selected, sni := extensions(b, client)
	if selected != 0 {
		version = selected
	}
	setVersion(r, version)
	if len(sni) > 0 {
		r.Set(&r.RequestDomain, sni)
	}
}

// extensions walks a hello body (after its handshake header) to its
// extensions and returns the version chosen from supported_versions (the
// highest a client offers, the one a server selected; 0 if absent) and,
// for a client, the first host name of server_name.
func extensions(b []byte, client bool) (version uint16, sni []byte) {
	p := 2 + randomLen
	if p >= len(b) {
		return 0, nil
	}
	p += 1 + int(b[p]) // session_id
	if client {
		if p+2 > len(b) {
			return 0, nil
		}
		p += 2 + int(binary.BigEndian.Uint16(b[p:])) // cipher_suites
		if p >= len(b) {
			return 0, nil
		}
		p += 1 + int(b[p]) // compression_methods
	} else {
		p += 2 + 1 // cipher_suite, compression_method
	}
	if p+2 > len(b) {
		return 0, nil
	}
	end := p + 2 + int(binary.BigEndian.Uint16(b[p:]))
	p += 2
	if end > len(b) {
		end = len(b) // cut by the segment: read the whole extensions
	}
	for p+4 <= end {
		typ := binary.BigEndian.Uint16(b[p:])
		n := int(binary.BigEndian.Uint16(b[p+2:]))
		p += 4
		if p+n > end {
			break
		}
		data := b[p : p+n]
		p += n
		switch typ {
		case extServerName:
			if client && sni == nil {
				sni = serverName(data)
			}
		case extSupportedVersions:
			if client {
				version = highestVersion(data)
			} else if len(data) == 2 {
				version = norm(binary.BigEndian.Uint16(data))
			}
		}
	}
	return version, sni
}

// serverName returns the first host_name of a ServerNameList (RFC 6066 §3).
func serverName(d []byte) []byte {
	if len(d) < 2 {
		return nil
	}
	end := 2 + int(binary.BigEndian.Uint16(d))
	if end > len(d) {
		return nil
	}
	for p := 2; p+3 <= end; {
		typ := d[p]
		n := int(binary.BigEndian.Uint16(d[p+1:]))
		p += 3
		if p+n > end {
			return nil
		}
		if typ == 0 {
			return d[p : p+n]
		}
		p += n
	}
	return nil
}

// highestVersion returns the highest version a ClientHello's
// supported_versions offers, GREASE values (RFC 8701) left out.
func highestVersion(d []byte) uint16 {
	if len(d) < 1 {
		return 0
	}
	n := int(d[0])
	if 1+n > len(d) {
		n = len(d) - 1
	}
	var best uint16
	for p := 1; p+2 <= 1+n; p += 2 {
		v := binary.BigEndian.Uint16(d[p:])
		if v&0x0f0f == 0x0a0a {
			continue
		}
		if v = norm(v); v > best {
			best = v
		}
	}
	return best
}

// norm maps TLS 1.3 drafts (0x7fNN) and Facebook's fizz experimental
// TLS 1.3 versions (0xfbNN) to TLS 1.3.
func norm(v uint16) uint16 {
	if v>>8 == 0x7f || v>>8 == 0xfb {
		return 0x0304
	}
	return v
}

// setVersion sets version to the protocol name of v, or 0xNNNN for a value
// without one.
func setVersion(r *dissectors.Record, v uint16) {
	switch v {
	case 0x0300:
		r.SetString(&r.Version, "SSL 3.0")
	case 0x0301:
		r.SetString(&r.Version, "TLS 1.0")
	case 0x0302:
		r.SetString(&r.Version, "TLS 1.1")
	case 0x0303:
		r.SetString(&r.Version, "TLS 1.2")
	case 0x0304:
		r.SetString(&r.Version, "TLS 1.3")
	default:
		const hex = "0123456789abcdef"
		b := [6]byte{'0', 'x', hex[v>>12], hex[v>>8&15], hex[v>>4&15], hex[v&15]}
		r.Set(&r.Version, b[:])
	}
}

// alertNames are the AlertDescription names of RFC 8446 §6 and the
// registry (earlier versions' included).
var alertNames = [...]string{
	0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 21: "decryption_failed",
	22: "record_overflow", 30: "decompression_failure", 40: "handshake_failure", 41: "no_certificate",
	42: "bad_certificate", 43: "unsupported_certificate", 44: "certificate_revoked",
	45: "certificate_expired", 46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca",
	49: "access_denied", 50: "decode_error", 51: "decrypt_error", 60: "export_restriction",
	70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
	86: "inappropriate_fallback", 90: "user_canceled", 100: "no_renegotiation",
	109: "missing_extension", 110: "unsupported_extension", 111: "certificate_unobtainable",
	112: "unrecognized_name", 113: "bad_certificate_status_response",
	114: "bad_certificate_hash_value", 115: "unknown_psk_identity", 116: "certificate_required",
	120: "no_application_protocol", 121: "ech_required",
}

// setAlertName sets response_exception to the alert's name, or alert_<n>
// for a description without one.
func setAlertName(r *dissectors.Record, d byte) {
	if int(d) < len(alertNames) && alertNames[d] != "" {
		r.SetString(&r.Exception, alertNames[d])
		return
	}
	var num [3]byte
	r.SetString(&r.Exception, "alert_")
	r.Append(&r.Exception, strconv.AppendUint(num[:0], uint64(d), 10))
}
