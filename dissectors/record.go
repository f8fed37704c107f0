package dissectors

import (
	"encoding/binary"
	"strconv"
)

// Protocol is l7_protocol, numbered as DeepFlow numbers it.
type Protocol uint8

// L7 protocols.
const (
	ProtoUnknown    Protocol = 0
	ProtoHTTP1      Protocol = 20
	ProtoHTTP2      Protocol = 21
	ProtoDubbo      Protocol = 40
	ProtoGRPC       Protocol = 41
	ProtoMySQL      Protocol = 60
	ProtoPostgreSQL Protocol = 61
	ProtoRedis      Protocol = 80
	ProtoMongoDB    Protocol = 81
	ProtoMemcached  Protocol = 82
	ProtoKafka      Protocol = 100
	ProtoMQTT       Protocol = 101
	ProtoAMQP       Protocol = 102
	ProtoDNS        Protocol = 120
	ProtoTLS        Protocol = 121
)

// String returns DeepFlow's l7_protocol_str name.
func (p Protocol) String() string {
	switch p {
	case ProtoHTTP1:
		return "HTTP"
	case ProtoHTTP2:
		return "HTTP2"
	case ProtoDubbo:
		return "Dubbo"
	case ProtoGRPC:
		return "gRPC"
	case ProtoMySQL:
		return "MySQL"
	case ProtoPostgreSQL:
		return "PostgreSQL"
	case ProtoRedis:
		return "Redis"
	case ProtoMongoDB:
		return "MongoDB"
	case ProtoMemcached:
		return "Memcached"
	case ProtoKafka:
		return "Kafka"
	case ProtoMQTT:
		return "MQTT"
	case ProtoAMQP:
		return "AMQP"
	case ProtoDNS:
		return "DNS"
	case ProtoTLS:
		return "TLS"
	}
	return "N/A"
}

// Kind says what a Record is to the pairing engine.
type Kind uint8

// Record kinds.
const (
	// Request opens a session: it waits for the response with the same
	// Key (or, without a key, the next response of the flow).
	Request Kind = 1
	// Response closes the oldest matching open request.
	Response Kind = 2
	// Session is a message that is complete on its own (a one-way
	// message such as an MQTT PUBLISH at QoS 0, a TLS handshake summary):
	// it becomes a row without pairing.
	Session Kind = 3
)

// Status is l7_flow_log.response_status (architecture §4).
type Status uint8

// Response statuses.
const (
	StatusOK          Status = 0
	StatusTimeout     Status = 2 // no response within the request timeout
	StatusServerError Status = 3 // HTTP 5xx, DNS SERVFAIL, SQL errors…
	StatusClientError Status = 4 // HTTP 4xx, DNS NXDOMAIN, SQL syntax…
	StatusUnknown     Status = 5 // a response without its request
)

// TextCap is how many bytes of text one Record holds across all its
// fields; a field that does not fit is truncated.
const TextCap = 512

// Text is a field of a Record: a span of the Record's buffer.
type Text struct{ off, n uint16 }

// Len is the field's length in bytes.
func (t Text) Len() int { return int(t.n) }

// Record is one request, response or session parsed from a packet, with
// DeepFlow's l7_flow_log field meanings (architecture §4, per-protocol
// table). Text fields live in the Record's own buffer, so a Record is a
// plain value that can be copied and kept after the payload is gone.
type Record struct {
	Kind     Kind
	Protocol Protocol
	// HasKey says Key correlates the response with its request (DNS id,
	// HTTP/2 stream, Kafka correlation id, MongoDB requestID/responseTo,
	// Dubbo request id, MQTT packet id). Without it responses pair with
	// requests in order (HTTP/1, MySQL, PostgreSQL, Redis…).
	HasKey bool
	Key    uint64
	// Code is response_code (HTTP status, DNS rcode, SQL error code…);
	// HasCode says the response carried one.
	HasCode bool
	Code    int32
	Status  Status
	// Len is the message's length in bytes: from its own length field when
	// the protocol has one, else the payload's.
	Len uint32

	Version         Text
	RequestType     Text // method, command, opcode or API name
	RequestDomain   Text // Host, :authority, qname, topic
	RequestResource Text // path, SQL, command line, qname
	Endpoint        Text
	Exception       Text // response_exception: error message
	TraceID         Text
	SpanID          Text

	used uint16
	buf  [TextCap]byte
}

// Reset empties r for reuse.
func (r *Record) Reset() {
	*r = Record{}
}

// Set copies b into r's buffer as field f, truncated to what is left.
func (r *Record) Set(f *Text, b []byte) { setText(r, f, b) }

// SetString is Set for a string (a constant name).
func (r *Record) SetString(f *Text, s string) { setText(r, f, s) }

func setText[T string | []byte](r *Record, f *Text, b T) {
	n := copy(r.buf[r.used:], b)
	*f = Text{off: r.used, n: uint16(n)}
	r.used += uint16(n)
}

