package mongodb

import (
	"encoding/binary"

	"github.com/tapflow/tapflow/dissectors"
)

// Standard message header
// (https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/),
// little-endian:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           messageLength (whole message, header included)      |
//	+---------------------------------------------------------------+
//	|                          requestID                            |
//	+---------------------------------------------------------------+
//	|               responseTo (requestID answered; 0)              |
//	+---------------------------------------------------------------+
//	|                            opCode                             |
//	+---------------------------------------------------------------+
const (
	headerLen = 16
	// maxMessageLen bounds messageLength: mongod's maxMessageSizeBytes is
	// 48000000; OP_COMPRESSED and headroom bring it to 64 MiB.
	maxMessageLen = 64 << 20
	protoTCP      = 6
)

// Opcodes.
const (
	opReply       = 1
	opUpdate      = 2001
	opInsert      = 2002
	opQuery       = 2004
	opGetMore     = 2005
	opDelete      = 2006
	opKillCursors = 2007
	opCompressed  = 2012
	opMsg         = 2013
)

// OP_MSG flagBits.
const (
	msgChecksumPresent = 1 << 0
	msgMoreToCome      = 1 << 1
	msgExhaustAllowed  = 1 << 16
)

// opName returns the opcode's name, "" for an opcode not parsed.
func opName(op int32) string {
	switch op {
	case opReply:
		return "OP_REPLY"
	case opUpdate:
		return "OP_UPDATE"
	case opInsert:
		return "OP_INSERT"
	case opQuery:
		return "OP_QUERY"
	case opGetMore:
		return "OP_GET_MORE"
	case opDelete:
		return "OP_DELETE"
	case opKillCursors:
		return "OP_KILL_CURSORS"
	case opCompressed:
		return "OP_COMPRESSED"
	case opMsg:
		return "OP_MSG"
	}
	return ""
}

// header is a message header read from a segment.
type header struct {
	length     int32
	requestID  int32
	responseTo int32
	opCode     int32
}

func readHeader(p []byte) header {
	return header{
		length:     int32(binary.LittleEndian.Uint32(p)),
		requestID:  int32(binary.LittleEndian.Uint32(p[4:])),
		responseTo: int32(binary.LittleEndian.Uint32(p[8:])),
		opCode:     int32(binary.LittleEndian.Uint32(p[12:])),
	}
}

// Dissector parses MongoDB wire protocol messages. It is stateless.
type Dissector struct{}

// New returns a MongoDB dissector.
func New() *Dissector { return &Dissector{} }

// Transports implements the engine's transport filter: Check accepts TCP payloads only.
func (*Dissector) Transports() dissectors.Transport { return dissectors.TCP }

// Protocol returns dissectors.ProtoMongoDB.
func (*Dissector) Protocol() dissectors.Protocol { return dissectors.ProtoMongoDB }

// verdict says what the first bytes of a segment are.
type verdict uint8

const (
	notMessage verdict = iota // not a message start (a continuation, or not MongoDB)
	isMessage
	shortMessage // fewer bytes than a header
)

// startsMessage validates the message at the start of p for the direction:
// header bounds, an opcode that direction sends (requests: OP_MSG,
// OP_QUERY, OP_GET_MORE, the legacy writes, OP_KILL_CURSORS,
// OP_COMPRESSED, all with responseTo 0 or -1; responses: OP_REPLY, OP_MSG,
// OP_COMPRESSED), and the opcode's fixed fields (see validBody).
func startsMessage(p []byte, toServer bool) (header, verdict) {
	if len(p) < headerLen {
		return header{}, shortMessage
	}
	h := readHeader(p)
	if h.length < headerLen+4 || h.length > maxMessageLen {
		return h, notMessage
	}
	switch h.opCode {
	case opMsg, opCompressed:
	case opReply:
		if toServer {
			return h, notMessage
		}
	case opQuery, opGetMore, opInsert, opUpdate, opDelete, opKillCursors:
		if !toServer {
			return h, notMessage
		}
	default:
		return h, notMessage
	}
	// A request answers nothing: responseTo is 0, or -1 as some older
	// clients send it (nDPI's mongodb.pcap has such an OP_QUERY).
	if toServer && h.responseTo != 0 && h.responseTo != -1 {
		return h, notMessage
	}
	body := p[headerLen:min(len(p), int(h.length))]
	if !validBody(h.opCode, body, int(h.length)-headerLen) {
		return h, notMessage
	}
	return h, isMessage
}

// Check reports whether payload starts a MongoDB message (startsMessage)
// whose length covers the rest of the segment or is followed by another
// message start, over TCP. Ports are not consulted: mongod listens on any
// port.
func (*Dissector) Check(payload []byte, m *dissectors.Meta) bool {
	if m.Proto != protoTCP {
		return false
	}
	h, v := startsMessage(payload, m.ToServer)
	if v != isMessage {
		return false
	}
	next := int(h.length)
	if next >= len(payload) || len(payload)-next < headerLen {
		return true
	}
	_, v = startsMessage(payload[next:], m.ToServer)
	return v == isMessage
}

// Parse appends a record per message that starts in payload. A segment that
// does not start with a message continues an earlier one (a large reply's
// documents) and yields nothing.
func (*Dissector) Parse(dst []dissectors.Record, payload []byte, m *dissectors.Meta) ([]dissectors.Record, error) {
	if m.Proto != protoTCP {
		return dst, nil // the wire protocol runs over TCP only
	}
	orig := len(dst)
	for off := 0; off < len(payload); {
		h, v := startsMessage(payload[off:], m.ToServer)
		switch v {
		case shortMessage:
			if off == 0 && uint32(len(payload)) < m.PayloadLen {
				return dst[:orig], dissectors.ErrShort // the capture cut the header
			}
			return dst, nil
		case notMessage:
			if off == 0 {
				return dst, nil
			}
			return dst[:orig], nil // what follows a message is none: neither was the first
		}
		end := min(len(payload), off+int(h.length))
		var r *dissectors.Record
		dst, r = dissectors.Next(dst)
		fill(r, &h, payload[off+headerLen:end], m.ToServer)
		off += int(h.length)
	}
	return dst, nil
}

