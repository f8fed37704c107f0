package mysql

import (
	"github.com/tapflow/tapflow/dissectors"
)

// Dissector parses the MySQL client/server protocol (also MariaDB's). It is
// stateless: one value serves every flow of a worker.
type Dissector struct{}

// New returns the MySQL dissector.
func New() *Dissector { return &Dissector{} }

// Transports implements the engine's transport filter: Check accepts TCP payloads only.
func (*Dissector) Transports() dissectors.Transport { return dissectors.TCP }

// Protocol returns dissectors.ProtoMySQL.
func (*Dissector) Protocol() dissectors.Protocol { return dissectors.ProtoMySQL }

// Packet header (MySQL internals, "MySQL Packets"):
//
//	0      3     4
//	+------+-----+---------------------------+
//	| len  | seq | payload (len bytes)       |
//	+------+-----+---------------------------+
//	len: uint24 little endian, payload length without the header
//	seq: sequence id, 0 for the packet that starts a command, then
//	     incremented per packet of the exchange (the reply starts at 1)
const headerLen = 4

// Command bytes (the first payload byte of a seq-0 client packet).
const (
	comQuit             = 0x01
	comInitDB           = 0x02
	comQuery            = 0x03
	comFieldList        = 0x04
	comPing             = 0x0e
	comStmtPrepare      = 0x16
	comStmtExecute      = 0x17
	comStmtSendLongData = 0x18
	comStmtClose        = 0x19
	comStmtBulkExecute  = 0xfa // MariaDB
)

// commandNames maps the command byte to the name DeepFlow reports as
// request_type; "" marks a byte that is not a client command (COM_SLEEP,
// COM_CONNECT, COM_TIME, COM_DELAYED_INSERT, COM_DAEMON are server-internal).
var commandNames = [256]string{
	0x01: "COM_QUIT",
	0x02: "COM_INIT_DB",
	0x03: "COM_QUERY",
	0x04: "COM_FIELD_LIST",
	0x05: "COM_CREATE_DB",
	0x06: "COM_DROP_DB",
	0x07: "COM_REFRESH",
	0x08: "COM_SHUTDOWN",
	0x09: "COM_STATISTICS",
	0x0a: "COM_PROCESS_INFO",
	0x0c: "COM_PROCESS_KILL",
	0x0d: "COM_DEBUG",
	0x0e: "COM_PING",
	0x11: "COM_CHANGE_USER",
	0x12: "COM_BINLOG_DUMP",
	0x13: "COM_TABLE_DUMP",
	0x15: "COM_REGISTER_SLAVE",
	0x16: "COM_STMT_PREPARE",
	0x17: "COM_STMT_EXECUTE",
	0x18: "COM_STMT_SEND_LONG_DATA",
	0x19: "COM_STMT_CLOSE",
	0x1a: "COM_STMT_RESET",
	0x1b: "COM_SET_OPTION",
	0x1c: "COM_STMT_FETCH",
	0x1e: "COM_BINLOG_DUMP_GTID",
	0x1f: "COM_RESET_CONNECTION",
	0xfa: "COM_STMT_BULK_EXECUTE",
}

// Response packet headers (the first payload byte of the seq-1 packet).
const (
	respOK  = 0x00
	respEOF = 0xfe
	respErr = 0xff
)

// protocolV10 is the first byte of the server greeting (HandshakeV10).
const protocolV10 = 0x0a

// header decodes the 4-byte packet header at p[0:4]; len(p) >= 4.
func header(p []byte) (n int, seq byte) {
	return int(p[0]) | int(p[1])<<8 | int(p[2])<<16, p[3]
}

