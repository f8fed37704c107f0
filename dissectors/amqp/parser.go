package amqp

import (
	"encoding/binary"

	"github.com/tapflow/tapflow/dissectors"
)

// Dissector parses AMQP 0-9-1 frames. It is stateless.
type Dissector struct{}

// New returns an AMQP 0-9-1 dissector.
func New() *Dissector { return &Dissector{} }

// Transports implements the engine's transport filter: Check accepts TCP payloads only.
func (*Dissector) Transports() dissectors.Transport { return dissectors.TCP }

// FirstByte implements the engine's first-byte filter: Check needs the
// "AMQP" header or a method frame (type 1).
func (*Dissector) FirstByte(b byte) bool { return b == protocolHeader[0] || b == frameMethod }

// Protocol returns dissectors.ProtoAMQP.
func (*Dissector) Protocol() dissectors.Protocol { return dissectors.ProtoAMQP }

// A connection starts with the client's protocol header, then both sides
// send frames (AMQP 0-9-1 §4.2.3):
//
//	0      1         3             7                  size+7     size+8
//	+------+---------+-------------+  +------------+  +-----------+
//	| type | channel |    size     |  |  payload   |  | frame-end |
//	+------+---------+-------------+  +------------+  +-----------+
//	 octet   short       long          size octets       0xCE
//
// type is 1 method, 2 content header, 3 content body, 8 heartbeat. A method
// payload starts with class-id (short) and method-id (short), then the
// method's arguments.

// protocolHeader is the client's first 8 bytes for AMQP 0-9-1.
const protocolHeader = "AMQP\x00\x00\x09\x01"

const (
	frameMethod    = 1
	frameHeader    = 2
	frameBody      = 3
	frameHeartbeat = 8
	frameEnd       = 0xce
	frameOverhead  = 8 // 7-byte header and the end octet
	// maxFrame bounds a frame's size; brokers negotiate frame-max, which
	// RabbitMQ caps at 128 KiB by default and a client may raise.
	maxFrame = 1 << 28
)

const version = "0-9-1"

func validType(t byte) bool {
	return t == frameMethod || t == frameHeader || t == frameBody || t == frameHeartbeat
}

// Check reports whether payload starts an AMQP 0-9-1 connection (the
// protocol header) or, for a capture that starts mid-connection, is a
// whole method frame of a known class and method with its frame-end octet.
func (*Dissector) Check(p []byte, m *dissectors.Meta) bool {
	if m.Proto != 6 {
		return false
	}
	if len(p) >= 8 && string(p[:8]) == protocolHeader {
		return true
	}
	if len(p) < frameOverhead+4 || p[0] != frameMethod {
		return false
	}
	size := int(binary.BigEndian.Uint32(p[3:7]))
	if size < 4 || size > len(p)-frameOverhead || p[7+size] != frameEnd {
		return false
	}
	_, ok := lookup(binary.BigEndian.Uint16(p[7:9]), binary.BigEndian.Uint16(p[9:11]))
	return ok
}

// Parse appends a record per method frame that starts in payload; content
// header, body and heartbeat frames yield none. A method frame whose rest
// is in later segments is reported from the part seen; a payload that does
// not start with a frame header continues an earlier frame and yields
// nothing.
func (*Dissector) Parse(dst []dissectors.Record, p []byte, m *dissectors.Meta) ([]dissectors.Record, error) {
	orig := len(dst)
	off := 0
	if len(p) >= 4 && string(p[:4]) == "AMQP" {
		off = 8 // the protocol header (sent again by a server refusing the version)
	}
	for off < len(p) {
		q := p[off:]
		if len(q) < 7 {
			if off == 0 && validType(q[0]) {
				return dst[:orig], dissectors.ErrShort
			}
			break // a frame header cut by the segment end, or a continuation
		}
		typ := q[0]
		ch := binary.BigEndian.Uint16(q[1:3])
		size := int(binary.BigEndian.Uint32(q[3:7]))
		if !validType(typ) || size > maxFrame || (size+frameOverhead <= len(q) && q[7+size] != frameEnd) {
			break // a later part of an earlier frame, or garbage
		}
		if typ == frameMethod {
			if size < 4 {
				if off == 0 {
					return dst[:orig], dissectors.ErrMalformed
				}
				break
			}
			if len(q) < 11 {
				if off == 0 {
					return dst[:orig], dissectors.ErrShort
				}
				break
			}
			meth, ok := lookup(binary.BigEndian.Uint16(q[7:9]), binary.BigEndian.Uint16(q[9:11]))
			if !ok {
				if off == 0 {
					return dst[:orig], dissectors.ErrMalformed
				}
				break
			}
			args := q[11:min(len(q), 7+size)]
			dst = appendMethod(dst, meth, ch, args, m.ToServer)
			dst[len(dst)-1].Len = uint32(size + frameOverhead)
		}
		off += size + frameOverhead
	}
	return dst, nil
}

