// Package http is the HTTP/1.0 and HTTP/1.1 dissector (l7_protocol 20,
// "HTTP").
//
// Spec: RFC 9112 (HTTP/1.1 message syntax: request line §3, status line §4,
// header fields §5, message body length §6.3, chunked coding §7.1) and
// RFC 9110 (methods, status codes). Trace context: W3C Trace Context
// (https://www.w3.org/TR/trace-context/), SkyWalking sw8
// (https://skywalking.apache.org/docs/main/latest/en/api/x-process-propagation-headers-v3/),
// B3 (https://github.com/openzipkin/b3-propagation), Jaeger uber-trace-id.
//
// Parsing is per packet, as DeepFlow's agent does. A segment that starts
// with a request line (GET, POST, PUT, DELETE, HEAD, OPTIONS, PATCH,
// CONNECT, TRACE) or a status line (HTTP/1.x NNN) yields a record, and so
// does each further message in the same segment whose start is known from
// the previous one's Content-Length or complete chunked body (pipelining).
// A segment that continues a message (body, headers split over segments)
// yields nothing. Interim 1xx responses other than 101 yield nothing: the
// final response follows and is the one that pairs with the request.
// Responses pair with requests in order (no key).
//
// Field mapping (DeepFlow's):
//
//	version          "1.0" or "1.1" from the start line
//	request_type     the method
//	request_domain   the Host header
//	request_resource the request target as sent (path with query)
//	endpoint         the path's first two segments without query: /a/b/c?x → /a/b
//	response_code    the status code; 4xx → client error, 5xx → server error
//	trace_id/span_id traceparent, sw8, b3, X-B3-TraceId/X-B3-SpanId,
//	                 uber-trace-id, else x-request-id (trace_id only)
//	len              header length + Content-Length (or the chunked body when
//	                 it ends in the segment), else the payload length from the
//	                 message start
//
// Not parsed: bodies, header lines after the first segment of a message,
// HTTP/2 over an Upgrade: h2c (the frames after 101 yield nothing), and
// request lines longer than one segment.
//
// The package also exports the trace-header and endpoint helpers that the
// HTTP/2 dissector shares (TraceHeader, SetTrace, Endpoint, StatusOf).
package http
