// Package engine is the L7 stage of one dataplane worker: it sits behind the
// worker's flow table (as its flowtable.PayloadHandler) and in front of
// storage. For each flow it identifies the protocol from the payload (the
// dissectors in registry order get Check on the flow's first payload packets
// until one claims it, or the flow is given up), hands later payload to that
// dissector's Parse, and pairs requests with responses into
// dissectors.Log rows (l7_flow_log).
//
// Pairing is the one shared engine architecture §4 asks for: a response
// closes the open request with the same correlation key, or, for protocols
// without one, the flow's oldest open request. Up to MaxInFlight requests
// wait per flow (the oldest is reported as a timeout when one more comes);
// a request without a response is reported with response_status timeout
// (2) after RequestTimeoutTCP/UDP of capture time or when its flow ends; a
// response without a request (the capture started mid-session) is reported
// as a response row.
//
// Like the flow table the engine is owned by one goroutine, reads no wall
// clock and allocates nothing per packet: per-flow state is one uint32 per
// flow-table slot, sessions and waiting requests live in slabs with free
// lists that grow only to a new high-water mark (and are capped), and logs
// leave in batches through the LogSink, which copies what it keeps.
package engine
