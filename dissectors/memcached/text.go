package memcached

import (
	"bytes"

	"github.com/tapflow/tapflow/dissectors"
)

// Text protocol (protocol.txt): a command line ended by "\r\n" (memcached
// also takes a bare "\n"); storage commands follow it with a data block of
// <bytes> bytes and "\r\n":
//
//	set|add|replace|append|prepend <key> <flags> <exptime> <bytes> [noreply]
//	cas <key> <flags> <exptime> <bytes> <cas unique> [noreply]
//	get|gets <key>*              gat|gats <exptime> <key>*
//	delete <key> [noreply]       incr|decr <key> <value> [noreply]
//	touch <key> <exptime> [noreply]
//	stats [args]  version  flush_all [delay] [noreply]  verbosity <n> [noreply]  quit
//
// Replies: VALUE <key> <flags> <bytes> [<cas>] lines each followed by a data
// block, then END; STAT <name> <value> lines then END; STORED, NOT_STORED,
// EXISTS, NOT_FOUND, DELETED, TOUCHED, OK, END, a number (incr/decr),
// VERSION <v>, ERROR, CLIENT_ERROR <msg>, SERVER_ERROR <msg>.

// command describes a text command.
type command struct {
	ok bool
	// storage: a data block of <bytes> (token 4) follows the line.
	storage bool
	// strong: the command line's shape is memcached's alone (numeric
	// arguments no other text protocol has), so Check trusts it on any port.
	strong bool
	// minArgs and maxArgs bound the tokens after the command name
	// (maxArgs < 0: any number); "noreply" counts.
	minArgs, maxArgs int
	// noReply: the server never answers (quit).
	noReply bool
}

func lookupCommand(name []byte) command {
	switch string(name) {
	case "set", "add", "replace", "append", "prepend":
		return command{ok: true, storage: true, strong: true, minArgs: 4, maxArgs: 5}
	case "cas":
		return command{ok: true, storage: true, strong: true, minArgs: 5, maxArgs: 6}
	case "get", "gets":
		return command{ok: true, minArgs: 1, maxArgs: -1}
	case "gat", "gats":
		return command{ok: true, strong: true, minArgs: 2, maxArgs: -1}
	case "delete":
		return command{ok: true, minArgs: 1, maxArgs: 3} // old servers took a <time>
	case "incr", "decr", "touch":
		return command{ok: true, minArgs: 2, maxArgs: 3}
	case "stats":
		return command{ok: true, minArgs: 0, maxArgs: -1}
	case "version":
		return command{ok: true, minArgs: 0, maxArgs: 0}
	case "flush_all":
		return command{ok: true, minArgs: 0, maxArgs: 2}
	case "verbosity":
		return command{ok: true, minArgs: 1, maxArgs: 2}
	case "quit":
		return command{ok: true, minArgs: 0, maxArgs: 0, noReply: true}
	}
	return command{}
}

// readLine returns the line at the start of p without its "\r\n" or "\n",
// and the offset after the line end; ok is false when p has no '\n'.
func readLine(p []byte) (line []byte, next int, ok bool) {
	// IndexByte, not a loop: Check runs this over every unidentified
	// payload, mostly binary ones that have no newline at all.
	i := bytes.IndexByte(p, '\n')
	if i < 0 {
		return p, len(p), false
	}
	end := i
	if end > 0 && p[end-1] == '\r' {
		end--
	}
	return p[:end], i + 1, true
}

// maxTokens is how many tokens of a line fields keeps (a storage command
// has at most 7); the count goes on past it.
const maxTokens = 8

// fields holds the spans of a line's space-separated tokens.
type fields struct {
	n    int // number of tokens in the line
	span [maxTokens][2]int
	last [2]int // the last token
}

func split(line []byte) (f fields) {
	start := -1
	for j := 0; j <= len(line); j++ {
		if j < len(line) && line[j] != ' ' {
			if start < 0 {
				start = j
			}
			continue
		}
		if start >= 0 {
			if f.n < maxTokens {
				f.span[f.n] = [2]int{start, j}
			}
			f.last = [2]int{start, j}
			f.n++
			start = -1
		}
	}
	return f
}

// get returns token i of line (nil when absent).
func (f *fields) get(line []byte, i int) []byte {
	if i < 0 || i >= f.n || i >= maxTokens {
		return nil
	}
	return line[f.span[i][0]:f.span[i][1]]
}

