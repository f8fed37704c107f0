package mongodb

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/tapflow/tapflow/dissectors"
)

// BSON (https://bsonspec.org/spec.html): a document is
//
//	int32 total length (including itself and the terminator)
//	element*: type byte, key cstring, value
//	0x00
//
// All integers are little-endian. The walkers below read a document from
// the bytes of one segment, which may end before the document does: they
// stop cleanly there, never read out of bounds and never allocate.

// BSON element types.
const (
	tDouble     = 0x01
	tString     = 0x02
	tDocument   = 0x03
	tArray      = 0x04
	tBinary     = 0x05
	tUndefined  = 0x06
	tObjectID   = 0x07
	tBool       = 0x08
	tDateTime   = 0x09
	tNull       = 0x0a
	tRegex      = 0x0b
	tDBPointer  = 0x0c
	tJavaScript = 0x0d
	tSymbol     = 0x0e
	tCodeWScope = 0x0f
	tInt32      = 0x10
	tTimestamp  = 0x11
	tInt64      = 0x12
	tDecimal128 = 0x13
	tMinKey     = 0xff
	tMaxKey     = 0x7f
)

const (
	minDocLen = 5        // int32 length + terminator
	maxDepth  = 8        // nesting rendered; deeper documents show as {...}
	maxDocLen = 16 << 20 // BSONObjMaxUserSize (16 MiB) plus headroom
)

// elem is one element of a document: its type, key and value bytes. val
// holds the bytes of the value that are in the segment; cut says the
// segment ends inside the value.
type elem struct {
	typ byte
	key []byte
	val []byte
	cut bool
}

// iter walks the elements of a document.
type iter struct {
	b    []byte // the document's bytes at hand, from its length field
	off  int
	end  int  // offset of the terminator per the length field, capped by b
	cut  bool // the segment ends before the document does
	done bool
}

// newIter starts walking the document at the start of b. ok is false when
// the length field is missing or out of bounds.
func newIter(b []byte) (it iter, ok bool) {
	if len(b) < 4 {
		return it, false
	}
	n := int(int32(binary.LittleEndian.Uint32(b)))
	if n < minDocLen || n > maxDocLen {
		return it, false
	}
	it.b, it.off = b, 4
	if n > len(b) {
		it.end, it.cut = len(b), true
	} else {
		it.end = n - 1
		if b[n-1] != 0 {
			return it, false
		}
	}
	return it, true
}

// next returns the next element. ok is false at the end of the document,
// at the end of the segment, or on bytes that break the format (bad).
func (it *iter) next() (e elem, ok bool) {
	if it.done || it.off >= it.end {
		it.done = true
		return e, false
	}
	e.typ = it.b[it.off]
	k := it.off + 1
	i := k
	for i < it.end && it.b[i] != 0 {
		i++
	}
	if i >= it.end {
		it.done = true // the key runs past the document or the segment
		return e, false
	}
	e.key = it.b[k:i]
	v := i + 1
	n, ok := valueLen(e.typ, it.b[v:it.end])
	if !ok {
		it.done = true
		return e, false
	}
	if n < 0 || v+n > it.end {
		// The value runs past what we have: keep what is there, stop after it.
		e.val, e.cut = it.b[v:it.end], true
		it.off, it.done = it.end, true
		return e, true
	}
	e.val = it.b[v : v+n]
	it.off = v + n
	return e, true
}

// valueLen returns the length of a value of type t starting at b, or -1
// when b is too short to hold its length prefix. ok is false for an
// unknown type or an impossible length.
func valueLen(t byte, b []byte) (n int, ok bool) {
	switch t {
	case tDouble, tDateTime, tTimestamp, tInt64:
		return 8, true
	case tInt32:
		return 4, true
	case tBool:
		return 1, true
	case tUndefined, tNull, tMinKey, tMaxKey:
		return 0, true
	case tObjectID:
		return 12, true
	case tDecimal128:
		return 16, true
	case tString, tJavaScript, tSymbol, tDBPointer:
		if len(b) < 4 {
			return -1, true
		}
		l := int(int32(binary.LittleEndian.Uint32(b)))
		if l < 1 || l > maxDocLen {
			return 0, false
		}
		if t == tDBPointer {
			return 4 + l + 12, true
		}
		return 4 + l, true
	case tDocument, tArray, tCodeWScope:
		if len(b) < 4 {
			return -1, true
		}
		l := int(int32(binary.LittleEndian.Uint32(b)))
		if l < minDocLen || l > maxDocLen {
			return 0, false
		}
		return l, true
	case tBinary:
		if len(b) < 4 {
			return -1, true
		}
		l := int(int32(binary.LittleEndian.Uint32(b)))
		if l < 0 || l > maxDocLen {
			return 0, false
		}
		return 4 + 1 + l, true
	case tRegex:
		z := 0
		for i, c := range b {
			if c == 0 {
				z++
				if z == 2 {
					return i + 1, true
				}
			}
		}
		return -1, true
	}
	return 0, false
}

