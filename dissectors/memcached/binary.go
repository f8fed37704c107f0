package memcached

import (
	"encoding/binary"

	"github.com/tapflow/tapflow/dissectors"
)

// Binary protocol (https://github.com/memcached/memcached/wiki/BinaryProtocolRevamped):
// every packet has a 24-byte header, then extras, key and value
// (total body length = extras + key + value):
//
//	Byte/     0       |       1       |       2       |       3       |
//	   0| Magic         | Opcode        | Key length                    |
//	   4| Extras length | Data type     | vbucket id (req) / Status (res)|
//	   8| Total body length                                             |
//	  12| Opaque                                                        |
//	  16| CAS                                                           |
//	    |                                                               |
//
// Magic is 0x80 for a request and 0x81 for a response; the response echoes
// the request's opcode and opaque, which is the correlation key.
const (
	magicRequest  = 0x80
	magicResponse = 0x81
	headerLen     = 24
	// maxKey is memcached's key length limit.
	maxKey = 250
)

// opcode describes a binary opcode.
type opcode struct {
	// name is the request_type: the text protocol's command name where
	// there is one, so both protocols aggregate alike.
	name string
	// quiet: the server answers only on error (on a hit for getq/getkq),
	// so the request and the reply are each a Session, not a pair that
	// would time out.
	quiet bool
}

var opcodes = [256]opcode{
	0x00: {name: "get"}, 0x01: {name: "set"}, 0x02: {name: "add"}, 0x03: {name: "replace"},
	0x04: {name: "delete"}, 0x05: {name: "incr"}, 0x06: {name: "decr"}, 0x07: {name: "quit"},
	0x08: {name: "flush_all"}, 0x09: {name: "getq", quiet: true}, 0x0a: {name: "noop"},
	0x0b: {name: "version"}, 0x0c: {name: "getk"}, 0x0d: {name: "getkq", quiet: true},
	0x0e: {name: "append"}, 0x0f: {name: "prepend"}, 0x10: {name: "stats"},
	0x11: {name: "setq", quiet: true}, 0x12: {name: "addq", quiet: true}, 0x13: {name: "replaceq", quiet: true},
	0x14: {name: "deleteq", quiet: true}, 0x15: {name: "incrq", quiet: true}, 0x16: {name: "decrq", quiet: true},
	0x17: {name: "quitq", quiet: true}, 0x18: {name: "flushq", quiet: true}, 0x19: {name: "appendq", quiet: true},
	0x1a: {name: "prependq", quiet: true}, 0x1b: {name: "verbosity"}, 0x1c: {name: "touch"},
	0x1d: {name: "gat"}, 0x1e: {name: "gatq", quiet: true},
	0x20: {name: "sasl_list_mechs"}, 0x21: {name: "sasl_auth"}, 0x22: {name: "sasl_step"},
}

const opStats = 0x10

// binStatus gives response_status for a binary status code. Like the text
// protocol's replies, "key not found" (the NOT_FOUND/END of a miss), "key
// exists" (EXISTS) and "item not stored" (NOT_STORED) are normal answers,
// not errors; codes the text protocol reports as CLIENT_ERROR or ERROR
// (invalid arguments, non-numeric incr, unknown command, authentication) are
// client errors; the rest (value too large, out of memory, not supported,
// internal error, busy, temporary failure, unknown codes) are server errors.
func binStatus(code uint16) (st dissectors.Status, known bool) {
	switch code {
	case 0x00, 0x01, 0x02, 0x05, 0x09, 0x21: // ok, key not found, key exists, not stored, auth continue (both)
		return dissectors.StatusOK, true
	case 0x04, 0x06, 0x08, 0x20, 0x81: // invalid arguments, non-numeric incr/decr, auth error (both), unknown command
		return dissectors.StatusClientError, true
	case 0x03, 0x07, 0x82, 0x83, 0x84, 0x85, 0x86: // too large, vbucket, out of memory, not supported, internal, busy, temp failure
		return dissectors.StatusServerError, true
	}
	return dissectors.StatusServerError, false
}

// binHeader is the decoded fixed header.
type binHeader struct {
	magic, op     byte
	keyLen        int
	extLen        int
	dataType      byte
	status        uint16
	bodyLen       int
	opaque        uint32
	wellFormedLen bool
}