// parseUint parses a decimal number of at most 19 digits.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// printable reports whether line has no control characters, as memcached
// command lines and keys (protocol.txt: no control characters or
// whitespace in keys) do.
func printable(line []byte) bool {
	for _, c := range line {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// maxData bounds a data block length (memcached's item size limit is 1 MB
// by default and at most 1 GB).
const maxData = 1 << 30

// parseCommandLine validates line as a command and returns it with the
// length of its data block (storage commands). When the name is a known
// command but the arguments are not valid, c.ok is true and ok false.
func parseCommandLine(line []byte) (c command, data int, ok bool) {
	if len(line) == 0 || !printable(line) {
		return c, 0, false
	}
	f := split(line)
	n := f.n
	c = lookupCommand(f.get(line, 0))
	if !c.ok || n-1 < c.minArgs || (c.maxArgs >= 0 && n-1 > c.maxArgs) {
		return c, 0, false
	}
	switch {
	case c.storage:
		// <key> <flags> <exptime> <bytes> [<cas unique>] [noreply]
		for i := 2; i <= 4; i++ {
			tok := f.get(line, i)
			if i == 3 && len(tok) > 0 && tok[0] == '-' {
				tok = tok[1:] // a negative exptime expires at once
			}
			if _, isNum := parseUint(tok); !isNum {
				return c, 0, false
			}
		}
		v, _ := parseUint(f.get(line, 4))
		if v > maxData {
			return c, 0, false
		}
		data = int(v)
	case c.strong: // gat, gats <exptime> <key>*
		tok := f.get(line, 1)
		if len(tok) > 0 && tok[0] == '-' {
			tok = tok[1:]
		}
		if _, isNum := parseUint(tok); !isNum {
			return c, 0, false
		}
	}
	return c, data, true
}

// checkTextRequest sniffs a command line (see Check).
func checkTextRequest(p []byte, onPort bool) bool {
	line, next, ok := readLine(p)
	if !ok {
		return false
	}
	c, data, ok := parseCommandLine(line)
	if !ok {
		return false
	}
	if c.storage && next+data+2 <= len(p) && (p[next+data] != '\r' || p[next+data+1] != '\n') {
		return false
	}
	return c.strong || onPort
}

// replyKind classifies a reply line.
type replyKind uint8

const (
	replyNone  replyKind = iota // not a reply line
	replyValue                  // VALUE <key> <flags> <bytes> [<cas>]: data follows, then more VALUEs or END
	replyStat                   // STAT <name> <value>: more STATs, then END
	replyEnd                    // END
	replyOne                    // a one-line reply
)

// reply classifies line and gives its status, exception and, for VALUE,
// the data block length. strong says the line is memcached's alone.
func reply(line []byte) (k replyKind, st dissectors.Status, exc []byte, data int, strong bool) {
	if !printable(line) || len(line) == 0 {
		return replyNone, 0, nil, 0, false
	}
	switch string(line) {
	case "END":
		return replyEnd, dissectors.StatusOK, nil, 0, false
	case "STORED", "NOT_STORED", "EXISTS", "NOT_FOUND", "DELETED", "TOUCHED":
		return replyOne, dissectors.StatusOK, nil, 0, true
	case "OK", "RESET":
		return replyOne, dissectors.StatusOK, nil, 0, false
	case "ERROR":
		return replyOne, dissectors.StatusClientError, line, 0, false
	}
	f := split(line)
	n := f.n
	switch string(f.get(line, 0)) {
	case "VALUE":
		if n < 4 || n > 5 {
			return replyNone, 0, nil, 0, false
		}
		for i := 2; i < n; i++ {
			if !isUint(f.get(line, i)) {
				return replyNone, 0, nil, 0, false
			}
		}
		v, _ := parseUint(f.get(line, 3))
		if v > maxData {
			return replyNone, 0, nil, 0, false
		}
		return replyValue, dissectors.StatusOK, nil, int(v), true
	case "STAT":
		if n < 2 {
			return replyNone, 0, nil, 0, false
		}
		return replyStat, dissectors.StatusOK, nil, 0, true
	case "VERSION":
		return replyOne, dissectors.StatusOK, nil, 0, n == 2
	case "CLIENT_ERROR":
		return replyOne, dissectors.StatusClientError, afterToken(line), 0, true
	case "SERVER_ERROR":
		return replyOne, dissectors.StatusServerError, afterToken(line), 0, true
	}
	if n == 1 && isUint(line) { // incr/decr result
		return replyOne, dissectors.StatusOK, nil, 0, false
	}
	return replyNone, 0, nil, 0, false
}

// isUint reports whether b is a decimal number that fits 64 bits' digits
// (a cas unique has up to 20).
func isUint(b []byte) bool {
	if len(b) == 0 || len(b) > 20 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// afterToken returns line after its first token and the spaces after it.
func afterToken(line []byte) []byte {
	i := 0
	for i < len(line) && line[i] != ' ' {
		i++
	}
	for i < len(line) && line[i] == ' ' {
		i++
	}
	return line[i:]
}

// checkTextResponse sniffs a reply line (see Check).
func checkTextResponse(p []byte, onPort bool) bool {
	line, next, ok := readLine(p)
	if !ok {
		return false
	}
	k, _, _, data, strong := reply(line)
	switch {
	case k == replyNone:
		return false
	case k == replyValue && next+data+2 <= len(p) && (p[next+data] != '\r' || p[next+data+1] != '\n'):
		return false
	}
	return strong || onPort
}

// parseTextRequests appends a Request per command line in p (a Session for
// "noreply" commands and quit, which get no reply). Storage commands' data
// blocks are skipped; a payload that does not start with a command line
// continues an earlier data block and yields nothing.
func parseTextRequests(dst []dissectors.Record, p []byte, _ *dissectors.Meta) ([]dissectors.Record, error) {
	off := 0
	for off < len(p) {
		line, next, _ := readLine(p[off:])
		c, data, ok := parseCommandLine(line)
		if !c.ok {
			// At the start: the rest of a data block, or not memcached.
			// Later: a line cut by the segment end, or garbage.
			break
		}
		if !ok {
			// A known command with bad arguments: the server answers
			// it (ERROR or CLIENT_ERROR) and reads no data block.
			data = 0
		}
		var r *dissectors.Record
		dst, r = dissectors.Next(dst)
		r.Protocol = dissectors.ProtoMemcached
		r.Kind = dissectors.Request
		f := split(line)
		if c.noReply || string(line[f.last[0]:f.last[1]]) == "noreply" {
			r.Kind = dissectors.Session
		}
		r.Set(&r.RequestType, f.get(line, 0))
		r.Set(&r.RequestResource, line)
		end := off + next
		if c.storage && ok {
			end += data + 2
		}
		r.Len = uint32(end - off)
		off = end
	}
	return dst, nil
}

// parseTextResponses appends a Response per reply that starts in p. The
// VALUE lines and data blocks up to END, and the STAT lines up to END, are
// one reply. A payload that does not start with a reply line continues an
// earlier one and yields nothing.
func parseTextResponses(dst []dissectors.Record, p []byte, m *dissectors.Meta) []dissectors.Record {
	off := 0
	cur := -1 // index in dst of the multi-line reply being read
	for off < len(p) {
		line, next, complete := readLine(p[off:])
		if !complete {
			break
		}
		k, st, exc, data, _ := reply(line)
		end := off + next
		if k == replyValue {
			end += data + 2
		}
		switch {
		case k == replyNone && cur < 0:
			return dst // continuation of an earlier reply (or not memcached)
		case k == replyNone || (cur >= 0 && (k == replyValue || k == replyStat)):
			// A line inside the current multi-line reply.
		case k == replyEnd && cur >= 0:
			dst[cur].Len = uint32(min(end, len(p)) - int(dst[cur].Len))
			cur = -1
		default:
			var r *dissectors.Record
			dst, r = dissectors.Next(dst)
			r.Protocol = dissectors.ProtoMemcached
			r.Kind = dissectors.Response
			r.Status = st
			if st != dissectors.StatusOK {
				r.Set(&r.Exception, exc)
			}
			r.Len = uint32(end - off)
			if k == replyValue || k == replyStat {
				cur = len(dst) - 1
				r.Len = uint32(off) // start offset until END is seen
			}
		}
		off = end
	}
	if cur >= 0 { // the reply goes on in later segments
		dst[cur].Len = msgLen(p, int(dst[cur].Len), m)
	}
	return dst
}
