package redis

import (
	"github.com/tapflow/tapflow/dissectors"
)

// Dissector parses the Redis serialization protocol (RESP2 and RESP3). It
// is stateless: one value serves every flow of a worker.
type Dissector struct{}

// New returns the Redis dissector.
func New() *Dissector { return &Dissector{} }

// Transports implements the engine's transport filter: Check accepts TCP payloads only.
func (*Dissector) Transports() dissectors.Transport { return dissectors.TCP }

// FirstByte implements the engine's first-byte filter: Check needs an array
// ('*') or an inline command, which starts with a letter.
func (*Dissector) FirstByte(b byte) bool { return b == '*' || isLetter(b) }

// Protocol returns dissectors.ProtoRedis.
func (*Dissector) Protocol() dissectors.Protocol { return dissectors.ProtoRedis }

// RESP values (https://redis.io/docs/latest/develop/reference/protocol-spec/)
// start with a type byte and a line ended by CRLF:
//
//	+OK\r\n              simple string      -ERR msg\r\n       simple error
//	:42\r\n              integer            $5\r\nhello\r\n    bulk string ($-1: null)
//	*2\r\n<v><v>         array (*-1: null)  _\r\n              null (RESP3)
//	#t\r\n  ,1.5\r\n  (123\r\n              boolean, double, big number (RESP3)
//	!5\r\nerror  =7\r\ntxt:abc          bulk error, verbatim string (RESP3)
//	%1\r\n<k><v>  ~2\r\n<v><v>  >2\r\n<v><v>  |1\r\n<k><v>
//	                     map, set, push, attribute (RESP3)
//
// A request is an array of bulk strings, or an inline command: a line of
// space-separated words.
const (
	// maxNumberLine bounds the scan for the CRLF of a length or count
	// line: 19 digits and a sign.
	maxNumberLine = 21
	// maxCount bounds an aggregate's count or a bulk length (Redis's
	// proto-max-bulk-len is 512 MB).
	maxCount = 1 << 31
)

// Check reports whether payload starts with a Redis command: a RESP array
// `*<n>\r\n$<len>\r\n<name>\r\n` whose name looks like a command (a
// letter, then letters, digits, '_', '-', '.' or '|': `GET`, `JSON.GET`, an
// unknown command the server will reject), or, client → server, inline
// commands (see checkInline).
func (*Dissector) Check(payload []byte, m *dissectors.Meta) bool {
	if m.Proto != 6 || len(payload) < 4 {
		return false
	}
	if payload[0] == '*' {
		n, pos, ok := numberLine(payload, 1)
		if !ok || n < 1 || pos >= len(payload) || payload[pos] != '$' {
			return false
		}
		l, pos, ok := numberLine(payload, pos+1)
		if !ok || l < 1 || l > maxCommandLen || pos+int(l)+2 > len(payload) {
			return false
		}
		name := payload[pos : pos+int(l)]
		if payload[pos+int(l)] != '\r' || payload[pos+int(l)+1] != '\n' {
			return false
		}
		return commandLike(name)
	}
	// Inline commands only go client → server: NATS servers send "PING".
	if !m.ToServer || !isLetter(payload[0]) {
		return false
	}
	return checkInline(payload)
}

// checkInline reports whether payload is a run of inline commands: every
// line a known Redis command ended by "\n", and at least one line either
// a command that no other line protocol uses (LPUSH, HGETALL, KEYS…) or
// "PING" alone. A memcached "get k" or "set k 0 0 5" + data, an SMTP
// "QUIT", a NATS "INFO {…}" or a STOMP "SUBSCRIBE" frame is not claimed.
func checkInline(p []byte) bool {
	distinct := false
	for pos := 0; pos < len(p); {
		line, ok := inlineLine(p, pos)
		if !ok {
			return false
		}
		pos += len(line) + 1
		if line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		w := firstWord(line)
		switch {
		case !knownCommand(w):
			return false
		case distinctiveInline(w), len(w) == len(line) && equalFold(w, "PING"):
			distinct = true
		}
	}
	return distinct
}