// Check reports whether payload is a MySQL server greeting (protocol 10
// with a printable version string) or a complete client command packet:
// COM_QUERY / COM_STMT_PREPARE whose text starts with an SQL keyword,
// COM_INIT_DB with a schema name, or COM_PING / COM_QUIT. The packet
// length must match the payload exactly.
func (*Dissector) Check(payload []byte, m *dissectors.Meta) bool {
	if m.Proto != 6 || len(payload) < headerLen+1 {
		return false
	}
	n, seq := header(payload)
	if seq != 0 || n+headerLen != len(payload) {
		return false
	}
	body := payload[headerLen:]
	switch body[0] {
	case protocolV10:
		return isGreeting(body)
	case comQuery, comStmtPrepare:
		return startsWithSQLKeyword(queryText(body))
	case comInitDB:
		return isIdentifier(body[1:])
	case comPing, comQuit:
		return n == 1
	}
	return false
}

// isGreeting checks a HandshakeV10 body: 0x0a, a NUL-terminated printable
// server version starting with a digit, a 4-byte connection id, 8 bytes of
// auth-plugin-data and a 0x00 filler.
func isGreeting(b []byte) bool {
	i := 1
	for ; i < len(b) && b[i] != 0; i++ {
		if b[i] < 0x20 || b[i] > 0x7e || i > 64 {
			return false
		}
	}
	if i == 1 || b[1] < '0' || b[1] > '9' {
		return false
	}
	filler := i + 1 + 4 + 8
	return filler < len(b) && b[filler] == 0
}

// isIdentifier reports whether b is a plausible schema name: 1..64
// characters (up to 256 bytes of UTF-8), no control bytes, spaces or
// quotes.
func isIdentifier(b []byte) bool {
	if len(b) == 0 || len(b) > 64*4 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c == 0x7f || c == '\'' || c == '"' {
			return false
		}
	}
	return true
}

// queryText returns the SQL of a COM_QUERY / COM_STMT_PREPARE body (command
// byte included). MySQL 8 clients that negotiated CLIENT_QUERY_ATTRIBUTES
// prefix COM_QUERY's text with parameter_count and parameter_set_count
// (length-encoded); without the handshake state they are detected as
// DeepFlow does: the bytes 0x00 0x01 (no parameters, one set) are skipped.
// SQL text never starts with a NUL byte, so the test is safe.
func queryText(body []byte) []byte {
	t := body[1:]
	if body[0] == comQuery && len(t) >= 2 && t[0] == 0x00 && t[1] == 0x01 {
		t = t[2:]
	}
	return t
}

// Parse appends a Request per client command packet (seq 0) in payload,
// a Request "Login" for the client's handshake response, a Response for
// the server's first reply packet (seq 1) and for the OK/ERR that ends the
// login. Later packets of a reply (column definitions, rows, EOF), the
// server greeting and the intermediate authentication packets yield
// nothing.
func (d *Dissector) Parse(dst []dissectors.Record, payload []byte, m *dissectors.Meta) ([]dissectors.Record, error) {
	if len(payload) < headerLen {
		return dst, dissectors.ErrShort
	}
	if isTLSRecord(payload) {
		return dst, nil // the session switched to TLS after an SSLRequest
	}
	if m.ToServer {
		return parseRequests(dst, payload, m)
	}
	return parseResponse(dst, payload, m)
}

// isTLSRecord reports whether p starts with a TLS record header (content
// type 20..23, version 3.x): read as a MySQL header it announces a packet
// of 197 to 263 KB, whose sequence id is the high byte of the record length.
func isTLSRecord(p []byte) bool {
	return p[0] >= 0x14 && p[0] <= 0x17 && p[1] == 3 && p[2] <= 4
}

// bigSegment is the size from which a client segment may hold only the
// start of a binary command packet (COM_STMT_SEND_LONG_DATA,
// COM_STMT_BULK_EXECUTE): below it a packet longer than the segment is
// not MySQL (TLS records after an SSLRequest look like seq-0 packets of
// about 197 KB).
const bigSegment = 1024

