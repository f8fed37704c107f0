// Package hugepage asks the kernel to back the big lookup tables of the hot
// path (the flow slab and its index, the L7 engine's sessions, the dedup
// table once it grows) with 2 MiB pages. Those tables are read at random,
// one line per packet: with 4 KiB pages nearly every lookup also misses the
// TLB, and the page walk is a second cache miss that the CPU can overlap far
// less than the first. With transparent huge pages set to "madvise"
// (Debian's default) nothing gets huge pages unless it asks.
package hugepage