// Parse appends a Request per command (client side) or a Response per
// top-level reply (server side) that starts in payload. A segment that
// continues a value begun earlier yields nothing.
func (d *Dissector) Parse(dst []dissectors.Record, payload []byte, m *dissectors.Meta) ([]dissectors.Record, error) {
	if len(payload) == 0 {
		return dst, nil
	}
	total := max(int(m.PayloadLen), len(payload))
	if m.ToServer {
		return parseRequests(dst, payload, total)
	}
	return parseReplies(dst, payload, total), nil
}

// parseRequests appends one Request per command in p. A RESP array that
// is cut at the segment's end still yields its request (with the
// arguments present); a segment starting with anything other than '*' or
// a known inline command continues an earlier command and yields nothing.
func parseRequests(dst []dissectors.Record, p []byte, total int) ([]dissectors.Record, error) {
	orig := len(dst)
	for pos := 0; pos < len(p); {
		var next int
		var st status
		if p[pos] == '*' {
			dst, next, st = appendArrayCommand(dst, p, pos, total)
		} else {
			dst, next, st = appendInlineCommand(dst, p, pos)
		}
		switch st {
		case bad:
			if pos == 0 {
				if p[0] == '*' {
					return dst[:orig], dissectors.ErrMalformed
				}
				return dst[:orig], nil
			}
			return dst, nil
		case incomplete:
			return dst, nil
		}
		pos = next
	}
	return dst, nil
}

type status uint8

const (
	complete   status = iota
	incomplete        // the value runs past the segment's end
	bad               // not RESP
)

var space = []byte{' '}

// appendArrayCommand parses the RESP command at p[pos:] and appends its
// Request once the command name is complete: request_type is the name as
// sent, request_resource all the arguments joined by spaces (cut by the
// record's text buffer). A command cut at the segment's end keeps the
// arguments present; its Len is a lower bound.
func appendArrayCommand(dst []dissectors.Record, p []byte, pos, total int) ([]dissectors.Record, int, status) {
	start := pos
	n, pos, ok := numberLine(p, pos+1)
	switch {
	case !ok && pos >= len(p):
		return dst, len(p), incomplete
	case !ok:
		return dst, pos, bad
	case n == 0 || n == -1:
		return dst, pos, complete // an empty command: Redis ignores it
	case n < 1 || n > maxCount:
		return dst, pos, bad
	}
	var r *dissectors.Record
	st, known := complete, 0
	for i := int64(0); i < n && st == complete; i++ {
		if pos >= len(p) {
			st = incomplete // the segment ends between two arguments
			break
		}
		l, data, ok := numberLine(p, pos+1)
		if p[pos] != '$' || !ok && data < len(p) || ok && (l < 0 || l > maxCount) {
			st = bad
			break
		}
		if !ok {
			st = incomplete
			break
		}
		end := data + int(l)
		switch {
		case r == nil && end > len(p):
			st = incomplete // the command name itself is cut
		case r == nil:
			dst, r = dissectors.Next(dst)
			r.Protocol = dissectors.ProtoRedis
			r.Kind = dissectors.Request
			r.Set(&r.RequestType, p[data:end])
			r.Set(&r.RequestResource, p[data:end])
		default:
			r.Append(&r.RequestResource, space)
			r.Append(&r.RequestResource, p[data:min(end, len(p))])
		}
		switch {
		case end+2 > len(p):
			st, known = incomplete, end+2-start
		case p[end] != '\r' || p[end+1] != '\n':
			st = bad
		default:
			pos = end + 2
		}
	}
	switch {
	case st == bad && r != nil:
		return dst[:len(dst)-1], pos, bad
	case st == bad:
		return dst, pos, bad
	case r == nil:
		return dst, len(p), incomplete
	case st == incomplete:
		r.Len = uint32(max(known, total-start))
		return dst, len(p), incomplete
	}
	r.Len = uint32(pos - start)
	return dst, pos, complete
}

