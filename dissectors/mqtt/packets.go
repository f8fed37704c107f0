package mqtt

import (
	"encoding/binary"

	"github.com/tapflow/tapflow/dissectors"
)

// Parse appends a record per control packet that starts in payload. A
// packet whose rest is in later segments is reported from the part seen; a
// payload that does not start with a fixed header continues an earlier
// packet and yields nothing.
func (*Dissector) Parse(dst []dissectors.Record, p []byte, _ *dissectors.Meta) ([]dissectors.Record, error) {
	orig := len(dst)
	for off := 0; off < len(p); {
		typ, flags, rem, hl, st := fixedHeader(p[off:])
		switch {
		case st == hdrMalformed && off == 0:
			return dst, nil // a later part of an earlier packet
		case st == hdrShort && off == 0:
			return dst[:orig], dissectors.ErrShort
		case st != hdrOK:
			return dst, nil // a header cut by the segment end, or garbage
		}
		end := off + hl + rem
		body := p[off+hl : min(len(p), end)]
		var ok bool
		dst, ok = packet(dst, typ, flags, body, end <= len(p))
		if !ok {
			if off == 0 {
				return dst[:orig], dissectors.ErrMalformed
			}
			return dst, nil // packet leaves dst unchanged when invalid
		}
		dst[len(dst)-1].Len = uint32(hl + rem)
		off = end
	}
	return dst, nil
}

var comma = []byte{','}

// packet appends the record of one control packet; body is its variable
// header and payload (clipped to the segment: complete says whether it all
// is there). ok is false (and dst unchanged) when the packet is not valid.
func packet(dst []dissectors.Record, typ, flags byte, body []byte, complete bool) (out []dissectors.Record, ok bool) {
	// Validate before appending, so a bad packet leaves dst as it was.
	var key uint16
	switch typ {
	case typeConnect:
		name, rest, ok, _ := str(body)
		if !ok || (string(name) != "MQTT" && string(name) != "MQIsdp") || len(rest) < 4 {
			return dst, false
		}
	case typeConnack:
		if len(body) < 2 || body[0] > 1 {
			return dst, false
		}
	case typePublish:
		if !publishOK(flags, body, complete) {
			return dst, false
		}
	case typePuback, typePubrec, typePubrel, typePubcomp, typeSubscribe, typeSuback, typeUnsubscribe, typeUnsuback:
		if len(body) < 2 {
			return dst, false
		}
		if key = binary.BigEndian.Uint16(body); key == 0 {
			return dst, false // packet ids are non-zero (§2.2.1)
		}
	case typePingreq, typePingresp:
		if len(body) != 0 || !complete {
			return dst, false
		}
	}
	dst, r := dissectors.Next(dst)
	r.Protocol = dissectors.ProtoMQTT
	r.SetString(&r.RequestType, packetNames[typ])
	switch typ {
	case typeConnect:
		// CONNECT and CONNACK, PINGREQ and PINGRESP have no packet id;
		// they use key 0, which no packet id takes, so that they never
		// pair with a waiting PUBLISH or SUBSCRIBE.
		r.Kind, r.HasKey = dissectors.Request, true
		connect(r, body)
	case typeConnack:
		r.Kind, r.HasKey = dissectors.Response, true
		setReason(r, body[1], true)
	case typePingreq:
		r.Kind, r.HasKey = dissectors.Request, true
	case typePingresp:
		r.Kind, r.HasKey = dissectors.Response, true
	case typePublish:
		topic, rest, _, _ := str(body)
		r.Set(&r.RequestDomain, topic)
		r.Set(&r.RequestResource, topic)
		r.Kind = dissectors.Session // QoS 0: no answer
		if flags&0x06 != 0 && len(rest) >= 2 {
			r.Kind = dissectors.Request
			r.HasKey, r.Key = true, uint64(binary.BigEndian.Uint16(rest))
		}
	case typePubrel:
		// QoS 2's second exchange: PUBREL waits for PUBCOMP as PUBLISH
		// waits for PUBREC.
		r.Kind = dissectors.Request
		r.HasKey, r.Key = true, uint64(key)
	case typePuback, typePubrec, typePubcomp:
		r.Kind = dissectors.Response
		r.HasKey, r.Key = true, uint64(key)
		if len(body) >= 3 { // MQTT 5 reason code; absent means success
			setReason(r, body[2], false)
		}
	case typeSubscribe, typeUnsubscribe:
		r.Kind = dissectors.Request
		r.HasKey, r.Key = true, uint64(key)
		filters(r, body[2:], typ == typeSubscribe, complete)
	case typeSuback, typeUnsuback:
		r.Kind = dissectors.Response
		r.HasKey, r.Key = true, uint64(key)
		ackCodes(r, body[2:], typ == typeSuback)
	case typeDisconnect, typeAuth:
		r.Kind = dissectors.Session
		if len(body) >= 1 { // MQTT 5 reason code
			setReason(r, body[0], false)
		}
	}
	return dst, true
}

