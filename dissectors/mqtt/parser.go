package mqtt

import (
	"encoding/binary"

	"github.com/tapflow/tapflow/dissectors"
)

// Dissector parses MQTT 3.1, 3.1.1 and 5 control packets. It is stateless.
type Dissector struct{}

// New returns an MQTT dissector.
func New() *Dissector { return &Dissector{} }

// Transports implements the engine's transport filter: Check accepts TCP payloads only.
func (*Dissector) Transports() dissectors.Transport { return dissectors.TCP }

// Protocol returns dissectors.ProtoMQTT.
func (*Dissector) Protocol() dissectors.Protocol { return dissectors.ProtoMQTT }

// Control packet types (fixed header byte 1, bits 7-4; MQTT 5 §2.1.2).
const (
	typeConnect     = 1
	typeConnack     = 2
	typePublish     = 3
	typePuback      = 4
	typePubrec      = 5
	typePubrel      = 6
	typePubcomp     = 7
	typeSubscribe   = 8
	typeSuback      = 9
	typeUnsubscribe = 10
	typeUnsuback    = 11
	typePingreq     = 12
	typePingresp    = 13
	typeDisconnect  = 14
	typeAuth        = 15
)

// packetNames is request_type per packet type.
var packetNames = [16]string{"", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP",
	"SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH"}

// The fixed header (MQTT 5 §2.1.1):
//
//	Bit     7   6   5   4 | 3   2   1   0
//	byte 1  packet type   | flags (PUBLISH: DUP, QoS (2 bits), RETAIN;
//	                      |        PUBREL, SUBSCRIBE, UNSUBSCRIBE: 0010; others 0000)
//	byte 2… Remaining Length: variable byte integer, 1–4 bytes, 7 bits each,
//	        bit 7 set when another byte follows
//
// then Remaining Length bytes of variable header and payload.

// header results.
const (
	hdrOK        = iota
	hdrShort     // the payload ends inside the Remaining Length
	hdrMalformed // not a fixed header: bad type or flags, or a 5-byte length
)

// fixedHeader decodes the fixed header at the start of p.
func fixedHeader(p []byte) (typ, flags byte, rem, hlen int, st int) {
	if len(p) == 0 {
		return 0, 0, 0, 0, hdrShort
	}
	typ, flags = p[0]>>4, p[0]&0x0f
	switch typ {
	case 0:
		return typ, flags, 0, 0, hdrMalformed
	case typePublish:
		if flags&0x06 == 0x06 { // QoS 3
			return typ, flags, 0, 0, hdrMalformed
		}
	case typePubrel, typeSubscribe, typeUnsubscribe:
		if flags != 2 {
			return typ, flags, 0, 0, hdrMalformed
		}
	default:
		if flags != 0 {
			return typ, flags, 0, 0, hdrMalformed
		}
	}
	v, n, st := varint(p[1:])
	return typ, flags, v, 1 + n, st
}

// varint decodes a variable byte integer (MQTT 5 §1.5.5).
func varint(p []byte) (v, n, st int) {
	for i := range 4 {
		if i >= len(p) {
			return 0, 0, hdrShort
		}
		v |= int(p[i]&0x7f) << (7 * i)
		if p[i]&0x80 == 0 {
			return v, i + 1, hdrOK
		}
	}
	return 0, 0, hdrMalformed
}

// str reads a UTF-8 string (2-byte length + bytes) at the start of b,
// clipped to b, and the rest of b after it. ok is false when b has no
// length; full is false when the string runs past b.
func str(b []byte) (s, rest []byte, ok, full bool) {
	if len(b) < 2 {
		return nil, nil, false, false
	}
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if n > len(b) {
		return b, nil, true, false
	}
	return b[:n], b[n:], true, true
}

// textOK reports whether s may be a topic or client id: no control
// characters (MQTT 5 §1.5.4 forbids U+0000 and discourages the others).
func textOK(s []byte) bool {
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// Check reports whether payload starts an MQTT connection: a CONNECT with
// protocol name "MQTT" (level 4 or 5) or "MQIsdp" (level 3). A flow seen
// from mid-session has no CONNECT; on port 1883 or 8883 a payload made only
// of complete, valid PUBLISH or PINGREQ packets is taken as MQTT too.
func (*Dissector) Check(p []byte, m *dissectors.Meta) bool {
	if m.Proto != 6 {
		return false
	}
	typ, _, rem, hl, st := fixedHeader(p)
	if st != hdrOK {
		return false
	}
	if typ == typeConnect {
		name, rest, ok, full := str(p[hl:])
		if !ok || !full || len(rest) < 4 || rem < 10 {
			return false
		}
		switch string(name) {
		case "MQTT":
			return rest[0] == 4 || rest[0] == 5
		case "MQIsdp":
			return rest[0] == 3
		}
		return false
	}
	if (m.ServerPort != 1883 && m.ServerPort != 8883) || (typ != typePublish && typ != typePingreq) {
		return false
	}
	// Only complete, valid packets up to the end of the payload.
	for off := 0; off < len(p); {
		typ, flags, rem, hl, st := fixedHeader(p[off:])
		if st != hdrOK || off+hl+rem > len(p) {
			return false
		}
		switch typ {
		case typePublish:
			if !publishOK(flags, p[off+hl:off+hl+rem], true) {
				return false
			}
		case typePingreq:
		default:
			return false
		}
		off += hl + rem
	}
	return true
}

// publishOK validates a PUBLISH variable header: the topic (no wildcards,
// no control characters) and, at QoS 1 and 2, a non-zero packet id.
func publishOK(flags byte, body []byte, complete bool) bool {
	topic, rest, ok, full := str(body)
	if !ok || (complete && !full) || !textOK(topic) {
		return false
	}
	for _, c := range topic {
		if c == '+' || c == '#' {
			return false
		}
	}
	if flags&0x06 != 0 && full {
		if len(rest) >= 2 {
			return binary.BigEndian.Uint16(rest) != 0
		}
		return !complete
	}
	return true
}
