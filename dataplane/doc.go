// Package dataplane moves frames from a capture source through tap decoding
// and dedup into per-worker flow tables: the pipeline's engine room.
//
// Sources: a pcap/pcapng file (OpenPcap), or live interfaces (OpenLive)
// through AF_PACKET TPACKET_V3 rings (with optional PACKET_FANOUT, NIC-
// stripped VLAN tags put back in place) or AF_XDP sockets fed by an XDP
// redirect program (native mode, falling back to generic; detached again on
// Close). Several interfaces are merged into one Source and read
// round-robin, all waited for in one poll(2).
//
// The Pipeline decodes each frame once into a tap.Meta, drops a copy of a
// packet already seen within the dedup window (package dedup), picks a
// worker by a symmetric hash of the inner addresses, ports and protocol
// (shard.go), and the worker updates the flow table shard it alone owns.
// Each worker's table has its own L7 engine (dissectors/engine, every
// dissector of dissectors/registry) when dataplane.dissectors.enabled is
// set and the sink also takes l7_flow_log rows (engine.LogSink). Finished
// flows and L7 logs leave in batches through the sink (storage writers, JSON
// printer). This file set is where the stages are wired: pipeline.go.
//
// Invariants: nothing on the per-packet path allocates or takes a lock or
// atomic that another goroutine takes: the reader hands frames to workers in
// batches of 256 over channels, and every counter is a plain field of its
// owner, published to atomics once per batch (or per ring block) for
// /metrics. Bad frames are counted by reason and never stop the pipeline.
// A source's frame is valid until the next ReadFrame, or for as many more
// reads as its FramesKept says (a pcap file: 32); the reader batches 32
// frames for dedup and the flow table's pipeline and copies the payloads
// of frames that would not last that long.
package dataplane
