package prefetch

// Lines prefetches the cache line at each address, for reading. Addresses
// need not be valid: a prefetch of an unmapped address is dropped by the
// CPU and never faults.
func Lines(addrs []uintptr) {
	if len(addrs) > 0 {
		lines(&addrs[0], len(addrs))
	}
}

// LineSize is the cache line size assumed: 64 bytes on every amd64 and on
// the arm64 cores servers use.
const LineSize = 64

// AppendRange appends to addrs one address in each cache line that
// [p, p+size) touches, for Lines.
func AppendRange(addrs []uintptr, p, size uintptr) []uintptr {
	if size == 0 {
		return addrs
	}
	for a, end := p&^(LineSize-1), p+size; a < end; a += LineSize {
		addrs = append(addrs, a)
	}
	return addrs
}
