// Package fragments gives the non-first fragments of an IP datagram the
// ports of its first fragment, so their packets and bytes count in the
// datagram's flow instead of a port-less pseudo-flow.
//
// It sits in the dataplane's reader after decoding and before dedup and
// worker selection (the worker hash needs the ports). It does not
// reassemble: payload analysis of fragmented datagrams is left to the first
// fragment. A fragment whose first fragment was not seen (lost, or arrived
// later) keeps ports 0 and is counted as an orphan.
//
// The cache is a fixed-size, direct-mapped table: it allocates nothing per
// packet, and an entry is overwritten by a newer datagram hashing to the
// same slot or expires after the window.
package fragments