// connect fills version and request_domain (the client id) from a CONNECT
// (MQTT 5 §3.1.2): protocol name, level, flags, keep alive, MQTT 5
// properties, then the payload's client identifier.
func connect(r *dissectors.Record, body []byte) {
	_, rest, _, _ := str(body)
	level := rest[0]
	switch level {
	case 3:
		r.SetString(&r.Version, "3.1")
	case 4:
		r.SetString(&r.Version, "3.1.1")
	case 5:
		r.SetString(&r.Version, "5")
	}
	rest = rest[4:]
	if level == 5 {
		n, hl, st := varint(rest)
		if st != hdrOK || hl+n > len(rest) {
			return
		}
		rest = rest[hl+n:]
	}
	if id, _, ok, _ := str(rest); ok && textOK(id) {
		r.Set(&r.RequestDomain, id)
	}
}

// filters sets request_domain to the first topic filter of a SUBSCRIBE or
// UNSUBSCRIBE and request_resource to all of them, comma-separated. The
// packet does not say its version: the MQTT 3 layout (filters right after
// the packet id) is tried first, then MQTT 5's (a property block first).
func filters(r *dissectors.Record, b []byte, options, complete bool) {
	if !filtersOK(b, options, false, complete) {
		n, hl, st := varint(b)
		if st != hdrOK || hl+n > len(b) || !filtersOK(b[hl+n:], options, true, complete) {
			return
		}
		b = b[hl+n:]
	}
	for i := 0; len(b) > 0; i++ {
		f, rest, ok, _ := str(b)
		if !ok {
			return
		}
		if i == 0 {
			r.Set(&r.RequestDomain, f)
			r.Set(&r.RequestResource, f)
		} else {
			r.Append(&r.RequestResource, comma)
			r.Append(&r.RequestResource, f)
		}
		if options && len(rest) > 0 {
			rest = rest[1:]
		}
		b = rest
	}
}

// filtersOK reports whether b is a list of non-empty topic filters, each
// followed by a subscription options byte when options is set (MQTT 3:
// QoS 0–2 only; MQTT 5: reserved bits 6–7 clear, QoS and retain handling
// 0–2). A list cut by the segment end (complete false) is judged on what
// is there.
func filtersOK(b []byte, options, v5, complete bool) bool {
	if len(b) == 0 {
		return false
	}
	for len(b) > 0 {
		f, rest, ok, full := str(b)
		if !ok || len(f) == 0 || !textOK(f) {
			return false
		}
		if !full {
			return !complete
		}
		if options {
			if len(rest) == 0 {
				return !complete
			}
			o := rest[0]
			if (!v5 && o > 2) || (v5 && (o&0xc0 != 0 || o&0x03 == 3 || o&0x30 == 0x30)) {
				return false
			}
			rest = rest[1:]
		}
		b = rest
	}
	return true
}

// ackCodes reads the reason codes of a SUBACK (one per filter: MQTT 3's
// granted QoS 0–2 or 0x80 failure; MQTT 5's reason codes after a property
// block) or an MQTT 5 UNSUBACK (an MQTT 3 UNSUBACK has none). The code
// reported is the first failure (≥ 0x80), else the first code.
func ackCodes(r *dissectors.Record, b []byte, suback bool) {
	v3 := suback && len(b) > 0
	for _, c := range b {
		if c > 2 && c != 0x80 {
			v3 = false
		}
	}
	if !v3 {
		n, hl, st := varint(b)
		if st != hdrOK || hl+n > len(b) {
			return
		}
		b = b[hl+n:]
	}
	if len(b) == 0 {
		return
	}
	code := b[0]
	for _, c := range b {
		if c >= 0x80 {
			code = c
			break
		}
	}
	setReason(r, code, false)
}

