// Package kafka is the Kafka dissector (l7_protocol 100): it turns the
// request and response messages of the Kafka wire protocol
// (https://kafka.apache.org/protocol, the message schemas in Apache Kafka's
// clients/src/main/resources/common/message/*.json) into records, per
// packet, as DeepFlow's agent does.
//
// Framing: every message is an INT32 size and that many bytes, so a
// segment may hold several (pipelined) messages, each giving a record, or
// the start of one large message (a Produce or Fetch with its records),
// whose later segments yield nothing.
//
// Requests (client → server): size, api_key, api_version, correlation_id,
// client_id (STRING, -1 for null), and from the API's first flexible version
// (request header v2) TAGGED_FIELDS. Fields filled:
//
//	request_type     the API's name for api_key (Produce, Fetch, ApiVersions, … up to key 92)
//	version          api_version, decimal
//	key              correlation_id (the response carries it back)
//	req len          size + 4
//	request_domain   Produce/Fetch: the first topic
//	endpoint         Produce/Fetch: "<topic>-<partition>" of the first partition
//	request_resource Fetch: "<topic>-<partition>:<fetch_offset>"; Produce: empty
//	                 on the request, filled from the response (see below)
//
// The Produce body is read in its classic (v0-8; transactional_id from v3)
// and flexible (v9+: compact strings and arrays, tagged fields) encodings;
// the Fetch body in v0-11 and flexible v12+ (replica_id dropped from v15).
// From Produce v13 and Fetch v13 topics are named by UUID: the topic is
// then unknown and request_domain, endpoint and request_resource stay
// empty. A Produce with acks=0 gets no response, so it is a Session record
// rather than a request waiting for one.
//
// Responses (server → client): size, correlation_id, and for flexible
// versions (except ApiVersions) TAGGED_FIELDS. A response names neither
// its API nor its version, and this parser keeps no state between packets
// (DeepFlow remembers each request to decode its response), so the record
// always has Kind Response, key = correlation_id and len = size + 4, and
// the body is matched against the layouts whose outcome matters most
// (details in response.go): ApiVersions (any version), Produce (every
// version family, only when the whole message is in the segment, which
// must then be consumed exactly) and Fetch v7+ (including the first
// segment of a large response). A match sets response_code to the
// error_code (Produce: the first failing partition's, with its
// error_message as response_exception; Fetch: the top-level one, else the
// first partition's) and status 3 (server error) when it is non-zero; a
// Produce match also sets request_resource "<topic>-<partition>:<base_offset>"
// of the first partition, which the engine copies into the Produce
// request's row. Every other response keeps no response_code and status 0.
//
// Identification (Check) ignores ports: brokers listen anywhere (36333 in
// the tests); it needs TCP. From the client, a request header must be
// plausible: size 10..100 MiB and covering the segment or followed by
// another plausible header, a known api_key, api_version ≤ 20,
// correlation_id ≥ 0, and a client_id of 1 byte to 1 KiB without control
// bytes (every client library sends one by default; a null or empty one is
// accepted by Parse once the flow is known, but in Check it is what the
// zeros of other binary protocols' headers look like: nDPI's afp.pcap and
// fastcgi.pcap would pass otherwise); a Produce or Fetch body must parse up
// to its first topic-partition (or an empty topics array). From the server, the header alone
// (size 6..128 MiB, correlation_id ≥ 0, first body byte 0x00 or 0xff) is
// too weak, so the body must match one of the response layouts above.
//
// Parse takes a server segment as a response start on that header test
// alone (a response of another API must still pair with its request). A
// segment of record bytes continuing a large Fetch response passes it with
// a probability of about 5×10^-7 (random bytes: the size's top byte 0,
// its second < 8, the correlation_id's sign bit clear, the next byte 0x00
// or 0xff), and then shows as a response without its request. A message
// that starts in the segment ending a large one (pipelining) is missed:
// per-packet parsing does not know where the large one ends.
//
// Not parsed: the other APIs' bodies (Metadata, OffsetCommit, JoinGroup…,
// group ids, transactional ids), every partition past the first, record
// batches (keys, headers, compression), SASL exchanges framed outside the
// Kafka header (SaslHandshake v0), and responses whose layout is not one of
// those above.
package kafka
