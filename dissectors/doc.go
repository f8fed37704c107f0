// Package dissectors is the contract between the L7 engine and the protocol
// parsers: the stage after the flow table and before storage.
//
// A Dissector (one package per protocol under dissectors/, listed in sniff
// order by dissectors/registry) is stateless and shared by every flow of one
// worker. The engine (dissectors/engine) hands it one packet's L4 payload at a
// time with a Meta saying the direction; Check sniffs whether a flow speaks
// the protocol, Parse turns the start of a message into Records: requests and
// responses that the engine pairs (one shared pairing engine, not one per
// protocol) into l7_flow_log rows.
//
// Parsing is per packet, as DeepFlow's agent does: a message's header fields
// come from the segment that starts it, and a segment that continues a
// message (an HTTP body, the rest of a large SQL result) yields nothing.
// Fields are copied into the Record's own fixed buffer (Text), so a Record
// outlives the payload it came from and nothing is allocated per packet;
// text longer than the buffer is truncated.
//
// Invariants every dissector keeps, and tests: Check and Parse never panic
// and never allocate; Parse returns either records or an error, never
// half-filled records with an error; errors are the package-level sentinels
// below, never built per packet.
package dissectors
