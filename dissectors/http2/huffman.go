package http2

// HPACK's Huffman code (RFC 7541 §5.2, Appendix B) is canonical: within one
// length the codes are consecutive in symbol order, and each length's first
// code follows the previous length's last one. So the table below, the code
// length of each of the 257 symbols (256 = EOS), defines every code; the
// decoder tables are derived from it once at start-up, and
// huffman_test.go checks the derived codes against Appendix B's.
var huffLen = [257]uint8{
	13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
	28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
	6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
	5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
	13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
	15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
	6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
	20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
	24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
	22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
	21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
	26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
	19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
	20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
	26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
	30,
}

const (
	huffMinLen = 5
	huffMaxLen = 30
	eos        = 256
)

// huffTables are the canonical decoding tables.
type huffTables struct {
	// first[L] is the first code of length L, count[L] how many codes have
	// that length, index[L] where they start in syms.
	first [huffMaxLen + 1]uint32
	count [huffMaxLen + 1]uint32
	index [huffMaxLen + 1]uint16
	syms  [257]uint16
	// fast maps the next 8 bits to len<<8|sym for codes of at most 8 bits;
	// 0 means the code is longer.
	fast [256]uint16
}

var huff = buildHuffman()

func buildHuffman() *huffTables {
	t := &huffTables{}
	n := 0
	code := uint32(0)
	for l := 1; l <= huffMaxLen; l++ {
		code <<= 1
		t.first[l] = code
		t.index[l] = uint16(n)
		for s, sl := range huffLen {
			if int(sl) != l {
				continue
			}
			t.syms[n] = uint16(s)
			if l <= 8 {
				c := code + t.count[l]
				for v := c << (8 - l); v < (c+1)<<(8-l); v++ {
					t.fast[v] = uint16(l)<<8 | uint16(s)
				}
			}
			t.count[l]++
			n++
		}
		code += t.count[l]
	}
	return t
}

// huffDecode decodes the Huffman-coded string src into dst and returns the
// number of bytes written. It stops when dst is full (a truncated value;
// ok stays true). It returns ok false on an EOS symbol in the string or on
// padding that is longer than 7 bits or not all ones (RFC 7541 §5.2).
func huffDecode(dst, src []byte) (n int, ok bool) {
	t := huff
	var acc uint64 // unread bits, most significant first
	nbits := uint(0)
	i := 0
	for {
		for nbits <= 56 && i < len(src) {
			acc |= uint64(src[i]) << (56 - nbits)
			nbits += 8
			i++
		}
		if nbits == 0 {
			return n, true
		}
		// Past the end of the input the bits read as ones, the padding,
		// so a code that runs off the end is the padding's prefix of EOS.
		peek := acc | ^uint64(0)>>nbits
		var l uint
		var sym uint16
		if e := t.fast[peek>>56]; e != 0 {
			l, sym = uint(e>>8), e&0xff
		} else {
			for l = 9; l <= huffMaxLen; l++ {
				c := uint32(peek >> (64 - l))
				if c-t.first[l] < t.count[l] {
					sym = t.syms[uint32(t.index[l])+c-t.first[l]]
					break
				}
			}
			if l > huffMaxLen { // unreachable: the code is complete
				return n, false
			}
		}
		if l > nbits {
			// padding: fewer than 8 bits, all ones
			return n, nbits < 8 && acc>>(64-nbits) == 1<<nbits-1
		}
		if sym == eos {
			return n, false
		}
		if n == len(dst) {
			return n, true
		}
		dst[n] = byte(sym)
		n++
		acc <<= l
		nbits -= l
	}
}
