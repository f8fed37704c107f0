// Package prefetch asks the CPU to start loading cache lines the hot path
// will read a little later. The flow table and the dedup filter look up a
// few hundred thousand flows at random, and nearly every lookup misses the
// cache: a plain load of the line waits for it and stops the CPU from
// retiring anything behind it, while a prefetch retires at once, so the
// packets before that one are processed while their successors' lines
// arrive. Go has no prefetch builtin outside the runtime; on amd64 and arm64
// this is a few instructions of assembly, elsewhere it does nothing.
//
// Lines takes a whole batch of addresses, so that one call, not one per
// line, pays the cost of not being inlined; Line is for the single address
// that is known well before the others (a frame's dedup bucket).
package prefetch
