// Package tls is the TLS dissector: it turns the clear-text start of a TLS
// session over TCP into a request (the ClientHello) and a response (the
// ServerHello, or a fatal alert from the server), which the pairing engine
// pairs in order (there is no correlation key). What follows the
// handshake is encrypted and yields nothing.
//
// Specs: RFC 8446 (TLS 1.3) §4 (handshake messages), §4.2.1
// (supported_versions), §5.1 (record layer), §6 (alerts); RFC 5246 (TLS
// 1.2) §7; RFC 6066 §3 (server_name). Names of versions and alerts are
// IANA's "TLS Parameters" registry.
//
// What is parsed: the TLS records in a segment (type, version, length).
// In a handshake record whose first message is a ClientHello or a
// ServerHello, the hello's version, session id, cipher suites, compression
// methods and extensions, as far as the segment holds them: server_name
// and supported_versions are read, other extensions skipped. In an alert
// record, the level and description. A segment that does not start with
// a record header (the rest of a record begun earlier) yields nothing.
//
// Field mapping (DeepFlow's conventions):
//
//	ClientHello      Kind Request; request_type "ClientHello";
//	                 request_domain the server_name extension's host name;
//	                 version the highest version in supported_versions if
//	                 present, else the hello's legacy_version ("TLS 1.2",
//	                 "TLS 1.3", "SSL 3.0"…); endpoint empty
//	ServerHello      Kind Response, response_code 0, response_status 0;
//	                 version the selected supported_versions entry, else
//	                 the hello's version
//	fatal Alert      (server → client, clear text) Kind Response,
//	                 response_status 3 (server error), response_code the
//	                 alert description number, response_exception its name
//	                 (handshake_failure, protocol_version…); an alert in the
//	                 same segment as a ServerHello marks that response
//	len              the hello's handshake message length (4-byte header
//	                 included), or the alert record's length (7)
//
// A ClientHello in the SSL 2.0 compatible format (RFC 5246 Appendix E.2),
// which old clients send, is a request too: version from its version
// field, no server name (the format has no extensions).
//
// Not parsed: DTLS (TLS over UDP), encrypted
// records (TLS 1.3's encrypted handshake, application data, alerts after
// the handshake), certificates, a hello's extensions beyond the segment or
// record that carries its start, ECH's inner hello (the outer SNI is
// reported), and warning-level or client-sent alerts.
package tls
