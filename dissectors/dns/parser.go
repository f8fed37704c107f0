package dns

import (
	"encoding/binary"
	"strconv"

	"github.com/tapflow/tapflow/dissectors"
)

// Dissector parses DNS over UDP and TCP. It is stateless.
type Dissector struct{}

// New returns a DNS dissector.
func New() *Dissector { return &Dissector{} }

// Transports implements the engine's transport filter: DNS runs over UDP and TCP.
func (*Dissector) Transports() dissectors.Transport { return dissectors.TCP | dissectors.UDP }

// Protocol returns dissectors.ProtoDNS.
func (*Dissector) Protocol() dissectors.Protocol { return dissectors.ProtoDNS }

// The message header, RFC 1035 §4.1.1:
//
//	                                1  1  1  1  1  1
//	  0  1  2  3  4  5  6  7  8  9  0  1  2  3  4  5
//	+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//	|                      ID                       |
//	+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//	|QR|   Opcode  |AA|TC|RD|RA| Z|AD|CD|   RCODE   |
//	+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//	|                    QDCOUNT                    |
//	|                    ANCOUNT                    |
//	|                    NSCOUNT                    |
//	|                    ARCOUNT                    |
//	+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//
// A question (§4.1.2) is QNAME (labels or a compression pointer), QTYPE
// (2 bytes) and QCLASS (2 bytes).
const (
	headerLen = 12
	flagQR    = 0x8000 // flags: 1 = response
	flagZ     = 0x0040 // flags: reserved, zero in every real message
	minQuest  = 5      // the shortest question: root name, qtype, qclass
	minRR     = 11     // the shortest resource record: root name, type, class, TTL, rdlength
	maxName   = 255    // RFC 1035 §2.3.4: a name's wire length
	maxQD     = 4      // questions a unicast DNS message plausibly has
	maxQDmDNS = 64     // mDNS queries carry many questions
	tcpProto  = 6
	udpProto  = 17
)

// header is the decoded fixed header.
type header struct {
	id, flags      uint16
	qd, an, ns, ar int
}

func readHeader(msg []byte) header {
	return header{
		id:    binary.BigEndian.Uint16(msg[0:]),
		flags: binary.BigEndian.Uint16(msg[2:]),
		qd:    int(binary.BigEndian.Uint16(msg[4:])),
		an:    int(binary.BigEndian.Uint16(msg[6:])),
		ns:    int(binary.BigEndian.Uint16(msg[8:])),
		ar:    int(binary.BigEndian.Uint16(msg[10:])),
	}
}

func (h header) opcode() int    { return int(h.flags>>11) & 0xf }
func (h header) rcode() int     { return int(h.flags) & 0xf }
func (h header) response() bool { return h.flags&flagQR != 0 }

// sane reports whether the header could start a message of wireLen bytes:
// a defined opcode (QUERY, IQUERY, STATUS, NOTIFY, UPDATE), the Z bit
// clear, no rcode in a query, and counts whose minimal sizes fit.
func (h header) sane(wireLen int) bool {
	switch h.opcode() {
	case 0, 1, 2, 4, 5:
	default:
		return false
	}
	if h.flags&flagZ != 0 {
		return false
	}
	if !h.response() && h.rcode() != 0 {
		return false
	}
	return headerLen+h.qd*minQuest+(h.an+h.ns+h.ar)*minRR <= wireLen
}

// portHint: the well-known ports of DNS, mDNS and LLMNR, a tie-breaker only.
func portHint(m *dissectors.Meta) bool {
	switch m.ServerPort {
	case 53, 5353, 5355:
		return true
	}
	return m.ClientPort == 5353
}

// Check reports whether payload starts a DNS message: a sane header (over
// TCP after a two-byte length of at least a header and a question) with a
// first question whose name parses and whose class is defined. Unusual
// but legal shapes (no question, many questions, answers in a query, as
// mDNS sends) are accepted only on the DNS/mDNS/LLMNR ports.
func (*Dissector) Check(payload []byte, m *dissectors.Meta) bool {
	msg, wireLen := payload, len(payload)
	switch m.Proto {
	case tcpProto:
		if len(payload) < 2+headerLen {
			return false
		}
		wireLen = int(binary.BigEndian.Uint16(payload))
		msg = payload[2:]
		if len(msg) > wireLen {
			msg = msg[:wireLen]
		}
	case udpProto:
		if int(m.PayloadLen) > wireLen {
			wireLen = int(m.PayloadLen)
		}
	default:
		return false
	}
	if len(msg) < headerLen {
		return false
	}
	h := readHeader(msg)
	if !h.sane(wireLen) {
		return false
	}
	unusual := h.qd > maxQD || (!h.response() && h.an > 0)
	if h.qd > maxQDmDNS {
		return false
	}
	if h.qd == 0 {
		// mDNS announcements, some error responses and inverse queries
		// (opcode 1, RFC 1035 §6.4) have no question: require an answer
		// whose owner name parses, on a DNS port.
		if (!h.response() && h.opcode() != 1) || h.an == 0 || !portHint(m) {
			return false
		}
		end, err := walkName(msg, headerLen, nil, nil)
		return err == nil && end+10 <= len(msg)
	}
	end, err := walkName(msg, headerLen, nil, nil)
	if err != nil || end+4 > len(msg) {
		return false
	}
	qtype := binary.BigEndian.Uint16(msg[end:])
	qclass := binary.BigEndian.Uint16(msg[end+2:]) & 0x7fff // mDNS: top bit is unicast-response
	if qtype == 0 || netbios(msg) {
		return false
	}
	switch qclass {
	case 1, 3, 4, 254, 255: // IN, CH, HS, NONE, ANY
	default:
		return false
	}
	return !unusual || portHint(m)
}

