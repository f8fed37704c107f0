package http2

import (
	"github.com/tapflow/tapflow/dissectors/http"
)

// HPACK (RFC 7541) decoding without a dynamic table.
//
// A capture, and a stateless dissector, sees a connection's header blocks
// without the dynamic table both ends built from the blocks before, so only
// the static table (Appendix A), literals, and the dynamic entries that
// blocks earlier in the same payload inserted (dynTable) are decoded: any
// other indexed field or indexed name beyond the static table is skipped
// (its header is unknown). Field representations (§6):
//
//	1xxxxxxx                indexed field, 7-bit index
//	01xxxxxx                literal with incremental indexing, 6-bit name index (0: literal name)
//	001xxxxx                dynamic table size update, 5-bit size
//	0000xxxx / 0001xxxx     literal without indexing / never indexed, 4-bit name index
//
// A string literal (§5.2) is an H bit (Huffman), a 7-bit-prefix length and
// the octets.

// Header fields the dissector uses.
const (
	fNone = iota
	fMethod
	fPath
	fAuthority
	fHost
	fStatus
	fContentType
	fContentLength
	fGRPCStatus
	fGRPCMessage
	fTrace    // fTrace + http.Trace* for the trace context headers
	numFields = fTrace + http.NumTrace
)

// fieldOf returns the field id of a lower-case header name.
func fieldOf(name []byte) uint8 {
	switch string(name) {
	case ":method":
		return fMethod
	case ":path":
		return fPath
	case ":authority":
		return fAuthority
	case "host":
		return fHost
	case ":status":
		return fStatus
	case "content-type":
		return fContentType
	case "content-length":
		return fContentLength
	case "grpc-status":
		return fGRPCStatus
	case "grpc-message":
		return fGRPCMessage
	}
	if t := http.TraceHeader(name); t >= 0 {
		return uint8(fTrace + t)
	}
	return fNone
}

type staticEntry struct {
	name, value string
	field       uint8
}

// staticTable is RFC 7541 Appendix A, indexed from 1.
var staticTable = func() (t [62]staticEntry) {
	for i, e := range [...][2]string{
		{":authority", ""}, {":method", "GET"}, {":method", "POST"}, {":path", "/"}, {":path", "/index.html"},
		{":scheme", "http"}, {":scheme", "https"}, {":status", "200"}, {":status", "204"}, {":status", "206"},
		{":status", "304"}, {":status", "400"}, {":status", "404"}, {":status", "500"}, {"accept-charset", ""},
		{"accept-encoding", "gzip, deflate"}, {"accept-language", ""}, {"accept-ranges", ""}, {"accept", ""},
		{"access-control-allow-origin", ""}, {"age", ""}, {"allow", ""}, {"authorization", ""}, {"cache-control", ""},
		{"content-disposition", ""}, {"content-encoding", ""}, {"content-language", ""}, {"content-length", ""},
		{"content-location", ""}, {"content-range", ""}, {"content-type", ""}, {"cookie", ""}, {"date", ""},
		{"etag", ""}, {"expect", ""}, {"expires", ""}, {"from", ""}, {"host", ""}, {"if-match", ""},
		{"if-modified-since", ""}, {"if-none-match", ""}, {"if-range", ""}, {"if-unmodified-since", ""},
		{"last-modified", ""}, {"link", ""}, {"location", ""}, {"max-forwards", ""}, {"proxy-authenticate", ""},
		{"proxy-authorization", ""}, {"range", ""}, {"referer", ""}, {"refresh", ""}, {"retry-after", ""},
		{"server", ""}, {"set-cookie", ""}, {"strict-transport-security", ""}, {"transfer-encoding", ""},
		{"user-agent", ""}, {"vary", ""}, {"via", ""}, {"www-authenticate", ""},
	} {
		t[i+1] = staticEntry{name: e[0], value: e[1], field: fieldOf([]byte(e[0]))}
	}
	return t
}()

const (
	staticLen  = 61
	lastPseudo = 14 // static entries 1..14 are pseudo-header fields
	arenaSize  = 1024
)

// block is what decode keeps of one header block: the used fields' values,
// copied (Huffman-decoded when coded) into a fixed arena, and flags. It
// holds offsets rather than slices so that a block on the caller's stack
// stays there.
type block struct {
	off, n  [numFields]uint16
	has     [numFields]bool
	used    int
	dynamic bool // the block referred to the dynamic table (fields unknown)
	partial bool // the block did not decode to its end (cut or invalid)
	arena   [arenaSize]byte
}

// get returns field f's value, aliasing b.
func (b *block) get(f uint8) []byte {
	return b.arena[b.off[f] : b.off[f]+b.n[f]]
}

// setStatic records a static-table value for f.
func (b *block) setStatic(f uint8, v string) {
	if b.has[f] {
		return
	}
	n := copy(b.arena[b.used:], v)
	b.off[f], b.n[f], b.has[f] = uint16(b.used), uint16(n), true
	b.used += n
}

// setLiteral records a literal value for f, Huffman-decoding it when huff.
// A value that does not fit in the arena is truncated.
func (b *block) setLiteral(f uint8, v []byte, huff bool) bool {
	if b.has[f] {
		return true
	}
	var n int
	if huff {
		var ok bool
		if n, ok = huffDecode(b.arena[b.used:], v); !ok {
			return false
		}
	} else {
		n = copy(b.arena[b.used:], v)
	}
	b.off[f], b.n[f], b.has[f] = uint16(b.used), uint16(n), true
	b.used += n
	return true
}

