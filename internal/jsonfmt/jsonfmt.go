package jsonfmt

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"slices"
	"sync/atomic"
)

// digitPairs holds "00" to "99".
const digitPairs = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

// AppendUint appends v in decimal, as strconv.AppendUint does. It is small
// enough for the compiler to inline: a record has dozens of counters, most
// of them single digits, which then cost a compare and a store instead of
// a call (its calls were 5% of `replay --print l4,l7`'s instructions;
// inlined, 1.6% fewer).
func AppendUint(dst []byte, v uint64) []byte {
	if v < 10 {
		return append(dst, byte('0'+v))
	}
	return appendUintLarge(dst, v)
}

// appendUintLarge is AppendUint for v ≥ 10: below 100 one table lookup,
// above it writes the digits in place, two at a time, where
// strconv.AppendUint formats into a buffer and copies it.
func appendUintLarge(dst []byte, v uint64) []byte {
	if v < 100 {
		return append(dst, digitPairs[2*v], digitPairs[2*v+1])
	}
	n := len(dst) + decimalLen(v)
	dst = slices.Grow(dst, 20)[:n]
	i := n
	for v >= 1<<32 {
		q := v / 100
		r := v - q*100
		i -= 2
		dst[i], dst[i+1] = digitPairs[2*r], digitPairs[2*r+1]
		v = q
	}
	w := uint32(v)
	for w >= 100 {
		q := w / 100
		r := w - q*100
		i -= 2
		dst[i], dst[i+1] = digitPairs[2*r], digitPairs[2*r+1]
		w = q
	}
	if w >= 10 {
		dst[i-2], dst[i-1] = digitPairs[2*w], digitPairs[2*w+1]
	} else {
		dst[i-1] = byte('0' + w)
	}
	return dst
}

// decimalLen returns the number of decimal digits of v > 0.
func decimalLen(v uint64) int {
	n := bits.Len64(v) * 1233 >> 12 // ⌊log10(2^bits.Len64(v))⌋
	if v >= pow10[n] {
		n++
	}
	return n
}

var pow10 = [20]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// MinSec and MaxSec are the Unix seconds of 0001-01-01T00:00:00Z and
// 10000-01-01T00:00:00Z, the range AppendUTC formats.
const (
	MinSec = -62135596800
	MaxSec = 253402300800
)

// AppendUTC appends sec (Unix seconds) and us µs as
// 2006-01-02T15:04:05.000000Z, as time.Unix(sec, us*1000).UTC() formats
// with that layout. ok is false, and dst returned as it is, when sec is
// outside [MinSec, MaxSec): the caller formats those years its own way.
func AppendUTC(dst []byte, sec int64, us uint32) (out []byte, ok bool) {
	if uint64(sec-MinSec) >= MaxSec-MinSec {
		return dst, false
	}
	return appendUTCMicro(dst, uint64(sec-MinSec), us), true
}

// appendUTCMicro writes s seconds after 0001-01-01T00:00:00Z (before year
// 10000) and us µs as 2006-01-02T15:04:05.000000Z. Each pair of digits is
// one 16-bit store from pairs16, indexed by a byte so that neither the
// table nor the output (a fixed-size array) needs a bounds check.
func appendUTCMicro(dst []byte, s uint64, us uint32) []byte {
	days := uint32(s / 86400)
	sod := uint32(s - uint64(days)*86400)
	y, m, d := civilCached(days)
	h, mi, sc := sod/3600, sod/60%60, sod%60
	u0, u1, u2 := us/10000, us/100%100, us%100

	n := len(dst)
	dst = slices.Grow(dst, 27)[:n+27]
	b := (*[27]byte)(dst[n:])
	le := binary.LittleEndian
	le.PutUint16(b[0:], pairs16[uint8(y/100)])
	le.PutUint16(b[2:], pairs16[uint8(y%100)])
	b[4] = '-'
	le.PutUint16(b[5:], pairs16[uint8(m)])
	b[7] = '-'
	le.PutUint16(b[8:], pairs16[uint8(d)])
	b[10] = 'T'
	le.PutUint16(b[11:], pairs16[uint8(h)])
	b[13] = ':'
	le.PutUint16(b[14:], pairs16[uint8(mi)])
	b[16] = ':'
	le.PutUint16(b[17:], pairs16[uint8(sc)])
	b[19] = '.'
	le.PutUint16(b[20:], pairs16[uint8(u0)])
	le.PutUint16(b[22:], pairs16[uint8(u1)])
	le.PutUint16(b[24:], pairs16[uint8(u2)])
	b[26] = 'Z'
	return dst
}

