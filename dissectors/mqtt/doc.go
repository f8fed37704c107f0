// Package mqtt is the dissector for MQTT 3.1, 3.1.1 and 5 over TCP
// (l7_protocol 101, "MQTT").
//
// Specs: MQTT 3.1.1 (https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/os/mqtt-v3.1.1-os.html),
// MQTT 5.0 (https://docs.oasis-open.org/mqtt/mqtt/v5.0/os/mqtt-v5.0-os.html),
// MQTT 3.1 (protocol name "MQIsdp", level 3).
//
// Every control packet that starts in a segment is a record; request_type
// is the packet type name (CONNECT, PUBLISH, SUBACK…):
//
//   - CONNECT (Request): version "3.1", "3.1.1" or "5" from the protocol
//     level; request_domain is the client identifier. CONNACK (Response):
//     the return/reason code is response_code; see reason for which codes
//     are client errors (bad credentials, not authorized, identifier
//     rejected…) and server errors (server unavailable, busy…), with the
//     code's name as response_exception.
//   - PUBLISH: request_domain and request_resource are the topic. QoS 0 is
//     a Session (nothing answers it); QoS 1 and 2 are Requests keyed by the
//     packet id. PUBACK and PUBREC answer a PUBLISH, PUBCOMP answers PUBREL
//     (a Request of its own), all keyed by packet id, with MQTT 5's reason
//     code as response_code when present.
//   - SUBSCRIBE / UNSUBSCRIBE (Requests keyed by packet id): request_domain
//     is the first topic filter, request_resource all of them joined by
//     ','. SUBACK / UNSUBACK (Responses): response_code is the first
//     failure code (≥ 0x80) or else the first code; MQTT 3's SUBACK 0x80
//     "failure" is a server error.
//   - PINGREQ / PINGRESP: a Request and its Response.
//   - DISCONNECT and AUTH: Sessions, with MQTT 5's reason code.
//
// CONNECT/CONNACK and PINGREQ/PINGRESP carry no packet id; they are keyed
// 0, which no packet id takes (ids are non-zero), so a CONNACK or PINGRESP
// never closes a waiting PUBLISH. Packet ids of the two directions are
// separate spaces in MQTT but share the key here: a broker's PUBLISH and
// the client's PUBLISH with the same id in flight at once could mispair.
//
// Packets do not carry the protocol version; SUBSCRIBE, SUBACK and
// UNSUBACK are read with the MQTT 3 layout when it fits exactly and with
// MQTT 5's property block otherwise. A segment that does not start with a
// valid fixed header (the rest of a large PUBLISH) yields nothing.
//
// Not parsed: MQTT 5 properties (reason strings, user properties, topic
// aliases: a PUBLISH using an alias has an empty topic), will messages,
// user names, payloads, MQTT over WebSocket.
package mqtt
