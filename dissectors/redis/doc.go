// Package redis is the Redis dissector (l7_protocol 80, "Redis"): RESP2 and
// RESP3 over TCP.
//
// Spec: Redis serialization protocol specification
// (https://redis.io/docs/latest/develop/reference/protocol-spec/): requests
// as arrays of bulk strings or inline commands; replies as simple strings,
// errors, integers, bulk strings, arrays and the RESP3 types (null, boolean,
// double, big number, bulk error, verbatim string, map, set, attribute,
// push).
//
// Parsing is per packet, as DeepFlow's agent does, and stateless:
//
//   - client → server: each command in the segment is a Request (pipelining
//     gives several). A command cut at the segment's end still gives its
//     Request with the arguments present. An inline command counts only when
//     its first word is a known Redis command. A segment that starts inside
//     a command (the rest of a large value) yields nothing.
//   - server → client: each top-level reply in the segment is a Response;
//     nested aggregates are skipped whole (an iterative walk with a count of
//     pending values, no recursion). Push messages ('>') and attributes
//     ('|') yield no record. A segment that does not start with a valid
//     reply continues an earlier one and yields nothing, and so does a
//     segment holding several values of which the last runs past its end:
//     that is a piece of a large aggregate reply (KEYS, LRANGE, COMMAND)
//     starting at an element, whose elements would each pass for a reply.
//
// Responses pair with requests in order (no key).
//
// Field mapping (DeepFlow's):
//
//	request_type       the command as sent (GET, get, LRANGE, JSON.GET)
//	request_resource   the whole command line, arguments joined by spaces
//	                   (LRANGE mylist 0 299), cut by the record's text buffer
//	response_status    '-' errors and RESP3 '!' bulk errors → server error (3),
//	                   as DeepFlow marks every Redis error; else 0
//	response_exception the error text without '-' (ERR …, WRONGTYPE …, NOAUTH …)
//	len                the message's length; for one cut at the segment's end,
//	                   a lower bound (a bulk string's declared length counts)
//
// Not parsed: RESP3 streamed strings and aggregates ("$?", "*?"); pub/sub
// messages in RESP2 are arrays and give Responses without requests; a
// pipeline whose commands or replies cross a segment boundary: segments
// that start inside a message are not seen and a reply segment that ends
// inside its last reply yields nothing, so in-order pairing of such
// pipelines goes wrong (pipelines within one segment are exact).
package redis
