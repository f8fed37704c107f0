// Package dataplane moves frames from a capture source through tap decoding
// into per-worker flow tables: the pipeline's engine room.
//
// A Source yields frames (pcap/pcapng file, AF_PACKET TPACKET_V3). The
// Pipeline decodes each frame once into a tap.Meta, picks a worker by the
// symmetric hash of the inner flow key, and the worker updates the flow
// table shard it alone owns. Finished flows leave in batches through a
// flowtable.Sink (storage writer, JSON printer).
//
// Invariants: nothing on the per-packet path allocates or takes a lock that
// another worker takes; bad frames are counted by reason and never stop the
// pipeline; counters are plain fields of their owner, published to atomics
// once per batch for /metrics.
package dataplane