// netbios reports whether the first question is NetBIOS name service's
// (RFC 1002 §4.2.1: the DNS format, on port 137, types NB and NBSTAT): a
// name whose first label is the 32-letter encoding ('A'–'P') of a NetBIOS
// name. That is another protocol.
func netbios(msg []byte) bool {
	if len(msg) < headerLen+33 || msg[headerLen] != 32 {
		return false
	}
	letters := 0
	for _, c := range msg[headerLen+1 : headerLen+33] {
		if c >= 'A' && c <= 'Z' {
			letters++
		}
	}
	return letters >= 28 // 'A'–'P', with slack for corrupted names
}

// Parse appends a record per DNS message that starts in payload. Over UDP
// the payload is one message; over TCP each length-prefixed message in the
// segment gives a record, and a segment that does not start with one is a
// continuation and gives nothing.
func (*Dissector) Parse(dst []dissectors.Record, payload []byte, m *dissectors.Meta) ([]dissectors.Record, error) {
	if m.Proto == tcpProto {
		return parseTCP(dst, payload)
	}
	wireLen := len(payload)
	if int(m.PayloadLen) > wireLen {
		wireLen = int(m.PayloadLen)
	}
	if len(payload) < headerLen {
		return dst, dissectors.ErrShort
	}
	if !readHeader(payload).sane(wireLen) {
		return dst, dissectors.ErrMalformed
	}
	return parseMsg(dst, payload, wireLen)
}

// parseTCP walks the length-prefixed messages of a TCP segment (RFC 7766
// §8). The last one may continue in the next segment: its header and
// question are parsed from what is here.
func parseTCP(dst []dissectors.Record, payload []byte) ([]dissectors.Record, error) {
	out := dst
	off := 0
	for len(payload)-off >= 2 {
		wireLen := int(binary.BigEndian.Uint16(payload[off:]))
		msg := payload[off+2:]
		if len(msg) > wireLen {
			msg = msg[:wireLen]
		}
		if len(msg) < headerLen || !readHeader(msg).sane(wireLen) {
			// Not a message start: the rest of an earlier message, a
			// length prefix sent alone, or the next message cut before
			// the end of its header.
			break
		}
		next, err := parseMsg(out, msg, wireLen)
		if err != nil {
			if off == 0 {
				return dst, err
			}
			break
		}
		out = next
		off += 2 + wireLen
	}
	return out, nil
}

// parseMsg appends the record of one message (msg may be cut short of
// wireLen by the segment or the capture; its header is whole).
func parseMsg(dst []dissectors.Record, msg []byte, wireLen int) ([]dissectors.Record, error) {
	h := readHeader(msg)
	out, r := dissectors.Next(dst)
	r.Protocol = dissectors.ProtoDNS
	r.HasKey = true
	r.Key = uint64(h.id)
	r.Len = uint32(wireLen)
	r.Kind = dissectors.Request
	if h.response() {
		r.Kind = dissectors.Response
		rc := h.rcode()
		r.HasCode = true
		r.Code = int32(rc)
		r.Status = rcodeStatus(rc)
		if rc != 0 {
			r.SetString(&r.Exception, rcodeName(rc))
		}
	}
	if h.qd == 0 {
		return out, nil
	}
	end, err := walkName(msg, headerLen, r, &r.RequestResource)
	if err != nil {
		return dst, err
	}
	if end+2 > len(msg) {
		return dst, dissectors.ErrShort
	}
	qtype := binary.BigEndian.Uint16(msg[end:])
	setTypeName(r, qtype)
	if qtype == typeA || qtype == typeAAAA {
		r.Copy(&r.RequestDomain, r, r.RequestResource)
	}
	r.Copy(&r.Endpoint, r, r.RequestResource)
	return out, nil
}

// rcodeStatus maps an rcode to response_status as DeepFlow does: NOERROR is
// ok, FORMERR and NXDOMAIN are the client's fault, the rest the server's.
func rcodeStatus(rc int) dissectors.Status {
	switch rc {
	case 0:
		return dissectors.StatusOK
	case 1, 3:
		return dissectors.StatusClientError
	}
	return dissectors.StatusServerError
}

