package kafka

import "encoding/binary"

// reader walks the big-endian primitive types of the Kafka protocol
// (https://kafka.apache.org/protocol#protocol_types) over the bytes of one
// segment. A read past the end sets short and yields zero values; a value
// that breaks the encoding (an over-long varint, a negative length other
// than the null marker) sets bad. Both are sticky, so a parser reads a run
// of fields and checks once.
type reader struct {
	b     []byte
	off   int
	short bool // ran past the bytes at hand
	bad   bool // the bytes break the encoding
}

func (r *reader) failed() bool { return r.short || r.bad }

func (r *reader) need(n int) bool {
	if r.short || r.bad {
		return false
	}
	if n < 0 || len(r.b)-r.off < n {
		r.short = true
		return false
	}
	return true
}

func (r *reader) i8() int8 {
	if !r.need(1) {
		return 0
	}
	v := int8(r.b[r.off])
	r.off++
	return v
}

func (r *reader) i16() int16 {
	if !r.need(2) {
		return 0
	}
	v := int16(binary.BigEndian.Uint16(r.b[r.off:]))
	r.off += 2
	return v
}

func (r *reader) i32() int32 {
	if !r.need(4) {
		return 0
	}
	v := int32(binary.BigEndian.Uint32(r.b[r.off:]))
	r.off += 4
	return v
}

func (r *reader) i64() int64 {
	if !r.need(8) {
		return 0
	}
	v := int64(binary.BigEndian.Uint64(r.b[r.off:]))
	r.off += 8
	return v
}

// skip advances n bytes.
func (r *reader) skip(n int) {
	if r.need(n) {
		r.off += n
	}
}

// take returns the next n bytes, aliasing the segment.
func (r *reader) take(n int) []byte {
	if !r.need(n) {
		return nil
	}
	v := r.b[r.off : r.off+n]
	r.off += n
	return v
}

// uvarint reads an unsigned varint of at most 5 bytes (a uint32, as the
// protocol's compact lengths and tag counts are).
func (r *reader) uvarint() uint32 {
	var v uint32
	for i := 0; i < 5; i++ {
		if !r.need(1) {
			return 0
		}
		c := r.b[r.off]
		r.off++
		if i == 4 && c > 0x0f {
			r.bad = true
			return 0
		}
		v |= uint32(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v
		}
	}
	r.bad = true
	return 0
}

// arrayLen reads an array length: INT32 (-1 for null) in the classic
// encoding, UNSIGNED_VARINT of N+1 (0 for null) in the compact one. Null
// is returned as -1.
func (r *reader) arrayLen(flex bool) int {
	if flex {
		n := r.uvarint()
		if n > 1<<30 {
			r.bad = true
			return 0
		}
		return int(n) - 1
	}
	n := r.i32()
	if n < -1 {
		r.bad = true
		return 0
	}
	return int(n)
}

// str reads a (nullable) STRING: INT16 length (-1 for null) then the bytes,
// or a COMPACT_STRING: UNSIGNED_VARINT length+1 (0 for null). The bytes may
// be cut by the segment's end, in which case short is set and what is there
// is returned. null reports the null marker.
func (r *reader) str(flex bool) (s []byte, null bool) {
	var n int
	if flex {
		u := r.uvarint()
		if r.failed() {
			return nil, false
		}
		if u == 0 {
			return nil, true
		}
		n = int(u - 1)
	} else {
		l := r.i16()
		if r.failed() {
			return nil, false
		}
		if l == -1 {
			return nil, true
		}
		if l < 0 {
			r.bad = true
			return nil, false
		}
		n = int(l)
	}
	if len(r.b)-r.off < n {
		s = r.b[r.off:]
		r.off = len(r.b)
		r.short = true
		return s, false
	}
	s = r.b[r.off : r.off+n]
	r.off += n
	return s, false
}

// bytesLen reads the length of a (nullable) BYTES / RECORDS field: INT32
// (-1 for null) or, compact, UNSIGNED_VARINT length+1 (0 for null).
func (r *reader) bytesLen(flex bool) int {
	if flex {
		u := r.uvarint()
		if u > 1<<30 {
			r.bad = true
			return 0
		}
		return int(u) - 1
	}
	n := r.i32()
	if n < -1 {
		r.bad = true
		return 0
	}
	return int(n)
}

// skipTags skips a TAGGED_FIELDS section: UNSIGNED_VARINT count, then per
// field an UNSIGNED_VARINT tag, an UNSIGNED_VARINT size and the bytes.
func (r *reader) skipTags() {
	n := r.uvarint()
	for i := uint32(0); i < n && !r.failed(); i++ {
		r.uvarint()
		size := r.uvarint()
		if size > 1<<30 {
			r.bad = true
			return
		}
		r.skip(int(size))
	}
}

// topicName reports whether s is a legal topic name: 1 to 249 of
// [a-zA-Z0-9._-] (Kafka's Topic.validate).
func topicName(s []byte) bool {
	if len(s) == 0 || len(s) > 249 {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// errorCode reports whether e is in the range of Kafka's error codes
// (UNKNOWN_SERVER_ERROR -1 up to the ~130 defined today, with headroom).
func errorCode(e int16) bool { return e >= -1 && e <= 200 }