// parseRequests appends one record per seq-0 command packet, or the Login
// record of a handshake response. A segment that does not start with a
// command packet (the rest of a long query, TLS after an SSLRequest, the
// client's auth-switch replies) yields nothing; a seq-0 packet with an
// unknown command byte is malformed.
func parseRequests(dst []dissectors.Record, p []byte, m *dissectors.Meta) ([]dissectors.Record, error) {
	orig := len(dst)
	total := max(int(m.PayloadLen), len(p))
	for pos := 0; pos+headerLen <= len(p); {
		n, seq := header(p[pos:])
		if seq != 0 {
			if pos == 0 && seq == 1 {
				return appendLogin(dst, p, n, total), nil
			}
			break
		}
		if pos+headerLen >= len(p) {
			if pos == 0 {
				return dst[:orig], dissectors.ErrShort
			}
			break
		}
		end := pos + headerLen + n
		body := p[pos+headerLen : min(end, len(p))]
		if n == 0 || !validCommand(body, end > total, total) {
			if pos == 0 {
				return dst[:orig], dissectors.ErrMalformed
			}
			break
		}
		dst = appendCommand(dst, body, n)
		pos = end
	}
	return dst, nil
}

// validCommand checks a command packet's body (cut at the segment's end);
// beyond says the packet is longer than the segment, which only commands
// that carry SQL text or parameter data can be.
func validCommand(body []byte, beyond bool, segLen int) bool {
	switch body[0] {
	case comQuery, comStmtPrepare:
		return !beyond || startsWithSQLKeyword(queryText(body)) && isText(queryText(body))
	case comStmtExecute:
		// statement id uint32, flags (cursor type), iteration count
		// uint32, which is always 1.
		return len(body) >= 10 && body[5]&^0x07 == 0 &&
			body[6] == 1 && body[7] == 0 && body[8] == 0 && body[9] == 0
	case comStmtSendLongData, comStmtBulkExecute:
		return !beyond || segLen >= bigSegment
	}
	return commandNames[body[0]] != "" && !beyond
}

// isText reports whether the first bytes of b are text (printable ASCII,
// white space or UTF-8 bytes).
func isText(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b[:min(len(b), 32)] {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
			return false
		}
	}
	return true
}

// appendCommand appends the record of one command packet; body starts with
// the command byte and may be cut at the segment's end; n is the packet's
// payload length.
func appendCommand(dst []dissectors.Record, body []byte, n int) []dissectors.Record {
	dst, r := dissectors.Next(dst)
	r.Protocol = dissectors.ProtoMySQL
	r.Kind = dissectors.Request
	r.Len = uint32(n + headerLen)
	cmd := body[0]
	r.SetString(&r.RequestType, commandNames[cmd])
	switch cmd {
	case comQuit, comStmtClose, comStmtSendLongData:
		// The server sends no reply: a row of its own, as in DeepFlow.
		r.Kind = dissectors.Session
	case comQuery, comStmtPrepare:
		// The endpoint first: a long statement fills the text buffer.
		sql := queryText(body)
		appendEndpoint(r, sql)
		r.Set(&r.RequestResource, sql)
	case comInitDB:
		r.Set(&r.RequestResource, body[1:])
	}
	return dst
}

// Capability flags of the handshake response.
const (
	capConnectWithDB      = 0x00000008
	capProtocol41         = 0x00000200
	capSSL                = 0x00000800
	capSecureConnection   = 0x00008000
	capPluginAuthLenEnc   = 0x00200000
	handshakeFixedLen     = 32 // capabilities, max packet size, charset, filler
	handshakeFillerZeroes = 19 // MariaDB uses the filler's last 4 bytes
)