// fill sets r from header h and the message body at hand.
func fill(r *dissectors.Record, h *header, body []byte, toServer bool) {
	r.Protocol = dissectors.ProtoMongoDB
	r.HasKey = true
	r.Len = uint32(h.length)
	op := h.opCode
	r.SetString(&r.RequestType, opName(op))
	if op == opCompressed {
		// originalOpcode, uncompressedSize, compressorId, then the message
		// body; only the noop compressor (0) leaves it readable.
		if len(body) >= 9 && body[8] == 0 {
			op = int32(binary.LittleEndian.Uint32(body))
			body = body[9:]
		} else {
			op, body = 0, nil
		}
	}
	if !toServer {
		r.Kind = dissectors.Response
		r.Key = uint64(uint32(h.responseTo))
		r.Status = dissectors.StatusOK
		var doc []byte
		switch op {
		case opMsg:
			doc = msgBody(body)
		case opReply:
			doc = replyDoc(body)
		}
		if doc != nil {
			setOutcome(r, doc)
		}
		return
	}
	r.Kind = dissectors.Request
	r.Key = uint64(uint32(h.requestID))
	switch op {
	case opMsg:
		if len(body) >= 4 && binary.LittleEndian.Uint32(body)&msgMoreToCome != 0 {
			r.Kind = dissectors.Session // no reply follows (w:0 writes)
		}
		if doc := msgBody(body); doc != nil {
			renderDoc(r, doc)
		}
	case opQuery:
		if doc := queryDoc(body); doc != nil {
			renderDoc(r, doc)
		}
	case opGetMore:
		setCollection(r, body, 4)
	case opInsert, opUpdate, opDelete:
		// Legacy writes get no reply (their outcome came from a getLastError).
		r.Kind = dissectors.Session
		setCollection(r, body, 4)
	case opKillCursors:
		r.Kind = dissectors.Session
	}
}

func renderDoc(r *dissectors.Record, doc []byte) {
	r.Set(&r.RequestResource, nil)
	w := renderer{r: r, f: &r.RequestResource}
	w.doc(doc, false, 0)
}

// setCollection sets request_resource to the fullCollectionName cstring at
// body[at:] of a legacy opcode.
func setCollection(r *dissectors.Record, body []byte, at int) {
	if len(body) <= at {
		return
	}
	s := body[at:]
	for i, c := range s {
		if c == 0 {
			r.Set(&r.RequestResource, s[:i])
			return
		}
	}
}

// setOutcome sets the response code, status and exception from a reply
// document. Code is the reply's "code" (or its first write error's), 0 when
// it has none. Status: code 0 is OK unless "ok" is 0; a code in
// clientCodes is a client error; any other non-zero code, or ok:0 without
// a code, is a server error. A reply cut by the segment before any error
// field is taken as OK (error replies are small; large replies are
// successful result batches).
func setOutcome(r *dissectors.Record, doc []byte) {
	ri, ok := scanReply(doc)
	if !ok {
		return
	}
	r.HasCode = true
	r.Code = ri.code
	switch {
	case ri.code != 0 && clientCode(ri.code):
		r.Status = dissectors.StatusClientError
	case ri.code != 0, ri.okSeen && !ri.ok:
		r.Status = dissectors.StatusServerError
	}
	if ri.errmsg != nil && (ri.code != 0 || (ri.okSeen && !ri.ok)) {
		r.Set(&r.Exception, ri.errmsg)
	}
}

// clientCode reports whether a MongoDB error code
// (src/mongo/base/error_codes.yml) blames the request rather than the
// server: bad values and syntax, unknown commands, namespaces, fields or
// indexes, authentication and authorization, duplicate keys and document
// validation.
func clientCode(c int32) bool {
	switch c {
	case 2, // BadValue
		4,     // NoSuchKey
		9,     // FailedToParse
		11,    // UserNotFound
		13,    // Unauthorized
		14,    // TypeMismatch
		17,    // ProtocolError
		18,    // AuthenticationFailed
		20,    // IllegalOperation
		22,    // InvalidBSON
		26,    // NamespaceNotFound
		27,    // IndexNotFound
		28,    // PathNotViable
		29,    // NonExistentPath
		30,    // InvalidPath
		31,    // RoleNotFound
		33,    // PrivilegeNotFound
		40,    // ConflictingUpdateOperators
		43,    // CursorNotFound
		48,    // NamespaceExists
		52,    // DollarPrefixedFieldName
		53,    // InvalidIdField
		54,    // NotSingleValueField
		55,    // InvalidDBRef
		56,    // EmptyFieldName
		57,    // DottedFieldName
		59,    // CommandNotFound
		61,    // ShardKeyNotFound
		66,    // ImmutableField
		67,    // CannotCreateIndex
		68,    // IndexAlreadyExists
		72,    // InvalidOptions
		73,    // InvalidNamespace
		76,    // NoReplicationEnabled
		85,    // IndexOptionsConflict
		86,    // IndexKeySpecsConflict
		115,   // CommandNotSupported
		121,   // DocumentValidationFailure
		166,   // CommandNotSupportedOnView
		11000, // DuplicateKey
		11001: // duplicate key on update (legacy E11001)
		return true
	}
	return false
}
