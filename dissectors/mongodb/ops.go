package mongodb

import "encoding/binary"

// Opcode bodies (after the 16-byte header), little-endian:
//
//	OP_MSG          flagBits uint32, sections: kind 0 (body document) | kind 1
//	                (int32 size, cstring identifier, documents), [checksum uint32]
//	OP_REPLY        responseFlags int32, cursorID int64, startingFrom int32,
//	                numberReturned int32, documents
//	OP_QUERY        flags int32, fullCollectionName cstring, numberToSkip int32,
//	                numberToReturn int32, query document, [returnFieldsSelector]
//	OP_GET_MORE     ZERO int32, fullCollectionName cstring, numberToReturn int32, cursorID int64
//	OP_INSERT       flags int32, fullCollectionName cstring, documents
//	OP_UPDATE       ZERO int32, fullCollectionName cstring, flags int32, selector, update
//	OP_DELETE       ZERO int32, fullCollectionName cstring, flags int32, selector
//	OP_KILL_CURSORS ZERO int32, numberOfCursorIDs int32, cursorIDs int64*
//	OP_COMPRESSED   originalOpcode int32, uncompressedSize int32, compressorId uint8, compressedMessage

const maxNamespace = 512 // fullCollectionName bound (MongoDB allows 255)

// validBody checks an opcode's fixed fields in body (the bytes at hand,
// bodyLen the whole body's length): reserved bits and ZERO fields zero,
// counts non-negative, document lengths within the message, a namespace
// cstring with a dot. The fields must be in the segment: a first segment
// that ends inside them is not taken as a message start.
func validBody(op int32, body []byte, bodyLen int) bool {
	switch op {
	case opMsg:
		if len(body) < 9 || bodyLen < 10 {
			return false
		}
		flags := binary.LittleEndian.Uint32(body)
		if flags&^uint32(msgChecksumPresent|msgMoreToCome|msgExhaustAllowed) != 0 {
			return false
		}
		rest := bodyLen - 5
		if flags&msgChecksumPresent != 0 {
			rest -= 4
		}
		switch body[4] {
		case 0:
			return validDoc(body[5:], rest)
		case 1:
			n := int(int32(binary.LittleEndian.Uint32(body[5:])))
			return n >= 4+1+minDocLen && n <= rest
		}
		return false
	case opReply:
		if len(body) < 20 || bodyLen < 20 {
			return false
		}
		flags := binary.LittleEndian.Uint32(body)
		from := int32(binary.LittleEndian.Uint32(body[12:]))
		n := int32(binary.LittleEndian.Uint32(body[16:]))
		if flags&^0xf != 0 || from < 0 || n < 0 || int(n) > (bodyLen-20)/minDocLen {
			return false
		}
		return n == 0 || validDoc(body[20:], bodyLen-20)
	case opQuery:
		if len(body) < 4 || binary.LittleEndian.Uint32(body)&^0xfe != 0 {
			return false
		}
		at, ok := namespace(body, 4)
		if !ok || len(body) < at+8 {
			return false
		}
		return validDoc(body[at+8:], bodyLen-at-8)
	case opGetMore:
		if len(body) < 4 || binary.LittleEndian.Uint32(body) != 0 {
			return false
		}
		at, ok := namespace(body, 4)
		return ok && bodyLen == at+12
	case opInsert:
		if len(body) < 4 || binary.LittleEndian.Uint32(body)&^1 != 0 {
			return false
		}
		at, ok := namespace(body, 4)
		return ok && validDoc(body[at:], bodyLen-at)
	case opUpdate, opDelete:
		if len(body) < 4 || binary.LittleEndian.Uint32(body) != 0 {
			return false
		}
		at, ok := namespace(body, 4)
		if !ok || len(body) < at+4 || binary.LittleEndian.Uint32(body[at:])&^3 != 0 {
			return false
		}
		return validDoc(body[at+4:], bodyLen-at-4)
	case opKillCursors:
		if len(body) < 8 || binary.LittleEndian.Uint32(body) != 0 {
			return false
		}
		n := int(int32(binary.LittleEndian.Uint32(body[4:])))
		return n > 0 && bodyLen == 8+8*n
	case opCompressed:
		if len(body) < 9 || bodyLen < 10 {
			return false
		}
		orig := int32(binary.LittleEndian.Uint32(body))
		size := int32(binary.LittleEndian.Uint32(body[4:]))
		return orig != opCompressed && opName(orig) != "" && size >= 0 && size <= maxMessageLen && body[8] <= 3
	}
	return false
}

// validDoc checks the start of a BSON document in b (the bytes at hand, at
// most room bytes left in the message): a length of 5..room, and when it is
// in the segment, a terminating NUL; a first element of a known type.
func validDoc(b []byte, room int) bool {
	if len(b) < 5 {
		return false
	}
	n := int(int32(binary.LittleEndian.Uint32(b)))
	if n < minDocLen || n > room {
		return false
	}
	if n <= len(b) && b[n-1] != 0 {
		return false
	}
	if b[4] == 0 {
		return n == minDocLen
	}
	return validType(b[4])
}

// namespace reads the fullCollectionName cstring at body[at:] and returns
// the offset after it. It must be "<db>.<collection>", printable, at most
// maxNamespace bytes and end within the segment.
func namespace(body []byte, at int) (int, bool) {
	dot := false
	for i := at; i < len(body) && i-at <= maxNamespace; i++ {
		c := body[i]
		switch {
		case c == 0:
			return i + 1, dot && i > at+2
		case c == '.':
			dot = dot || i > at
		case c < 0x20 || c == 0x7f:
			return 0, false
		}
	}
	return 0, false
}

// msgBody returns the bytes of an OP_MSG's kind-0 section document (from
// its length field), scanning past kind-1 sections; nil when it is not in
// the segment.
func msgBody(body []byte) []byte {
	off := 4
	for off < len(body) {
		switch body[off] {
		case 0:
			return body[off+1:]
		case 1:
			if len(body) < off+5 {
				return nil
			}
			n := int(int32(binary.LittleEndian.Uint32(body[off+1:])))
			if n < 5 {
				return nil
			}
			off += 1 + n
		default:
			return nil
		}
	}
	return nil
}

// replyDoc returns an OP_REPLY's first document, nil when it has none.
func replyDoc(body []byte) []byte {
	if len(body) < 20 || int32(binary.LittleEndian.Uint32(body[16:])) < 1 {
		return nil
	}
	return body[20:]
}

// queryDoc returns an OP_QUERY's query document.
func queryDoc(body []byte) []byte {
	at, ok := namespace(body, 4)
	if !ok || len(body) < at+8 {
		return nil
	}
	return body[at+8:]
}