// reader reads method arguments, clipped to what the segment holds: a read
// past the end sets bad and returns zero values.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) skip(n int) {
	if r.bad || n > len(r.b) {
		r.bad, r.b = true, nil
		return
	}
	r.b = r.b[n:]
}

func (r *reader) u8() byte {
	if r.bad || len(r.b) < 1 {
		r.bad = true
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) u16() uint16 {
	if r.bad || len(r.b) < 2 {
		r.bad = true
		return 0
	}
	v := binary.BigEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

// shortstr reads a short string (octet length + bytes).
func (r *reader) shortstr() []byte {
	n := int(r.u8())
	if r.bad || n > len(r.b) {
		r.bad = true
		return nil
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}

// set sets field f to s if the read went well.
func set(rec *dissectors.Record, f *dissectors.Text, s []byte, rd *reader) {
	if !rd.bad && len(s) > 0 {
		rec.Set(f, s)
	}
}

// appendMethod appends the record of one method frame on channel ch.
func appendMethod(dst []dissectors.Record, meth method, ch uint16, args []byte, toServer bool) []dissectors.Record {
	dst, r := dissectors.Next(dst)
	r.Protocol = dissectors.ProtoAMQP
	r.SetString(&r.Version, version)
	r.SetString(&r.RequestType, meth.name)
	// Synchronous methods are answered on their channel before the next
	// one is sent there, so the channel correlates a request and its -Ok.
	r.HasKey, r.Key = true, uint64(ch)
	rd := reader{b: args}
	noWait := false
	bits := func() {
		if meth.noWait >= 0 {
			b := rd.u8()
			noWait = !rd.bad && b&(1<<meth.noWait) != 0
		}
	}
	switch meth.args {
	case argsOpenVhost:
		set(r, &r.RequestDomain, rd.shortstr(), &rd)
	case argsClose:
		code := rd.u16()
		if rd.bad {
			break
		}
		text := rd.shortstr() // nil when cut by the segment end
		r.HasCode, r.Code = true, int32(code)
		if code >= 400 {
			if code < 500 {
				r.Status = dissectors.StatusClientError
			} else {
				r.Status = dissectors.StatusServerError
			}
			if len(text) > 0 {
				r.Set(&r.Exception, text)
			}
		}
	case argsExchange, argsQueue:
		rd.skip(2) // reserved-1 (ticket)
		set(r, &r.RequestDomain, rd.shortstr(), &rd)
		for range meth.skip {
			rd.shortstr()
		}
		bits()
	case argsQueueBind, argsExchangeBind:
		rd.skip(2)
		set(r, &r.RequestDomain, rd.shortstr(), &rd) // queue, or destination exchange
		rd.shortstr()                                // exchange, or source exchange
		set(r, &r.RequestResource, rd.shortstr(), &rd)
		bits()
	case argsPublish:
		rd.skip(2)
		set(r, &r.RequestDomain, rd.shortstr(), &rd)
		set(r, &r.RequestResource, rd.shortstr(), &rd)
	case argsDeliver, argsGetOk:
		if meth.args == argsDeliver {
			rd.shortstr() // consumer-tag
		}
		rd.skip(9) // delivery-tag, redelivered
		set(r, &r.RequestDomain, rd.shortstr(), &rd)
		set(r, &r.RequestResource, rd.shortstr(), &rd)
	case argsReturn:
		code := rd.u16()
		text := rd.shortstr()
		if !rd.bad {
			r.HasCode, r.Code = true, int32(code)
			set(r, &r.Exception, text, &rd)
		}
		set(r, &r.RequestDomain, rd.shortstr(), &rd)
		set(r, &r.RequestResource, rd.shortstr(), &rd)
	case argsQueueDeclareOk:
		set(r, &r.RequestDomain, rd.shortstr(), &rd)
	case argsConsumerTagNoWait:
		rd.shortstr()
		bits()
	case argsNoWaitOnly:
		bits()
	}
	r.Kind = kind(meth.role, r.Code, noWait, toServer)
	return dst
}

// kind gives the pairing role of a method: a synchronous request waits for
// its -Ok (unless it was sent with no-wait, when no -Ok comes: a Session);
// asynchronous methods are Sessions. Close is a request when the client
// sends it; from the server, with a reply code of 400 or more, it is the
// error answer to the client's pending request on that channel (AMQP
// reports a failed Queue.Declare, Basic.Consume… by closing the channel),
// and otherwise a Session. CloseOk answers the client's Close; from the
// client it acknowledges the server's Close and is a Session.
func kind(ro role, code int32, noWait, toServer bool) dissectors.Kind {
	switch ro {
	case roleRequest:
		if noWait {
			return dissectors.Session
		}
		return dissectors.Request
	case roleResponse:
		return dissectors.Response
	case roleClose:
		switch {
		case toServer:
			return dissectors.Request
		case code >= 400:
			return dissectors.Response
		}
	case roleCloseOk:
		if !toServer {
			return dissectors.Response
		}
	}
	return dissectors.Session
}
