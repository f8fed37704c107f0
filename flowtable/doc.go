// Package flowtable keeps the flows one dataplane worker sees and turns them
// into FlowRecords: the stage after tap decoding and before L7 dissectors and
// storage.
//
// A Table is owned by exactly one goroutine (a worker); it holds no lock and
// shares no memory with other tables. Flows live in a preallocated slab
// addressed by index through an open-addressing index, so steady-state updates
// allocate nothing (TestUpdateAllocs). Time is the packets' own timestamps:
// the table never reads the wall clock, so a replay behaves like the live
// capture it was.
//
// Direction follows architecture §3: the sender of a SYN is the client;
// without a SYN, the sender of a SYN-ACK is the server; otherwise the lower
// (well-known) port is the server. tx is client→server, rx server→client.
//
// TCP flows carry DeepFlow's L4 semantics (architecture §3): the state is
// derived from per-flow flags (handshake, FINs, first RST and its sender,
// and two anomalies: a SYN answered by another connection's data, a SYN-ACK
// after the handshake), which select the timeout (opening 5 s, established
// 300 s, closing 5 s, established after RST 35 s, exception 5 s, closed after
// FIN 2 s, single direction 5 s, opening after RST 1 s) and the close type.
// The metrics (rtt, srt, art, cit, retransmissions, zero windows, out of
// order, loss before and after the tap) are defined on FlowRecord's fields.
// Loss is told from the tap's view of each direction's sequence space (the
// highest sequence seen, one open gap, the highest ACK) and the receiver's
// ACKs. UDP flows get a response time (art); UDP and ICMP flows end by
// timeout (3).
//
// Flows end by timeout, by a new SYN on their 5-tuple, by table pressure
// (eviction of the flow closest to its deadline) or at Flush, which ends
// every flow as if time had moved past every timeout (never close type 5).
// A flow alive at a report-interval boundary (each minute) is reported with
// close type 5 and carries on with fresh per-period counters. Records leave
// in batches through the Sink given to New.
//
// Aggregates: when that Sink also implements MetricsSink, the table computes
// DeepFlow's flow_metrics network (per tap, server ip, server port,
// protocol) and network_map (per tap, client ip, server ip, server port,
// protocol) per second and per minute itself, from the same events as the
// flow records, and hands MetricRows to the sink when its clock enters a new
// second (minute rows when it enters a new minute), at Tick and at Flush.
// Meter documents which second each contribution lands in; the result is
// the invariant that for every minute the sum of a metric over the 1 s
// rows, over the 1 m rows and over the flow reports whose end_time lies in
// that minute are equal (TestAggregatesMatchRecords, and against
// ClickHouse in storage/clickhouse). Several rows may share a table, time
// and key (other workers' tables; a close counted in a second already
// emitted, since a flow that times out counts in the second of its last
// packet): readers sum them. The per-packet cost is a key comparison and a
// few adds into the aggregate the flow points to; the map is consulted
// once per flow and second (aggregate.go).
//
// L7: a PayloadHandler attached with SetPayloadHandler (dissectors/engine)
// sees every TCP/UDP packet with payload after its flow accounted it, with
// the flow's slot, id and direction (FlowView), is told when a flow ends
// before its slot is reused, and follows the table's clock (Advance). The
// flow table knows nothing of protocols; it keeps one 32-bit word in each
// flow for the handler (FlowView.L7), which comes into the cache with the
// flow, and the handler keeps the rest of its state itself.
//
// Speed: with a few hundred thousand flows, the index slot, slab entry and
// L7 session of nearly every packet miss the cache. UpdateBatch runs the
// packets through a pipeline of 16-packet steps: it hashes a step's keys
// and prefetches their index slots, then reads those and prefetches the
// flows' lines (and the entry a new flow would take), hashes the next step
// while those arrive, and prefetches the L7 sessions before accounting the
// step. Prefetch instructions (internal/prefetch) retire at once, where a
// plain load would hold up everything behind it. A tick pipelines the flows
// it ends the same way, which the timing wheel lists in blocks rather than
// links through the slab. Keys are compared and hashed as 8-byte words in
// independent multiply lanes. The slab and index ask for huge pages.
//
// Memory: a flow is 240 bytes (times, the last packet's included, as 32-bit
// offsets from the report period's start, state in flag bits, tunnel outer
// addresses interned per table, the aggregates as one 32-bit index, the L7
// word); with the index's 6.4 bytes per flow (1.6 slots of 4 bytes) and its
// entry in the timing wheel, an active flow costs under 256 bytes
// (TestFlowSize, BenchmarkTableMemory). The aggregates take memory per
// active edge and second (and minute), not per flow.
package flowtable
