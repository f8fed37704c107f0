// Package mongodb is the MongoDB dissector (l7_protocol 81): it turns
// messages of the MongoDB wire protocol
// (https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/,
// BSON per https://bsonspec.org/spec.html) into records, per packet, as
// DeepFlow's agent does.
//
// Framing: a 16-byte little-endian header (messageLength, requestID,
// responseTo, opCode) then the opcode's body; messageLength frames the
// message, so a segment may hold several messages (a record each) or the
// start of a large one (a find reply's documents), whose later segments
// yield nothing.
//
// Fields filled:
//
//	request_type     the opcode's name: OP_MSG (2013), OP_QUERY (2004),
//	                 OP_REPLY (1, on responses), OP_COMPRESSED (2012),
//	                 OP_INSERT (2002), OP_UPDATE (2001), OP_DELETE (2006),
//	                 OP_GET_MORE (2005), OP_KILL_CURSORS (2007)
//	key              requests: requestID; responses: responseTo
//	len              messageLength
//	request_resource the command document as compact relaxed JSON: OP_MSG's
//	                 kind-0 section (`{"find":"users","filter":{...},"$db":"shop"}`),
//	                 OP_QUERY's query document; for OP_GET_MORE, OP_INSERT,
//	                 OP_UPDATE and OP_DELETE the fullCollectionName
//	response_code    the reply document's "code" (OP_MSG's body, OP_REPLY's
//	                 first document), else its first writeErrors[].code,
//	                 else writeConcernError.code; 0 when there is none
//	response_status  0 when the code is 0 (and "ok" is not 0); 4 (client
//	                 error) for the codes clientCode lists (BadValue 2,
//	                 FailedToParse 9, Unauthorized 13, NamespaceNotFound 26,
//	                 CommandNotFound 59, NoReplicationEnabled 76,
//	                 DuplicateKey 11000…); 3 (server error) for any other
//	                 non-zero code and for "ok":0 without a code
//	response_exception the reply's "errmsg" (legacy "$err"), or the write
//	                 error's
//
// Rendering: strings quoted (with `"`, `\` and control bytes escaped),
// int32/int64 and doubles as numbers, booleans, null, ObjectId as a quoted
// hex string, nested documents and arrays up to 8 levels (deeper ones as
// {...}); other types by name (Binary, Date, Timestamp, Regex, Decimal128,
// MinKey…). The text goes straight into the record's fixed buffer and is cut
// where the buffer (or the segment) ends, leaving the JSON unclosed.
//
// Kinds: OP_QUERY, OP_GET_MORE and OP_MSG from the client are requests, the
// server's OP_REPLY and OP_MSG responses. OP_MSG with moreToCome from the
// client (w:0 writes) and the legacy OP_INSERT/OP_UPDATE/OP_DELETE/
// OP_KILL_CURSORS get no reply, so they are Session records. A server's
// exhaust stream (moreToCome replies after the first) answers no request
// of its own and shows as response-only rows. OP_COMPRESSED is only read
// inside with the noop compressor; otherwise its record has the type and
// key but no resource or code.
//
// Identification (Check) ignores ports: mongod listens anywhere. The header
// must have 20 ≤ messageLength ≤ 64 MiB, covering the segment or followed by
// another valid message; an opcode the direction sends (requests: responseTo
// 0, or -1 as some old clients send); and the opcode's fixed fields valid
// (OP_MSG flag bits and section kind, OP_REPLY flags and counts, a
// "<db>.<coll>" namespace, ZERO fields zero, the first document's length and
// first element type). nDPI's mongo_false_positive.pcapng (TLS on 443) is not
// claimed.
//
// Not parsed: compressed bodies (snappy, zlib, zstd), OP_MSG kind-1
// document sequences (the inserted/updated documents), documents after the
// first, checksums, the legacy OP_COMMAND/OP_COMMANDREPLY (2010/2011).
package mongodb
