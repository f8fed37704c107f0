package jsonfmt

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"slices"
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

// AppendUint appends v in decimal, as strconv.AppendUint does; most
// counters in a record are below 100, which take one table lookup.
func AppendUint(dst []byte, v uint64) []byte {
	if v < 10 {
		return append(dst, byte('0'+v))
	}
	if v < 100 {
		return append(dst, digitPairs[2*v], digitPairs[2*v+1])
	}
	return appendUintLarge(dst, v)
}

// appendUintLarge is AppendUint for v ≥ 100: it writes the digits in
// place, two at a time, where strconv.AppendUint formats into a buffer
// and copies it.
func appendUintLarge(dst []byte, v uint64) []byte {
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
// 10000) and us µs as 2006-01-02T15:04:05.000000Z. The date is computed
// with Howard Hinnant's civil_from_days on the proleptic Gregorian
// calendar, as package time does.
func appendUTCMicro(dst []byte, s uint64, us uint32) []byte {
	days := uint32(s / 86400)
	sod := uint32(s - uint64(days)*86400)
	// Days since 0000-03-01, which starts a 400-year era; years start in
	// March so that the leap day is the last day of a year.
	z := days + 306
	era := z / 146097
	doe := z - era*146097                                  // [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // [0, 399]
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100) // [0, 365], from March 1st
	mp := (5*doy + 2) / 153                  // [0, 11], March = 0
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
		y++
	}
	h, mi, sc := sod/3600, sod/60%60, sod%60

	n := len(dst)
	dst = slices.Grow(dst, 27)[:n+27]
	b := dst[n : n+27]
	b[26] = 'Z'
	b[0], b[1] = digitPairs[2*(y/100)], digitPairs[2*(y/100)+1]
	b[2], b[3] = digitPairs[2*(y%100)], digitPairs[2*(y%100)+1]
	b[4] = '-'
	b[5], b[6] = digitPairs[2*m], digitPairs[2*m+1]
	b[7] = '-'
	b[8], b[9] = digitPairs[2*d], digitPairs[2*d+1]
	b[10] = 'T'
	b[11], b[12] = digitPairs[2*h], digitPairs[2*h+1]
	b[13] = ':'
	b[14], b[15] = digitPairs[2*mi], digitPairs[2*mi+1]
	b[16] = ':'
	b[17], b[18] = digitPairs[2*sc], digitPairs[2*sc+1]
	b[19] = '.'
	u0, u1, u2 := us/10000, us/100%100, us%100
	b[20], b[21] = digitPairs[2*u0], digitPairs[2*u0+1]
	b[22], b[23] = digitPairs[2*u1], digitPairs[2*u1+1]
	b[24], b[25] = digitPairs[2*u2], digitPairs[2*u2+1]
	return dst
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