// appendLogin appends a "Login" Request for a HandshakeResponse41 (the
// client's seq-1 packet; MySQL internals, "Protocol::HandshakeResponse41"):
//
//	capabilities uint32, max_packet_size uint32, character_set uint8,
//	filler [23]byte (zero), username NUL-terminated, auth_response
//	(length-encoded, 1-byte length, or NUL-terminated per capability),
//	database NUL-terminated if CLIENT_CONNECT_WITH_DB, ...
//
// request_resource is the database, if given. An SSLRequest (the same 32
// fixed bytes alone) and anything else yield nothing: TLS follows.
func appendLogin(dst []dissectors.Record, p []byte, n, total int) []dissectors.Record {
	if headerLen+n > total || n <= handshakeFixedLen || len(p) < headerLen+handshakeFixedLen+1 {
		return dst
	}
	b := p[headerLen:min(headerLen+n, len(p))]
	caps := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
	if caps&capProtocol41 == 0 {
		return dst
	}
	for _, c := range b[9 : 9+handshakeFillerZeroes] {
		if c != 0 {
			return dst
		}
	}
	rest := b[handshakeFixedLen:]
	user := indexNUL(rest)
	if user <= 0 {
		return dst
	}
	rest = rest[user+1:]
	switch {
	case caps&capPluginAuthLenEnc != 0:
		l, k := lenenc(rest)
		if k == 0 || l > uint64(len(rest)-k) {
			return dst
		}
		rest = rest[k+int(l):]
	case caps&capSecureConnection != 0:
		if len(rest) == 0 || int(rest[0]) >= len(rest) {
			return dst
		}
		rest = rest[1+int(rest[0]):]
	default:
		i := indexNUL(rest)
		if i < 0 {
			return dst
		}
		rest = rest[i+1:]
	}
	dst, r := dissectors.Next(dst)
	r.Protocol = dissectors.ProtoMySQL
	r.Kind = dissectors.Request
	r.Len = uint32(n + headerLen)
	r.SetString(&r.RequestType, "Login")
	if caps&capConnectWithDB != 0 {
		if i := indexNUL(rest); i > 0 {
			r.Set(&r.RequestResource, rest[:i])
		}
	}
	return dst
}

