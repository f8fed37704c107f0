package clickhouse

import (
	"net/netip"
	"reflect"
	"time"
	"unsafe"

	"github.com/ClickHouse/ch-go/proto"
	chcol "github.com/ClickHouse/clickhouse-go/v2/lib/column"
)

// Handing the codecs' column buffers to clickhouse-go without copying.
//
// clickhouse-go's BatchColumn.Append copies a column value by value into a
// library column that starts empty at every batch (growing it by
// doubling) and allocates a null map per call. For the aggregate tables
// (50 columns, 3.4 M rows per bench corpus) that was 2.5 s of the
// writer's CPU, more than building the rows. The codecs already hold each
// column as a slice of the very type the native format sends, so for the
// types the schema uses on every server (UInt8 to UInt64, DateTime,
// FixedString(16)) the insert points the library column at that slice
// instead. The library keeps the buffer in an unexported field, found by
// reflection once per type: if a version's layout differs, adopt declines
// and the insert falls back to Append (TestAdoptLayout fails first, so the
// loss is not silent). String columns are built as ch-go builds them
// (strCol) and lent the same way. Other types (Nullable, and the
// LowCardinality, IPv4/IPv6 and DateTime64 types of newer servers) always
// take Append.

// colField is where a library column type keeps its ch-go buffer.
type colField struct {
	off uintptr
	ok  bool
}

// fieldOf finds C's field "col" of type F.
func fieldOf[C, F any]() colField {
	sf, ok := reflect.TypeFor[C]().FieldByName("col")
	if !ok || sf.Type != reflect.TypeFor[F]() {
		return colField{}
	}
	return colField{off: sf.Offset, ok: true}
}

var (
	fieldU8  = fieldOf[chcol.UInt8, proto.ColUInt8]()
	fieldU16 = fieldOf[chcol.UInt16, proto.ColUInt16]()
	fieldU32 = fieldOf[chcol.UInt32, proto.ColUInt32]()
	fieldU64 = fieldOf[chcol.UInt64, proto.ColUInt64]()
	fieldDT  = fieldOf[chcol.DateTime, proto.ColDateTime]()
	fieldFS  = fieldOf[chcol.FixedString, proto.ColFixedStr]()
	fieldStr = fieldOf[chcol.String, proto.ColStr]()
)

// strCol is a String column as ch-go holds it: the texts back to back in
// Buf and each row's [start, end) in Pos. A codec fills it in place of a
// []string so that an insert lends the buffer to the library column (whose
// Append would copy every text into a buffer of its own, grown from empty
// at every batch: 420 MB of garbage per bench corpus replay); appendable
// gives Append the []string on servers where the column is another type.
type strCol struct {
	proto.ColStr
	strs []string // built by appendable, reused
}

func (s *strCol) reset() {
	s.Buf, s.Pos = s.Buf[:0], s.Pos[:0]
	clear(s.strs) // drop the last batch's texts
	s.strs = s.strs[:0]
}

// appendText appends v as s's next row.
func appendText[T ~string | ~[]byte](s *strCol, v T) {
	start := len(s.Buf)
	s.Buf = append(s.Buf, v...)
	s.endRow(start)
}

// endRow ends the row whose text starts at start in Buf.
func (s *strCol) endRow(start int) {
	s.Pos = append(s.Pos, proto.Position{Start: start, End: len(s.Buf)})
}

// appendAddr appends a as text (unmapped), or "" when a is not valid.
func (s *strCol) appendAddr(a netip.Addr) {
	start := len(s.Buf)
	if a.IsValid() {
		s.Buf = a.Unmap().AppendTo(s.Buf)
	}
	s.endRow(start)
}

// appendable returns a codec value in the form the library's Append takes:
// a strCol's rows as strings (one allocation for all of them), anything
// else as it is.
func appendable(v any) any {
	s, ok := v.(*strCol)
	if !ok {
		return v
	}
	all := string(s.Buf)
	s.strs = s.strs[:0]
	for _, p := range s.Pos {
		s.strs = append(s.strs, all[p.Start:p.End])
	}
	return s.strs
}

// buffer returns the ch-go buffer of library column c (a *C) at f.
func buffer[F, C any](c *C, f colField) *F {
	return (*F)(unsafe.Add(unsafe.Pointer(c), f.off))
}

// adopter sets library columns to the codec's slices for one insert and
// detaches them afterwards, so that the library never holds a codec
// buffer beyond the insert that lent it. It is owned by one writer
// engine, whose inserts run one at a time.
type adopter struct {
	times   [][]proto.DateTime // per column index: DateTime values converted from time.Time
	adopted []func()           // detaches the columns of the current insert
}

// adopt makes col (column i of the batch) hold v and reports whether it
// did; if not, the caller appends v.
func (a *adopter) adopt(i int, col chcol.Interface, v any) bool {
	switch c := col.(type) {
	case *chcol.UInt8:
		return adoptSlice[proto.ColUInt8](a, c, fieldU8, v)
	case *chcol.UInt16:
		return adoptSlice[proto.ColUInt16](a, c, fieldU16, v)
	case *chcol.UInt32:
		return adoptSlice[proto.ColUInt32](a, c, fieldU32, v)
	case *chcol.UInt64:
		return adoptSlice[proto.ColUInt64](a, c, fieldU64, v)
	case *chcol.DateTime:
		ts, ok := v.([]time.Time)
		if !ok || !fieldDT.ok {
			return false
		}
		for len(a.times) <= i {
			a.times = append(a.times, nil)
		}
		d := a.times[i][:0]
		for _, t := range ts {
			d = append(d, proto.ToDateTime(t)) // as ColDateTime.Append converts
		}
		a.times[i] = d
		buf := buffer[proto.ColDateTime](c, fieldDT)
		buf.Data = d
		a.adopted = append(a.adopted, func() { buf.Data = nil })
		return true
	case *chcol.String:
		s, ok := v.(*strCol)
		if !ok || !fieldStr.ok {
			return false
		}
		buf := buffer[proto.ColStr](c, fieldStr)
		*buf = s.ColStr
		a.adopted = append(a.adopted, func() { *buf = proto.ColStr{} })
		return true
	case *chcol.FixedString:
		s, ok := v.([][16]byte)
		if !ok || !fieldFS.ok {
			return false
		}
		buf := buffer[proto.ColFixedStr](c, fieldFS)
		if buf.Size != 16 {
			return false
		}
		buf.Buf = nil
		if len(s) > 0 {
			buf.Buf = unsafe.Slice(&s[0][0], 16*len(s))
		}
		a.adopted = append(a.adopted, func() { buf.Buf = nil })
		return true
	}
	return false
}

// adoptSlice points library column c at v when v is exactly its buffer's
// element slice type.
func adoptSlice[F ~[]E, E, C any](a *adopter, c *C, f colField, v any) bool {
	s, ok := v.([]E)
	if !ok || !f.ok {
		return false
	}
	buf := buffer[F](c, f)
	*buf = F(s)
	a.adopted = append(a.adopted, func() { *buf = nil })
	return true
}

// release detaches every column adopted since the last release.
func (a *adopter) release() {
	for _, detach := range a.adopted {
		detach()
	}
	a.adopted = a.adopted[:0]
}
