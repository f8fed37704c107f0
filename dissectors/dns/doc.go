// Package dns is the DNS dissector: it turns DNS queries and responses,
// over UDP and over TCP, into requests and responses keyed by the DNS
// message ID.
//
// Specs: RFC 1035 §4.1 (message format, name compression), RFC 7766 §8
// (TCP: each message is preceded by a two-byte length), RFC 6891 (EDNS),
// RFC 6762 (mDNS, port 5353) and RFC 4795 (LLMNR, port 5355), which share
// the format. Type and rcode names are IANA's "DNS Parameters" registry.
//
// What is parsed, per message: the 12-byte header and the first question
// (qname, qtype). A UDP datagram is one message; a TCP segment holds one or
// more length-prefixed messages, each of which becomes a record (several
// pipelined queries in one segment are several requests). A TCP segment
// that does not start with a plausible length and header is the rest of a
// message that began in an earlier segment and yields nothing.
//
// Field mapping (DeepFlow's conventions):
//
//	Kind             Request when the header's QR bit is 0, else Response
//	Key              the header's ID (HasKey)
//	request_type     the first question's qtype name (A, AAAA, SRV…;
//	                 TYPE<n> for a type without a name)
//	request_resource the first question's qname, dotted, no trailing dot
//	                 ("." for the root)
//	request_domain   the qname, for A and AAAA questions only
//	endpoint         the qname
//	response_code    the header's RCODE (responses; HasCode)
//	response_status  0 for NOERROR; 4 (client error) for FORMERR (1) and
//	                 NXDOMAIN (3); 3 (server error) for any other rcode
//	response_exception the rcode's name (NXDomain, ServFail…) when not 0
//	len              the message length (the TCP length prefix, or the UDP
//	                 payload length)
//
// Not parsed: the answer, authority and additional sections (DeepFlow puts
// the answers in response_result, which tapflow does not store), the EDNS
// extended rcode, questions after the first, DNS over TLS/HTTPS/QUIC
// (encrypted), and a TCP message whose length prefix was sent in a segment
// of its own.
package dns