// appendInlineCommand parses an inline command: a line ended by "\n"
// whose first word is a known command. request_type is that word,
// request_resource the line without its line end.
func appendInlineCommand(dst []dissectors.Record, p []byte, pos int) ([]dissectors.Record, int, status) {
	line, ok := inlineLine(p, pos)
	if !ok {
		return dst, pos, bad
	}
	next := pos + len(line) + 1
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	w := firstWord(line)
	if !knownCommand(w) {
		return dst, pos, bad
	}
	dst, r := dissectors.Next(dst)
	r.Protocol = dissectors.ProtoRedis
	r.Kind = dissectors.Request
	r.Len = uint32(next - pos)
	r.Set(&r.RequestType, w)
	r.Set(&r.RequestResource, line)
	return dst, next, complete
}

// inlineLine returns the line at p[pos:] up to (not including) its '\n';
// ok is false when p has no '\n' or the line holds control bytes other
// than '\r' and '\t'.
func inlineLine(p []byte, pos int) ([]byte, bool) {
	for i := pos; i < len(p); i++ {
		c := p[i]
		if c == '\n' {
			return p[pos:i], i > pos
		}
		if c < 0x20 && c != '\r' && c != '\t' || c == 0x7f {
			return nil, false
		}
	}
	return nil, false
}

// firstWord returns line's first space-separated word (line without its
// "\r").
func firstWord(line []byte) []byte {
	i := 0
	for i < len(line) && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' {
		i++
	}
	return line[:i]
}

// parseReplies appends one Response per top-level reply in p. Push
// messages ('>', RESP3 pub/sub) and attributes ('|', which precede the
// reply they annotate) yield no record. The first reply must parse: a
// segment that does not start with a valid value continues an earlier one.
//
// A segment holding several values of which the last runs past its end
// yields nothing: that is the shape of a piece of a large aggregate reply
// (KEYS, LRANGE, HGETALL, COMMAND) that happens to start at an element,
// whose elements would otherwise each pass for a reply. A pipeline whose
// replies cross a segment boundary loses its replies in that segment; its
// in-order pairing is lost at the next segment anyway, which starts inside
// a reply.
func parseReplies(dst []dissectors.Record, p []byte, total int) []dissectors.Record {
	orig, values := len(dst), 0
	for pos := 0; pos < len(p); {
		t := p[pos]
		end, st := skipValue(p, pos)
		if st == bad {
			return dst
		}
		values++
		if st == incomplete && values > 1 {
			return dst[:orig]
		}
		if t != '>' && t != '|' {
			dst = appendReply(dst, p, pos, end, st, total)
		}
		if st == incomplete {
			return dst
		}
		pos = end
	}
	return dst
}

// appendReply appends the Response for the reply at p[pos:end]: '-'
// (simple error) and '!' (bulk error) are server errors, as DeepFlow marks
// every Redis error, with the error text as response_exception; any other
// reply is ok.
func appendReply(dst []dissectors.Record, p []byte, pos, end int, st status, total int) []dissectors.Record {
	dst, r := dissectors.Next(dst)
	r.Protocol = dissectors.ProtoRedis
	r.Kind = dissectors.Response
	r.Status = dissectors.StatusOK
	r.Len = uint32(end - pos)
	t := p[pos]
	if st == incomplete {
		r.Len = uint32(total - pos)
		if t == '$' || t == '!' || t == '=' {
			if l, data, ok := numberLine(p, pos+1); ok && l >= 0 {
				r.Len = uint32(int64(data-pos) + l + 2)
			}
		}
	}
	switch t {
	case '-':
		r.Status = dissectors.StatusServerError
		line, _, _ := simpleLine(p, pos+1)
		r.Set(&r.Exception, line)
	case '!':
		r.Status = dissectors.StatusServerError
		if l, data, ok := numberLine(p, pos+1); ok && l >= 0 {
			r.Set(&r.Exception, p[data:min(data+int(l), len(p))])
		}
	}
	return dst
}