// validType reports whether t is a BSON element type.
func validType(t byte) bool {
	return (t >= tDouble && t <= tDecimal128) || t == tMinKey || t == tMaxKey
}

// typeNames names the types rendered by name only.
var typeNames = [...]string{
	tBinary: "Binary", tUndefined: "undefined", tDateTime: "Date", tRegex: "Regex",
	tDBPointer: "DBPointer", tJavaScript: "Code", tSymbol: "Symbol", tCodeWScope: "CodeWScope",
	tTimestamp: "Timestamp", tDecimal128: "Decimal128",
}

// renderer appends a document as compact relaxed JSON to one text field of
// a Record, straight into the Record's buffer; it stops once the buffer is
// full (the field is then truncated, possibly mid-token).
type renderer struct {
	r    *dissectors.Record
	f    *dissectors.Text
	full bool
}

func (w *renderer) put(b []byte) {
	if w.full || len(b) == 0 {
		return
	}
	n := w.f.Len()
	w.r.Append(w.f, b)
	if w.f.Len()-n < len(b) {
		w.full = true
	}
}

func (w *renderer) putString(s string) {
	var tmp [16]byte
	for len(s) > 0 && !w.full {
		n := copy(tmp[:], s)
		w.put(tmp[:n])
		s = s[n:]
	}
}

func (w *renderer) putByte(c byte) {
	b := [1]byte{c}
	w.put(b[:])
}