func indexNUL(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

// lenenc decodes a length-encoded integer; k is its size, 0 if b is too
// short or starts with a byte that is not an integer prefix.
func lenenc(b []byte) (v uint64, k int) {
	if len(b) == 0 {
		return 0, 0
	}
	switch c := b[0]; {
	case c < 0xfb:
		return uint64(c), 1
	case c == 0xfc && len(b) >= 3:
		return uint64(b[1]) | uint64(b[2])<<8, 3
	case c == 0xfd && len(b) >= 4:
		return uint64(b[1]) | uint64(b[2])<<8 | uint64(b[3])<<16, 4
	case c == 0xfe && len(b) >= 9:
		for i := 8; i >= 1; i-- {
			v = v<<8 | uint64(b[i])
		}
		return v, 9
	}
	return 0, 0
}

// Client-side error codes (mysqld_error.h): the request itself is wrong,
// so the row is a client error; every other ERR packet is a server error.
const (
	erAccessDenied   = 1045 // ER_ACCESS_DENIED_ERROR
	erBadDB          = 1049 // ER_BAD_DB_ERROR
	erBadField       = 1054 // ER_BAD_FIELD_ERROR
	erParse          = 1064 // ER_PARSE_ERROR
	erNoSuchTable    = 1146 // ER_NO_SUCH_TABLE
	minOKPacketLen   = 7    // 0x00, affected rows, last insert id, status, warnings
	minErrPacketLen  = 3    // 0xff, error code
	errSQLStateMark  = '#'
	errSQLStateBytes = 6 // '#' and the 5-character SQLSTATE
)

// parseResponse appends a Response for a segment that starts with the
// first packet of a reply (seq 1): OK, ERR, EOF, a result set's column
// count or another command's reply. The packet must fit in the segment
// (replies' first packets are small) and a following packet, if its header
// is in the segment, must have seq 2: that keeps a continuation segment of
// a large result from passing as a reply. A segment ending the login
// (seq 2 and later) is handled by appendLoginResult.
func parseResponse(dst []dissectors.Record, p []byte, m *dissectors.Meta) ([]dissectors.Record, error) {
	n, seq := header(p)
	if seq >= 2 && seq <= maxLoginSeq {
		return appendLoginResult(dst, p, m), nil
	}
	if seq != 1 {
		return dst, nil // greeting, or a later packet of a reply
	}
	total := max(int(m.PayloadLen), len(p))
	end := headerLen + n
	if n == 0 || end > total {
		return dst, nil
	}
	if end+headerLen <= len(p) && p[end+3] != 2 {
		return dst, nil
	}
	if len(p) <= headerLen {
		return dst, dissectors.ErrShort
	}
	body := p[headerLen:min(end, len(p))]
	switch body[0] {
	case respOK:
		if n < minOKPacketLen {
			return dst, dissectors.ErrMalformed
		}
	case respErr:
		if n < minErrPacketLen || len(body) < minErrPacketLen {
			return dst, dissectors.ErrMalformed
		}
		return appendError(dst, body, n), nil
	}
	dst, r := dissectors.Next(dst)
	r.Protocol = dissectors.ProtoMySQL
	r.Kind = dissectors.Response
	r.Status = dissectors.StatusOK
	if body[0] == respOK || body[0] == respEOF {
		r.Len = uint32(end)
	} else {
		// A result set (or another multi-packet reply): its length is
		// what this segment carries of it.
		r.Len = uint32(total)
	}
	return dst, nil
}

// maxLoginSeq is the highest sequence id the login's final OK/ERR has
// (handshake response 1, auth switch 2/3, RSA key exchange up to 8).
const maxLoginSeq = 10

// respAuthMoreData starts the AuthMoreData packets of caching_sha2_password
// (fast-auth success 0x01 0x03 precedes the OK in the same segment).
const respAuthMoreData = 0x01

// appendLoginResult appends the Response that ends the login: a segment
// made only of whole packets with consecutive seq ids from 2 on, of which
// all but the last are AuthMoreData and the last is an OK with zero
// affected rows and insert id, or an ERR with an SQLSTATE. Anything else
// (auth-switch requests, rows of a result set) yields nothing.
func appendLoginResult(dst []dissectors.Record, p []byte, m *dissectors.Meta) []dissectors.Record {
	if int(m.PayloadLen) > len(p) {
		return dst
	}
	var body []byte
	var n int
	want := p[3]
	for pos := 0; pos < len(p); {
		if pos+headerLen > len(p) {
			return dst
		}
		k, seq := header(p[pos:])
		end := pos + headerLen + k
		if k == 0 || seq != want || end > len(p) {
			return dst
		}
		if body != nil && body[0] != respAuthMoreData {
			return dst
		}
		body, n = p[pos+headerLen:end], k
		want++
		pos = end
	}
	switch body[0] {
	case respOK:
		if n < minOKPacketLen || body[1] != 0 || body[2] != 0 {
			return dst
		}
		dst, r := dissectors.Next(dst)
		r.Protocol = dissectors.ProtoMySQL
		r.Kind = dissectors.Response
		r.Status = dissectors.StatusOK
		r.Len = uint32(n + headerLen)
		return dst
	case respErr:
		if n < minErrPacketLen+errSQLStateBytes || body[3] != errSQLStateMark {
			return dst
		}
		return appendError(dst, body, n)
	}
	return dst
}

// appendError appends the Response of an ERR packet:
//
//	0xff, error_code uint16 LE, ['#', sql_state [5]byte], error_message
func appendError(dst []dissectors.Record, body []byte, n int) []dissectors.Record {
	dst, r := dissectors.Next(dst)
	r.Protocol = dissectors.ProtoMySQL
	r.Kind = dissectors.Response
	r.Len = uint32(n + headerLen)
	code := int32(body[1]) | int32(body[2])<<8
	r.HasCode = true
	r.Code = code
	switch code {
	case erAccessDenied, erBadDB, erBadField, erParse, erNoSuchTable:
		r.Status = dissectors.StatusClientError
	default:
		r.Status = dissectors.StatusServerError
	}
	msg := body[3:]
	if len(msg) >= errSQLStateBytes && msg[0] == errSQLStateMark {
		msg = msg[errSQLStateBytes:]
	}
	r.Set(&r.Exception, msg)
	return dst
}
