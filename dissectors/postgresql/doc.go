// Package postgresql is the PostgreSQL frontend/backend protocol dissector
// (l7_protocol 61, "PostgreSQL").
//
// Spec: PostgreSQL docs, chapter "Frontend/Backend Protocol" (protocol 3.0):
// message flow (simple query, extended query, COPY), message formats,
// error and notice message fields
// (https://www.postgresql.org/docs/current/protocol.html).
//
// Parsing is per packet, as DeepFlow's agent does, and stateless. The
// records follow the protocol's own request/reply units, so that in-order
// pairing stays aligned: the backend answers every Query and every Sync
// with exactly one ReadyForQuery.
//
//   - frontend: each Query ('Q') is a Request. An extended-query batch — the
//     messages up to a Sync ('S') or the segment's end — is one Request when
//     it holds a Parse, Bind, Execute, Describe, Close or FunctionCall; it
//     is named after its first such message and its resource is the SQL of
//     its Parse messages joined by "; ". Terminate ('X') is a Session.
//     Startup-phase messages (StartupMessage, SSLRequest, GSSENCRequest,
//     CancelRequest), passwords/SASL ('p'), Sync or Flush alone and COPY
//     data yield nothing.
//   - backend: a reply runs to ReadyForQuery ('Z') and is one Response. It
//     starts at the first message that is not asynchronous (NoticeResponse,
//     ParameterStatus, NotificationResponse) or part of the startup
//     (Authentication, BackendKeyData, NegotiateProtocolVersion); a
//     ReadyForQuery alone is no reply. An ErrorResponse in a reply makes it
//     an error. A segment that starts with DataRow or CopyData continues a
//     reply begun earlier: its messages up to the next 'Z' yield nothing,
//     and so does a segment that starts inside a message.
//
// Responses pair with requests in order (no key).
//
// Field mapping (DeepFlow's):
//
//	request_type      "simple query" (Q), "parse" (P), "bind" (B), "execute" (E),
//	                  "describe" (D), "close" (C), "function call" (F), "terminate" (X)
//	request_resource  the SQL of a Query or of the batch's Parse messages
//	response_status   ErrorResponse with SQLSTATE class 42 (syntax error or
//	                  access rule violation: undefined table/column…) → client
//	                  error (4), any other ErrorResponse → server error (3), else 0
//	response_exception the ErrorResponse's message ('M' field)
//	response_code     none: SQLSTATE is not a number (DeepFlow leaves it empty)
//	len               the sum of the request's / reply's message lengths in
//	                  the segment (a message longer than the segment counts whole)
//
// Not parsed: row counts and command tags, COPY contents, parameters of
// Bind, notices, anything inside TLS or GSSAPI encryption, and the startup
// and authentication exchange (a failed login's FATAL ErrorResponse is a
// Response without a request).
package postgresql