// pairs16 holds "00" to "99" as little-endian 16-bit words, padded to 256
// entries so that a byte index needs no bounds check.
var pairs16 = func() (t [256]uint16) {
	for i := range 100 {
		t[i] = uint16(digitPairs[2*i]) | uint16(digitPairs[2*i+1])<<8
	}
	return t
}()

// dateCache remembers the dates of recent days: the records of one capture
// fall on a few days, so the civil-date arithmetic (about 45 instructions
// of divisions by constants) need not be redone for every timestamp. Each
// entry is one word,
// (days+1)<<32 | year<<9 | month<<5 | day, read and written atomically, so
// goroutines share it without a lock, and a stale or overwritten entry is
// only a miss. Direct-mapped by the low bits of the day.
var dateCache [64]atomic.Uint64

// civilCached is civil(days) through dateCache.
func civilCached(days uint32) (y, m, d uint32) {
	e := &dateCache[days%uint32(len(dateCache))]
	if w := e.Load(); uint32(w>>32) == days+1 {
		return uint32(w>>9) & (1<<23 - 1), uint32(w>>5) & 15, uint32(w) & 31
	}
	y, m, d = civil(days)
	e.Store(uint64(days+1)<<32 | uint64(y)<<9 | uint64(m)<<5 | uint64(d))
	return y, m, d
}

// civil returns the date days after 0001-01-01, with Howard Hinnant's
// civil_from_days on the proleptic Gregorian calendar, as package time
// does.
func civil(days uint32) (y, m, d uint32) {
	// Days since 0000-03-01, which starts a 400-year era; years start in
	// March so that the leap day is the last day of a year.
	z := days + 306
	era := z / 146097
	doe := z - era*146097                                  // [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // [0, 399]
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100) // [0, 365], from March 1st
	mp := (5*doy + 2) / 153                  // [0, 11], March = 0
	d = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if m > 12 {
		m -= 12
		y++
	}
	return y, m, d
}

// octetDots holds, for 0 to 255, the decimal digits followed by a dot as
// one little-endian word, and how many bytes of it that is.
var octetDots = func() (t [256]struct{ w, n uint32 }) {
	for i := range t {
		var b [4]byte
		s := append(AppendUint(nil, uint64(i)), '.')
		copy(b[:], s)
		t[i].w, t[i].n = binary.LittleEndian.Uint32(b[:]), uint32(len(s))
	}
	return t
}()

// AppendAddr appends a as a.AppendTo does (nothing for the zero Addr). An
// IPv4 address, most of what a record holds, is written a word per octet
// from the octetDots table rather than digit by digit.
func AppendAddr(dst []byte, a netip.Addr) []byte {
	if !a.Is4() {
		return a.AppendTo(dst)
	}
	ip := a.As4()
	n := len(dst)
	dst = slices.Grow(dst, 20)[:n+20]
	b := (*[20]byte)(dst[n:])
	// Each word lands after the one before, whose unused bytes it
	// overwrites; the last octet's dot is cut off. i stays below 16, and
	// the mask says so to the compiler, which drops the bounds checks.
	i := 0
	for k := range 4 {
		o := &octetDots[ip[k]]
		j := i & 15
		binary.LittleEndian.PutUint32(b[j:j+4], o.w)
		i = j + int(o.n)
	}
	return dst[:n+i-1]
}
