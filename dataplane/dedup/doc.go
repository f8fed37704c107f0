// Package dedup drops the second copy of a packet seen twice within a short
// window: both directions of a SPAN session, or two mirror points on one
// path, deliver the same packet to the tap.
//
// It sits in the dataplane right after tap decoding and before a packet is
// sharded to a flow-table worker. The key is the invariant part of the inner
// packet — addresses, ports, IP protocol and id, TCP seq/ack/flags/window,
// the transport checksum, the payload length and the first payloadHead
// bytes of payload — and never the tap identity (outer headers, VLAN, tunnel
// type) or what routers change on the way (TTL/hop limit, IP checksum,
// DSCP). So one packet mirrored once plainly, once in VXLAN and once in
// ERSPAN counts once.
//
// The table starts small (4096 entries, 64 KiB) so that on a link whose
// window holds a few hundred packets it stays in the CPU cache, and doubles
// up to Config.Capacity when the packet rate makes it overwrite entries still
// inside the window. It never shrinks.
//
// Invariants: a Filter allocates nothing per packet: only New and the rare
// growth (at most log2(Capacity/4096) times in its life) do; it is not safe
// for concurrent use (the dataplane reader owns it); it uses packet
// timestamps, never the wall clock.
package dedup
