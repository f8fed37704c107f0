package prefetch

// Lines prefetches the cache line at each address, for reading. Addresses
// need not be valid: a prefetch of an unmapped address is dropped by the
// CPU and never faults.
func Lines(addrs []uintptr) {
	if len(addrs) > 0 {
		lines(&addrs[0], len(addrs))
	}
}