// skipValue finds the end of the value at p[pos:], nested aggregates
// included, without recursion: pending counts the values still to read.
func skipValue(p []byte, pos int) (int, status) {
	pending := int64(1)
	for pending > 0 {
		if pos >= len(p) {
			return pos, incomplete
		}
		t := p[pos]
		pending--
		switch t {
		case '+', '-', ':', '(', ',', '_', '#':
			line, next, st := simpleLine(p, pos+1)
			if st != complete {
				return next, st
			}
			if !simpleValue(t, line) {
				return pos, bad
			}
			pos = next
		case '$', '!', '=':
			l, data, ok := numberLine(p, pos+1)
			if !ok {
				if data >= len(p) {
					return len(p), incomplete
				}
				return pos, bad
			}
			if l < -1 || l > maxCount {
				return pos, bad
			}
			if l == -1 {
				pos = data
				continue
			}
			end := data + int(l)
			if end+2 > len(p) {
				return len(p), incomplete
			}
			if p[end] != '\r' || p[end+1] != '\n' {
				return pos, bad
			}
			pos = end + 2
		case '*', '~', '>', '%', '|':
			n, next, ok := numberLine(p, pos+1)
			if !ok {
				if next >= len(p) {
					return len(p), incomplete
				}
				return pos, bad
			}
			if n < -1 || n > maxCount {
				return pos, bad
			}
			if n > 0 {
				if t == '%' || t == '|' {
					n *= 2
				}
				pending += n
			}
			pos = next
		default:
			return pos, bad
		}
	}
	return pos, complete
}

// numberLine parses the integer line at p[pos:] ("-1", "42") and returns
// it with the offset after its CRLF. When ok is false, next >= len(p) says
// the segment ends inside a line that may still be a number; otherwise the
// line is not a number.
func numberLine(p []byte, pos int) (v int64, next int, ok bool) {
	i := pos
	neg := false
	if i < len(p) && p[i] == '-' {
		neg = true
		i++
	}
	digits := 0
	for ; i < len(p) && p[i] >= '0' && p[i] <= '9'; i++ {
		if digits == 18 {
			return 0, pos, false
		}
		v = v*10 + int64(p[i]-'0')
		digits++
	}
	if i == len(p) || p[i] == '\r' && i+1 == len(p) {
		return 0, len(p), false
	}
	if digits == 0 || p[i] != '\r' || p[i+1] != '\n' {
		return 0, pos, false
	}
	if neg {
		v = -v
	}
	return v, i + 2, true
}

// simpleLine returns the line at p[pos:] up to its CRLF and the offset
// after it. st is incomplete when the segment ends first (line is then
// the rest of p) and bad when the line holds a bare CR or LF.
func simpleLine(p []byte, pos int) (line []byte, next int, st status) {
	for i := pos; i < len(p); i++ {
		switch p[i] {
		case '\r':
			if i+1 == len(p) {
				return p[pos:i], len(p), incomplete
			}
			if p[i+1] == '\n' {
				return p[pos:i], i + 2, complete
			}
			return nil, pos, bad
		case '\n':
			return nil, pos, bad
		}
	}
	return p[pos:], len(p), incomplete
}

// simpleValue checks the line of a one-line value of type t.
func simpleValue(t byte, line []byte) bool {
	switch t {
	case ':', '(':
		return integer(line)
	case ',':
		return double(line)
	case '_':
		return len(line) == 0
	case '#':
		return len(line) == 1 && (line[0] == 't' || line[0] == 'f')
	}
	return true
}

// integer reports whether line is an optionally signed run of digits.
func integer(line []byte) bool {
	if len(line) > 0 && (line[0] == '-' || line[0] == '+') {
		line = line[1:]
	}
	if len(line) == 0 {
		return false
	}
	for _, c := range line {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// double reports whether line is a RESP3 double: "inf", "-inf", "nan" or
// digits with an optional sign, fraction and exponent.
func double(line []byte) bool {
	if len(line) > 0 && (line[0] == '-' || line[0] == '+') {
		line = line[1:]
	}
	if string(line) == "inf" || string(line) == "nan" {
		return true
	}
	if len(line) == 0 || line[0] < '0' || line[0] > '9' {
		return false
	}
	for _, c := range line {
		if (c < '0' || c > '9') && c != '.' && c != 'e' && c != 'E' && c != '-' && c != '+' {
			return false
		}
	}
	return true
}