func readHeader(p []byte) (h binHeader) {
	h.magic, h.op = p[0], p[1]
	h.keyLen = int(binary.BigEndian.Uint16(p[2:4]))
	h.extLen = int(p[4])
	h.dataType = p[5]
	h.status = binary.BigEndian.Uint16(p[6:8])
	h.bodyLen = int(binary.BigEndian.Uint32(p[8:12]))
	h.opaque = binary.BigEndian.Uint32(p[12:16])
	h.wellFormedLen = h.keyLen <= maxKey && h.extLen+h.keyLen <= h.bodyLen && h.bodyLen <= maxData
	return h
}

// checkBinary sniffs a binary packet header: known opcode, raw data type,
// consistent lengths and, for a response, a known status.
func checkBinary(p []byte) bool {
	if len(p) < headerLen {
		return false
	}
	h := readHeader(p)
	if opcodes[h.op].name == "" || h.dataType != 0 || !h.wellFormedLen {
		return false
	}
	// Keys are text in practice (memcached's own clients refuse control
	// characters and spaces): an SSLv2-style record (first byte 0x80) or
	// other binary traffic passes the header checks by chance, but its
	// "key" is not text.
	if h.keyLen > 0 {
		start := headerLen + h.extLen
		if start+h.keyLen > len(p) {
			return false
		}
		for _, c := range p[start : start+h.keyLen] {
			if c <= ' ' || c > '~' {
				return false
			}
		}
	}
	if h.magic == magicResponse {
		_, known := binStatus(h.status)
		return known
	}
	return true
}

// parseBinary appends a record per binary packet that starts in p.
func parseBinary(dst []dissectors.Record, p []byte, _ *dissectors.Meta) ([]dissectors.Record, error) {
	orig := len(dst)
	off := 0
	for off < len(p) {
		if len(p)-off < headerLen {
			if off == 0 {
				return dst[:orig], dissectors.ErrShort
			}
			break // a header cut by the segment end
		}
		h := readHeader(p[off:])
		if (h.magic != magicRequest && h.magic != magicResponse) || !h.wellFormedLen {
			if off == 0 {
				return dst[:orig], dissectors.ErrMalformed
			}
			break
		}
		total := headerLen + h.bodyLen
		body := p[off+headerLen : min(len(p), off+total)]
		op := opcodes[h.op]
		// A binary stats reply is one packet per statistic, all with the
		// request's opaque, ended by a packet with no key: only that end
		// (or an error) is the response.
		skip := h.magic == magicResponse && h.op == opStats && h.status == 0 && h.keyLen != 0
		if !skip {
			var r *dissectors.Record
			dst, r = dissectors.Next(dst)
			r.Protocol = dissectors.ProtoMemcached
			r.HasKey, r.Key = true, uint64(h.opaque)
			r.Len = uint32(total)
			if op.name != "" {
				r.SetString(&r.RequestType, op.name)
			} else {
				r.SetString(&r.RequestType, opNames[4*int(h.op):4*int(h.op)+4])
			}
			if h.magic == magicRequest {
				r.Kind = dissectors.Request
				if key := span(body, h.extLen, h.keyLen); len(key) > 0 {
					r.Set(&r.RequestResource, key)
				}
			} else {
				r.Kind = dissectors.Response
				r.HasCode, r.Code = true, int32(h.status)
				r.Status, _ = binStatus(h.status)
				if r.Status != dissectors.StatusOK {
					r.Set(&r.Exception, span(body, h.extLen+h.keyLen, h.bodyLen-h.extLen-h.keyLen))
				}
			}
			if op.quiet {
				r.Kind = dissectors.Session
			}
		}
		off += total
	}
	return dst, nil
}

// span returns body[off:off+n] clipped to body.
func span(body []byte, off, n int) []byte {
	if off >= len(body) {
		return nil
	}
	return body[off:min(len(body), off+n)]
}

// opNames holds "0x00".."0xff", the request_type of unknown opcodes.
var opNames = func() string {
	const digits = "0123456789abcdef"
	b := make([]byte, 0, 4*256)
	for i := range 256 {
		b = append(b, '0', 'x', digits[i>>4], digits[i&15])
	}
	return string(b)
}()