// setReason sets response_code and, for a failure, the status and the
// reason's name as response_exception. connack selects MQTT 3's CONNACK
// return codes 1–5, which MQTT 5 numbers from 0x80 instead.
func setReason(r *dissectors.Record, code byte, connack bool) {
	r.HasCode, r.Code = true, int32(code)
	var name string
	r.Status, name = reason(code, connack)
	if r.Status != dissectors.StatusOK {
		r.SetString(&r.Exception, name)
	}
}

// reason maps a CONNACK return code (MQTT 3.1.1 §3.2.2.3) or an MQTT 5
// reason code (§2.4) to response_status and its name. Codes below 0x80 are
// success (including MQTT 5's 0x10 "no matching subscribers" and 0x11 "no
// subscription existed"). Failures caused by what the client sent or is
// (bad credentials, not authorized, identifier rejected, malformed or
// invalid packets, quotas it exceeded) are client errors; failures of the
// server (unavailable, busy, unspecified or implementation-specific errors,
// unsupported features, MQTT 3's SUBACK 0x80 "failure") are server errors.
func reason(code byte, connack bool) (dissectors.Status, string) {
	if connack && code >= 1 && code <= 5 {
		switch code {
		case 1:
			return dissectors.StatusClientError, "unacceptable protocol version"
		case 2:
			return dissectors.StatusClientError, "identifier rejected"
		case 3:
			return dissectors.StatusServerError, "server unavailable"
		case 4:
			return dissectors.StatusClientError, "bad user name or password"
		default:
			return dissectors.StatusClientError, "not authorized"
		}
	}
	if code < 0x80 {
		return dissectors.StatusOK, ""
	}
	rc := reasons[code-0x80]
	if rc.name == "" {
		return dissectors.StatusServerError, "unspecified error"
	}
	return rc.status, rc.name
}

type reasonCode struct {
	status dissectors.Status
	name   string
}

const (
	cli = dissectors.StatusClientError
	srv = dissectors.StatusServerError
)

// reasons lists MQTT 5's failure reason codes from 0x80.
var reasons = [0x80]reasonCode{
	0x00: {srv, "unspecified error"}, 0x01: {cli, "malformed packet"}, 0x02: {cli, "protocol error"},
	0x03: {srv, "implementation specific error"}, 0x04: {cli, "unsupported protocol version"},
	0x05: {cli, "client identifier not valid"}, 0x06: {cli, "bad user name or password"},
	0x07: {cli, "not authorized"}, 0x08: {srv, "server unavailable"}, 0x09: {srv, "server busy"},
	0x0a: {cli, "banned"}, 0x0b: {srv, "server shutting down"}, 0x0c: {cli, "bad authentication method"},
	0x0d: {cli, "keep alive timeout"}, 0x0e: {cli, "session taken over"}, 0x0f: {cli, "topic filter invalid"},
	0x10: {cli, "topic name invalid"}, 0x11: {cli, "packet identifier in use"},
	0x12: {cli, "packet identifier not found"}, 0x13: {cli, "receive maximum exceeded"},
	0x14: {cli, "topic alias invalid"}, 0x15: {cli, "packet too large"}, 0x16: {cli, "message rate too high"},
	0x17: {srv, "quota exceeded"}, 0x18: {srv, "administrative action"}, 0x19: {cli, "payload format invalid"},
	0x1a: {srv, "retain not supported"}, 0x1b: {srv, "QoS not supported"}, 0x1c: {srv, "use another server"},
	0x1d: {srv, "server moved"}, 0x1e: {srv, "shared subscriptions not supported"},
	0x1f: {cli, "connection rate exceeded"}, 0x20: {srv, "maximum connect time"},
	0x21: {srv, "subscription identifiers not supported"}, 0x22: {srv, "wildcard subscriptions not supported"},
}