// putQuoted appends s as a JSON string: `"` and `\` escaped, control bytes
// as \u00XX, other bytes (UTF-8 included) as they are.
func (w *renderer) putQuoted(s []byte) {
	w.putByte('"')
	start := 0
	for i := 0; i < len(s) && !w.full; i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		w.put(s[start:i])
		if c == '"' || c == '\\' {
			w.put([]byte{'\\', c})
		} else {
			w.put([]byte{'\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15]})
		}
		start = i + 1
	}
	w.put(s[start:])
	w.putByte('"')
}

const hexDigits = "0123456789abcdef"

// doc renders the document at the start of b; array renders keys-less.
func (w *renderer) doc(b []byte, array bool, depth int) {
	open, closing := byte('{'), byte('}')
	if array {
		open, closing = '[', ']'
	}
	it, ok := newIter(b)
	if !ok {
		return
	}
	w.putByte(open)
	if depth >= maxDepth {
		w.putString("...")
		w.putByte(closing)
		return
	}
	first := true
	for !w.full {
		e, ok := it.next()
		if !ok {
			break
		}
		if !first {
			w.putByte(',')
		}
		first = false
		if !array {
			w.putQuoted(e.key)
			w.putByte(':')
		}
		if !w.value(&e, depth) {
			return // the segment (or the document) ends inside this value
		}
	}
	if it.cut || w.full {
		return // leave it open: the document goes on past what we have
	}
	w.putByte(closing)
}

// value renders e's value; false when it was cut short.
func (w *renderer) value(e *elem, depth int) bool {
	var num [32]byte
	v := e.val
	switch e.typ {
	case tDouble:
		if len(v) < 8 {
			return false
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(v))
		w.put(strconv.AppendFloat(num[:0], f, 'g', -1, 64))
	case tString, tSymbol:
		if len(v) < 4 {
			return false
		}
		s := v[4:]
		if !e.cut && len(s) > 0 {
			s = s[:len(s)-1] // the terminating NUL
		}
		if e.cut {
			w.putByte('"')
			w.put(s)
			return false
		}
		w.putQuoted(s)
	case tDocument, tArray:
		w.doc(v, e.typ == tArray, depth+1)
		return !e.cut
	case tObjectID:
		if len(v) < 12 {
			return false
		}
		w.putByte('"')
		for _, c := range v {
			num[0], num[1] = hexDigits[c>>4], hexDigits[c&15]
			w.put(num[:2])
		}
		w.putByte('"')
	case tBool:
		if len(v) < 1 {
			return false
		}
		if v[0] != 0 {
			w.putString("true")
		} else {
			w.putString("false")
		}
	case tNull:
		w.putString("null")
	case tInt32:
		if len(v) < 4 {
			return false
		}
		w.put(strconv.AppendInt(num[:0], int64(int32(binary.LittleEndian.Uint32(v))), 10))
	case tInt64:
		if len(v) < 8 {
			return false
		}
		w.put(strconv.AppendInt(num[:0], int64(binary.LittleEndian.Uint64(v)), 10))
	case tMinKey:
		w.putString("MinKey")
	case tMaxKey:
		w.putString("MaxKey")
	default:
		if int(e.typ) < len(typeNames) && typeNames[e.typ] != "" {
			w.putString(typeNames[e.typ])
		}
	}
	return !e.cut
}

// replyInfo is the outcome a reply document states.
type replyInfo struct {
	okSeen, ok bool   // the "ok" field, and whether it is 1 (true)
	hasCode    bool   // a "code" was found (top level, writeErrors[0] or writeConcernError)
	code       int32  // that code
	errmsg     []byte // "errmsg" or "$err" beside it
}

// scanReply reads a reply document's "ok", "code", "errmsg" (or legacy
// "$err"); when the top level has no code, the first of "writeErrors" and
// then "writeConcernError" (a write can succeed with ok:1 yet fail per
// document, e.g. E11000 duplicate key).
func scanReply(b []byte) (ri replyInfo, ok bool) {
	it, ok := newIter(b)
	if !ok {
		return ri, false
	}
	var nested replyInfo
	for {
		e, more := it.next()
		if !more {
			break
		}
		if e.cut {
			break
		}
		switch string(e.key) {
		case "ok":
			ri.okSeen = true
			ri.ok = truthy(&e)
		case "code":
			if c, isNum := number(&e); isNum {
				ri.hasCode, ri.code = true, c
			}
		case "errmsg", "$err":
			if e.typ == tString && len(e.val) > 4 {
				ri.errmsg = e.val[4 : len(e.val)-1]
			}
		case "writeErrors":
			if e.typ == tArray && !nested.hasCode {
				if sub, ok := newIter(e.val); ok {
					if first, ok := sub.next(); ok && first.typ == tDocument && !first.cut {
						nested = scanError(first.val)
					}
				}
			}
		case "writeConcernError":
			if e.typ == tDocument && !nested.hasCode {
				nested = scanError(e.val)
			}
		}
	}
	if !ri.hasCode && nested.hasCode {
		ri.hasCode, ri.code = true, nested.code
		if ri.errmsg == nil {
			ri.errmsg = nested.errmsg
		}
	}
	return ri, true
}

// scanError reads "code" and "errmsg" of a write error document.
func scanError(b []byte) (ri replyInfo) {
	it, ok := newIter(b)
	if !ok {
		return ri
	}
	for {
		e, more := it.next()
		if !more || e.cut {
			return ri
		}
		switch string(e.key) {
		case "code":
			if c, isNum := number(&e); isNum {
				ri.hasCode, ri.code = true, c
			}
		case "errmsg":
			if e.typ == tString && len(e.val) > 4 {
				ri.errmsg = e.val[4 : len(e.val)-1]
			}
		}
	}
}

// number reads an int32, int64 or double value as an int32.
func number(e *elem) (int32, bool) {
	switch e.typ {
	case tInt32:
		if len(e.val) == 4 {
			return int32(binary.LittleEndian.Uint32(e.val)), true
		}
	case tInt64:
		if len(e.val) == 8 {
			v := int64(binary.LittleEndian.Uint64(e.val))
			if v >= math.MinInt32 && v <= math.MaxInt32 {
				return int32(v), true
			}
		}
	case tDouble:
		if len(e.val) == 8 {
			f := math.Float64frombits(binary.LittleEndian.Uint64(e.val))
			if f >= math.MinInt32 && f <= math.MaxInt32 {
				return int32(f), true
			}
		}
	}
	return 0, false
}

// truthy reads "ok": a number equal to 1 or a true bool.
func truthy(e *elem) bool {
	if e.typ == tBool {
		return len(e.val) == 1 && e.val[0] != 0
	}
	v, isNum := number(e)
	return isNum && v == 1
}
