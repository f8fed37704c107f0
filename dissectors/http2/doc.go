// Package http2 is the dissector for cleartext HTTP/2 (h2c, l7_protocol 21,
// "HTTP2") and gRPC over it (l7_protocol 41, "gRPC"). Protocol() is
// ProtoHTTP2; each record carries ProtoHTTP2 or ProtoGRPC.
//
// Specs: RFC 9113 (HTTP/2: connection preface §3.4, frame header §4.1,
// frame types §6, header blocks and CONTINUATION §4.3/§6.10), RFC 7541
// (HPACK: integers §5.1, strings and the Huffman code §5.2 and Appendix B,
// field representations §6, static table Appendix A), gRPC over HTTP/2
// (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md).
//
// Parsing is per packet and stateless. The client preface is skipped; the
// frames of the payload are walked, and each HEADERS frame (with the
// CONTINUATION frames that follow it in the same segment) is HPACK-decoded
// with the static table and literals only, Huffman strings decoded into
// fixed buffers (huffman.go, canonical table-driven decoding). Entries that
// literals with incremental indexing add are remembered for the rest of the
// same payload only; dynamic-table references to entries from earlier
// packets are unknown and skipped (a capture starting mid-connection, or any
// later request of a connection whose encoder indexes its headers).
//
//   - A block with :method is a Request, one with :status a Response,
//     both keyed by the stream identifier (HasKey, Key = stream id).
//   - gRPC is content-type application/grpc (or application/grpc+proto…);
//     when content-type is unknown (a dynamic reference, or the block was
//     cut), a POST to /pkg.Service/Method (dotted service, upper-case
//     method) is taken as gRPC.
//   - gRPC trailers (a HEADERS frame with grpc-status and no :status) in
//     the same payload as their stream's response HEADERS update that
//     response's code; in a later payload they are a Response record of
//     their own with the same key and the grpc-status code. A
//     trailers-only response (:status and grpc-status together) is one
//     record with the grpc-status code.
//
// Field mapping (DeepFlow's):
//
//	version          "2"
//	request_type     :method (gRPC: POST)
//	request_domain   :authority, else host
//	request_resource :path; gRPC: the service, pkg.Service of /pkg.Service/Method
//	endpoint         the path's first two segments without query; gRPC: the :path
//	response_code    :status; gRPC: grpc-status when seen, else :status
//	response_status  :status 4xx client error, 5xx server error; grpc-status ≠ 0 server error
//	response_exception grpc-message of a non-zero grpc-status
//	trace_id/span_id traceparent, sw8, b3, x-b3-traceid/x-b3-spanid,
//	                 uber-trace-id, else x-request-id (shared with package http)
//	len              the header block length (HEADERS + CONTINUATION payloads)
//	                 + content-length when present, else + the DATA frames
//	                 of the stream in the same payload
//
// Check accepts the client preface, or, for a capture that starts
// mid-connection, complete frames that each pass the RFC 9113 rules (type
// ≤ 9, only defined flags, length ≤ 16384, the stream identifier and the
// fixed length the type requires) up to a HEADERS frame whose block
// decodes to :method or :status. TLS records (length bytes 0x16/0x17 0x03…
// exceed 16384) and other binary protocols do not pass.
//
// Not parsed: TLS-encrypted h2 (needs keys), the HPACK dynamic table across
// packets (needs per-flow state), h2c upgrade from HTTP/1.1 (the flow is
// HTTP/1 by then), PUSH_PROMISE, RST_STREAM (a cancelled stream has no
// response), DATA contents (gRPC messages).
package http2