var dot = []byte{'.'}

// walkName reads the domain name at msg[off:] (RFC 1035 §4.1.4) and returns
// the offset just after it where it is stored (after its first compression
// pointer, if any). With r set, the name is written to field f, labels
// joined with '.' ("." for the root). Compression pointers must point
// before the name they are read from, so names cannot loop; the total
// length is limited to 255 bytes.
func walkName(msg []byte, off int, r *dissectors.Record, f *dissectors.Text) (int, error) {
	end := -1
	limit := off // a pointer must target a byte before this
	wire := 0
	first := true
	for {
		if off >= len(msg) {
			return 0, dissectors.ErrShort
		}
		c := int(msg[off])
		switch c & 0xc0 {
		case 0x00:
			if c == 0 {
				if end < 0 {
					end = off + 1
				}
				if first && r != nil {
					r.Set(f, dot)
				}
				return end, nil
			}
			wire += 1 + c
			if wire >= maxName {
				return 0, dissectors.ErrMalformed
			}
			if off+1+c > len(msg) {
				return 0, dissectors.ErrShort
			}
			if r != nil {
				label := msg[off+1 : off+1+c]
				if first {
					r.Set(f, label)
				} else {
					r.Append(f, dot)
					r.Append(f, label)
				}
			}
			first = false
			off += 1 + c
		case 0xc0:
			if off+2 > len(msg) {
				return 0, dissectors.ErrShort
			}
			ptr := int(binary.BigEndian.Uint16(msg[off:]) & 0x3fff)
			if ptr < headerLen || ptr >= limit {
				return 0, dissectors.ErrMalformed
			}
			if end < 0 {
				end = off + 2
			}
			limit = ptr
			off = ptr
		default: // 0x40 and 0x80: extended label types (RFC 6891 §5), unused
			return 0, dissectors.ErrMalformed
		}
	}
}

const (
	typeA    = 1
	typeAAAA = 28
)

// typeNames are IANA's resource record type mnemonics for types 1–65.
var typeNames = [...]string{
	1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR", 10: "NULL",
	11: "WKS", 12: "PTR", 13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT", 17: "RP", 18: "AFSDB", 19: "X25",
	20: "ISDN", 21: "RT", 22: "NSAP", 23: "NSAP-PTR", 24: "SIG", 25: "KEY", 26: "PX", 27: "GPOS",
	28: "AAAA", 29: "LOC", 30: "NXT", 31: "EID", 32: "NIMLOC", 33: "SRV", 34: "ATMA", 35: "NAPTR",
	36: "KX", 37: "CERT", 38: "A6", 39: "DNAME", 40: "SINK", 41: "OPT", 42: "APL", 43: "DS",
	44: "SSHFP", 45: "IPSECKEY", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 49: "DHCID", 50: "NSEC3",
	51: "NSEC3PARAM", 52: "TLSA", 53: "SMIMEA", 55: "HIP", 56: "NINFO", 57: "RKEY", 58: "TALINK",
	59: "CDS", 60: "CDNSKEY", 61: "OPENPGPKEY", 62: "CSYNC", 63: "ZONEMD", 64: "SVCB", 65: "HTTPS",
}

// typeName returns qtype's mnemonic, or "" when it has none.
func typeName(t uint16) string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	switch t {
	case 99:
		return "SPF"
	case 108:
		return "EUI48"
	case 109:
		return "EUI64"
	case 249:
		return "TKEY"
	case 250:
		return "TSIG"
	case 251:
		return "IXFR"
	case 252:
		return "AXFR"
	case 253:
		return "MAILB"
	case 254:
		return "MAILA"
	case 255:
		return "ANY"
	case 256:
		return "URI"
	case 257:
		return "CAA"
	case 32768:
		return "TA"
	case 32769:
		return "DLV"
	}
	return ""
}

// setTypeName sets request_type to qtype's name, or TYPE<n> (RFC 3597 §5)
// for a type without one.
func setTypeName(r *dissectors.Record, t uint16) {
	if s := typeName(t); s != "" {
		r.SetString(&r.RequestType, s)
		return
	}
	var num [5]byte
	r.SetString(&r.RequestType, "TYPE")
	r.Append(&r.RequestType, strconv.AppendUint(num[:0], uint64(t), 10))
}

// rcodeNames are IANA's DNS RCODE names for the 4-bit header field.
var rcodeNames = [16]string{
	"NoError", "FormErr", "ServFail", "NXDomain", "NotImp", "Refused", "YXDomain", "YXRRSet",
	"NXRRSet", "NotAuth", "NotZone", "DSOTYPENI", "RCODE12", "RCODE13", "RCODE14", "RCODE15",
}

func rcodeName(rc int) string { return rcodeNames[rc&0xf] }