// dynTable holds the dynamic-table entries that header blocks earlier in
// the same payload inserted (literals with incremental indexing). They are
// the newest entries of the real table, so dynamic index 62+k is the k-th
// newest of them, whatever older entries the capture missed (an encoder
// never refers to an evicted entry). Only the used fields' values are kept.
type dynTable struct {
	n     int // insertions seen
	ent   [32]dynEntry
	used  int
	arena [512]byte
}

// dynEntry is one inserted field: its field id and, for a used field, its
// value in the table's arena.
type dynEntry struct {
	field  uint8
	known  bool // the value is in arena
	off, l uint16
}

// insert records a literal with incremental indexing.
func (d *dynTable) insert(field uint8, v []byte, huff bool) {
	e := &d.ent[d.n%len(d.ent)]
	d.n++
	e.field, e.known = field, false
	if field == fNone {
		return
	}
	var n int
	if huff {
		var ok bool
		if n, ok = huffDecode(d.arena[d.used:], v); !ok {
			return
		}
	} else {
		n = copy(d.arena[d.used:], v)
	}
	if d.used+n == len(d.arena) {
		return // may be truncated: not kept
	}
	e.known, e.off, e.l = true, uint16(d.used), uint16(n)
	d.used += n
}

// lookup returns the entry at dynamic index k (0 = newest), nil when it
// was inserted before this payload.
func (d *dynTable) lookup(k uint64) *dynEntry {
	if k >= uint64(d.n) || k >= uint64(len(d.ent)) {
		return nil
	}
	return &d.ent[(d.n-1-int(k))%len(d.ent)]
}

// decode decodes the header block fragment p into b, resolving dynamic
// references through d. It returns false when p is not a valid block (an
// index 0, an integer overflow, a bad Huffman string) or ends inside a
// field; the fields before stay in b.
func (b *block) decode(p []byte, d *dynTable) bool {
	for len(p) > 0 {
		c := p[0]
		var idx uint64
		var ok bool
		indexing := false
		switch {
		case c&0x80 != 0: // indexed header field
			if idx, p, ok = readInt(p, 7); !ok || idx == 0 {
				return false
			}
			if idx <= staticLen {
				if e := &staticTable[idx]; e.field != fNone {
					b.setStatic(e.field, e.value)
				}
			} else if e := d.lookup(idx - staticLen - 1); e == nil {
				b.dynamic = true
			} else if e.field != fNone && e.known {
				b.setLiteral(e.field, d.arena[e.off:e.off+e.l], false)
			}
			continue
		case c&0xe0 == 0x20: // dynamic table size update
			if _, p, ok = readInt(p, 5); !ok {
				return false
			}
			continue
		case c&0xc0 == 0x40: // literal with incremental indexing
			idx, p, ok = readInt(p, 6)
			indexing = true
		default: // literal without indexing or never indexed
			idx, p, ok = readInt(p, 4)
		}
		if !ok {
			return false
		}
		field := uint8(fNone)
		switch {
		case idx == 0: // literal name
			var name []byte
			var huff bool
			if name, huff, p, ok = readString(p); !ok {
				return false
			}
			if huff {
				var buf [24]byte
				n, ok := huffDecode(buf[:], name)
				if !ok {
					return false
				}
				if n < len(buf) {
					field = fieldOf(buf[:n])
				}
			} else if len(name) < 24 {
				field = fieldOf(name)
			}
		case idx <= staticLen:
			field = staticTable[idx].field
		default:
			if e := d.lookup(idx - staticLen - 1); e != nil {
				field = e.field
			} else {
				b.dynamic = true
			}
		}
		var value []byte
		var huff bool
		if value, huff, p, ok = readString(p); !ok {
			return false
		}
		had := b.has[field]
		if field != fNone && !b.setLiteral(field, value, huff) {
			return false
		}
		if indexing {
			if field != fNone && !had {
				d.insert(field, b.get(field), false) // already decoded
			} else {
				d.insert(field, value, huff)
			}
		}
	}
	return true
}

// readInt decodes an integer with an n-bit prefix (RFC 7541 §5.1) and
// returns it with the rest of p. Values above 2^28 are refused: nothing in
// a header block is that large.
func readInt(p []byte, n uint) (uint64, []byte, bool) {
	if len(p) == 0 {
		return 0, p, false
	}
	mask := uint64(1)<<n - 1
	v := uint64(p[0]) & mask
	if v < mask {
		return v, p[1:], true
	}
	shift := uint(0)
	for i := 1; i < len(p); i++ {
		c := p[i]
		v += uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v, p[i+1:], true
		}
		shift += 7
		if shift > 21 {
			return 0, p, false
		}
	}
	return 0, p, false
}

// readString decodes a string literal's header and returns its octets
// (still Huffman-coded when huff), and the rest of p.
func readString(p []byte) (s []byte, huff bool, rest []byte, ok bool) {
	if len(p) == 0 {
		return nil, false, p, false
	}
	huff = p[0]&0x80 != 0
	n, rest, ok := readInt(p, 7)
	if !ok || n > uint64(len(rest)) {
		return nil, false, p, false
	}
	return rest[:n], huff, rest[n:], true
}