// Append appends b to field f, which must be the field set last (so its
// bytes are at the end of the buffer); it is for building a field from
// pieces, such as a DNS name from labels.
func (r *Record) Append(f *Text, b []byte) {
	if int(f.off)+int(f.n) != int(r.used) {
		return
	}
	n := copy(r.buf[r.used:], b)
	f.n += uint16(n)
	r.used += uint16(n)
}

// Bytes returns field f's bytes, aliasing r: valid while r is unchanged.
func (r *Record) Bytes(f Text) []byte { return r.buf[f.off : f.off+f.n] }

// String returns field f as a new string (allocates; not for the hot path).
func (r *Record) String(f Text) string { return string(r.Bytes(f)) }

// Copy sets field dst of r to field f of src.
func (r *Record) Copy(dst *Text, src *Record, f Text) { r.Set(dst, src.Bytes(f)) }

// Next extends dst by one reset Record and returns the slice and a pointer to
// it, reusing dst's capacity (no copy of a 600-byte value per record).
func Next(dst []Record) ([]Record, *Record) {
	if len(dst) < cap(dst) {
		dst = dst[:len(dst)+1]
	} else {
		dst = append(dst, Record{})
	}
	r := &dst[len(dst)-1]
	r.Reset()
	return dst, r
}

// AppendJSON appends r as one JSON object (for golden files and `replay
// --print l7`). Empty text fields are left out.
func (r *Record) AppendJSON(b []byte) []byte {
	b = append(b, `{"kind":`...)
	b = strconv.AppendUint(b, uint64(r.Kind), 10)
	b = append(b, `,"l7_protocol":"`...)
	b = append(b, r.Protocol.String()...)
	b = append(b, '"')
	if r.HasKey {
		b = append(b, `,"key":`...)
		b = strconv.AppendUint(b, r.Key, 10)
	}
	if r.HasCode {
		b = append(b, `,"response_code":`...)
		b = strconv.AppendInt(b, int64(r.Code), 10)
	}
	if r.Kind != Request {
		b = append(b, `,"response_status":`...)
		b = strconv.AppendUint(b, uint64(r.Status), 10)
	}
	b = append(b, `,"len":`...)
	b = strconv.AppendUint(b, uint64(r.Len), 10)
	b = r.AppendTextJSON(b)
	return append(b, '}')
}

// AppendTextJSON appends r's non-empty text fields as `,"name":"value"`
// members, with JSON string escaping.
func (r *Record) AppendTextJSON(b []byte) []byte {
	for _, f := range [...]struct {
		name string
		t    Text
	}{
		{"version", r.Version}, {"request_type", r.RequestType}, {"request_domain", r.RequestDomain},
		{"request_resource", r.RequestResource}, {"endpoint", r.Endpoint}, {"response_exception", r.Exception},
		{"trace_id", r.TraceID}, {"span_id", r.SpanID},
	} {
		if f.t.n == 0 {
			continue
		}
		b = append(b, ',', '"')
		b = append(b, f.name...)
		b = append(b, `":`...)
		b = AppendJSONString(b, r.Bytes(f.t))
	}
	return b
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string. Bytes that are not valid
// UTF-8 text are escaped as \u00XX of the byte, so any payload bytes give
// valid JSON.
//
// Text fields are mostly URLs, names and SQL with nothing to escape, so s
// goes out a run of plain bytes at a time, the runs found eight bytes at a
// word (byte by byte, the loop cost 13 instructions a packet more over the
// first 1.5 M packets of the bench corpus, under cachegrind).
func AppendJSONString(b []byte, s []byte) []byte {
	b = append(b, '"')
	for {
		i := plainPrefix(s)
		b = append(b, s[:i]...)
		if i == len(s) {
			return append(b, '"')
		}
		if c := s[i]; c == '"' || c == '\\' {
			b = append(b, '\\', c)
		} else {
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
		}
		s = s[i+1:]
	}
}

// jsonPlain marks the bytes a JSON string holds as they are: printable
// ASCII but the quote and the backslash.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plainPrefix returns the length of the longest prefix of s that
// jsonPlain passes.
func plainPrefix(s []byte) int {
	i := 0
	for ; i+8 <= len(s) && plainWord(binary.LittleEndian.Uint64(s[i:])); i += 8 {
	}
	for i < len(s) && jsonPlain[s[i]] {
		i++
	}
	return i
}

// plainWord reports whether all eight bytes of w are jsonPlain. The terms
// are the classic word tests, each exact as a yes/no: (x - n*ones) &^ x &
// highs is nonzero when a byte of x is below n (n <= 0x80), so x = w with
// n = 0x20 finds control bytes and x = w^v*ones with n = 1 finds a byte
// equal to v; w & highs finds the bytes above 0x7f.
func plainWord(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q, bs, del := w^('"'*ones), w^('\\'*ones), w^(0x7f*ones)
	return ((w-0x20*ones)&^w|(q-ones)&^q|(bs-ones)&^bs|(del-ones)&^del|w)&highs == 0
}
