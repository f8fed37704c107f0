package kafka

import (
	"encoding/binary"
	"strconv"

	"github.com/tapflow/tapflow/dissectors"
)

// Request header (https://kafka.apache.org/protocol#protocol_messages),
// all integers big-endian:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                      size (bytes that follow)                 |
//	+-------------------------------+-------------------------------+
//	|           api_key             |          api_version          |
//	+-------------------------------+-------------------------------+
//	|                        correlation_id                         |
//	+-------------------------------+-------------------------------+
//	|   client_id length (-1 null)  |  client_id bytes ...          |
//	+-------------------------------+-------------------------------+
//	| header v2 (flexible versions): TAGGED_FIELDS, then the body   |
//
// Response header: size, correlation_id, and for flexible versions (except
// ApiVersions) TAGGED_FIELDS; then the body.
const (
	reqHeaderLen  = 14        // size, api_key, api_version, correlation_id, client_id length
	respHeaderLen = 8         // size, correlation_id
	minReqSize    = 10        // a request's size covers at least api_key … client_id length
	minRespSize   = 6         // correlation_id and at least an error_code (Heartbeat v0)
	maxReqSize    = 100 << 20 // socket.request.max.bytes' default, 104857600
	// maxRespSize bounds a response's size. Fetch responses are the
	// largest (fetch.max.bytes, 50 MiB by default); 128 MiB leaves
	// headroom and keeps a random 4 bytes from passing for a size.
	maxRespSize   = 128 << 20
	maxAPIVersion = 20
	maxClientID   = 1024
	protoTCP      = 6
)

// Dissector parses Kafka requests and responses. It is stateless.
type Dissector struct{}

// New returns a Kafka dissector.
func New() *Dissector { return &Dissector{} }

// Transports implements the engine's transport filter: Check accepts TCP payloads only.
func (*Dissector) Transports() dissectors.Transport { return dissectors.TCP }

// Protocol returns dissectors.ProtoKafka.
func (*Dissector) Protocol() dissectors.Protocol { return dissectors.ProtoKafka }

// reqHeader is a request header read from the start of a segment.
type reqHeader struct {
	size       int32
	apiKey     int16
	apiVersion int16
	corr       int32
	end        int  // offset after client_id (before the v2 header's tagged fields)
	named      bool // client_id is neither null nor empty
}

// headerVerdict says what the first bytes of a segment are.
type headerVerdict uint8

const (
	notHeader   headerVerdict = iota // not the start of a message (a continuation)
	isHeader                         // a plausible header
	shortHeader                      // too few bytes to tell
	badHeader                        // api_key, version and size fit but client_id does not
)

// readReqHeader validates the request header at the start of p: size
// within bounds, a known api_key, api_version ≤ 20, a non-negative
// correlation_id and a client_id of sane length without control bytes.
func readReqHeader(p []byte) (h reqHeader, v headerVerdict) {
	if len(p) < reqHeaderLen {
		return h, shortHeader
	}
	h.size = int32(binary.BigEndian.Uint32(p))
	h.apiKey = int16(binary.BigEndian.Uint16(p[4:]))
	h.apiVersion = int16(binary.BigEndian.Uint16(p[6:]))
	h.corr = int32(binary.BigEndian.Uint32(p[8:]))
	if h.size < minReqSize || h.size > maxReqSize || apiName(h.apiKey) == "" ||
		h.apiVersion < 0 || h.apiVersion > maxAPIVersion || h.corr < 0 {
		return h, notHeader
	}
	n := int(int16(binary.BigEndian.Uint16(p[12:])))
	h.end = reqHeaderLen
	if n == -1 {
		return h, isHeader
	}
	if n < 0 || n > maxClientID || n > int(h.size)-minReqSize {
		return h, badHeader
	}
	id := p[reqHeaderLen:min(len(p), reqHeaderLen+n)]
	for _, c := range id {
		if c < 0x20 || c == 0x7f {
			return h, badHeader
		}
	}
	h.end += n
	h.named = n > 0
	return h, isHeader
}

// readRespHeader reads the response header at the start of p: size within
// bounds, a non-negative correlation_id, and a first body byte of 0x00 or
// 0xff. That last test is what keeps the record bytes continuing a large
// Fetch response from passing for a header: a response body starts with a
// tagged-field count (0 in practice), a throttle_time_ms, an error_code or
// an array length, whose first byte is 0x00, or 0xff for -1 (null array,
// UNKNOWN_SERVER_ERROR).
func readRespHeader(p []byte) (size, corr int32, v headerVerdict) {
	if len(p) < respHeaderLen {
		return 0, 0, shortHeader
	}
	size = int32(binary.BigEndian.Uint32(p))
	corr = int32(binary.BigEndian.Uint32(p[4:]))
	if size < minRespSize || size > maxRespSize || corr < 0 {
		return 0, 0, notHeader
	}
	if len(p) > respHeaderLen && p[respHeaderLen] != 0x00 && p[respHeaderLen] != 0xff {
		return 0, 0, notHeader
	}
	return size, corr, isHeader
}

// Check reports whether payload starts a Kafka message, over TCP. From the
// client it must be a plausible request header (see readReqHeader) whose
// size covers the rest of the segment or is followed by another plausible
// header, with a non-empty client_id (every client library sends one by
// default; zeros there are what other binary protocols' headers look
// like), and a Produce or Fetch body must parse up to its first
// topic-partition. From the server the header says too little (a size and
// a correlation id), so the body must also have one of the shapes in
// response.go: an ApiVersions, Produce or Fetch response. Ports are not
// consulted: brokers listen on any port.
func (*Dissector) Check(payload []byte, m *dissectors.Meta) bool {
	if m.Proto != protoTCP {
		return false
	}
	if m.ToServer {
		h, v := readReqHeader(payload)
		if v != isHeader || !h.named {
			return false
		}
		if h.apiKey == keyProduce || h.apiKey == keyFetch {
			// These bodies are read anyway: their structure must hold.
			body := payload[min(h.end, len(payload)):min(len(payload), int(h.size)+4)]
			var t target
			if h.apiKey == keyProduce {
				t = produceTarget(body, h.apiVersion)
			} else {
				t = fetchTarget(body, h.apiVersion)
			}
			if !t.parsed {
				return false
			}
		}
		next := int(h.size) + 4
		if next >= len(payload) || len(payload)-next < reqHeaderLen {
			return true
		}
		_, v = readReqHeader(payload[next:])
		return v == isHeader
	}
	size, _, v := readRespHeader(payload)
	if v != isHeader {
		return false
	}
	body := payload[respHeaderLen:min(len(payload), int(size)+4)]
	var res respInfo
	return classify(body, int(size)-4, &res)
}

// Parse appends a record per message that starts in payload: requests from
// the client, responses from the server. Messages are framed by their size
// field, so pipelined requests and responses in one segment each give a
// record. A segment that does not start with a plausible header continues
// an earlier message (the record data of a large Produce or Fetch) and
// yields nothing.
func (*Dissector) Parse(dst []dissectors.Record, payload []byte, m *dissectors.Meta) ([]dissectors.Record, error) {
	if m.Proto != protoTCP {
		return dst, nil // Kafka runs over TCP only
	}
	if m.ToServer {
		return parseRequests(dst, payload, m)
	}
	return parseResponses(dst, payload, m)
}

func parseRequests(dst []dissectors.Record, payload []byte, m *dissectors.Meta) ([]dissectors.Record, error) {
	orig := len(dst)
	for off := 0; off < len(payload); {
		h, v := readReqHeader(payload[off:])
		switch v {
		case shortHeader:
			if off == 0 && uint32(len(payload)) < m.PayloadLen {
				return dst[:orig], dissectors.ErrShort // the capture cut the header
			}
			return dst, nil // a header split across segments: nothing to tell
		case notHeader:
			if off == 0 {
				return dst, nil // a continuation
			}
			return dst[:orig], nil // garbage after a message: it was no header either
		case badHeader:
			return dst[:orig], dissectors.ErrMalformed
		}
		end := min(len(payload), off+int(h.size)+4)
		var r *dissectors.Record
		dst, r = dissectors.Next(dst)
		fillRequest(r, &h, payload[off:end])
		off += int(h.size) + 4
	}
	return dst, nil
}

// fillRequest sets r from the request header h and the message's bytes in
// this segment (msg starts at the size field).
func fillRequest(r *dissectors.Record, h *reqHeader, msg []byte) {
	r.Protocol = dissectors.ProtoKafka
	r.Kind = dissectors.Request
	r.HasKey = true
	r.Key = uint64(uint32(h.corr))
	r.Len = uint32(h.size) + 4
	var num [24]byte
	r.Set(&r.Version, strconv.AppendInt(num[:0], int64(h.apiVersion), 10))
	r.SetString(&r.RequestType, apiName(h.apiKey))
	var t target
	body := msg[min(h.end, len(msg)):] // client_id may run past the segment
	switch h.apiKey {
	case keyProduce:
		t = produceTarget(body, h.apiVersion)
		if t.noResponse {
			// acks=0: the broker sends no response, so the request stands alone.
			r.Kind = dissectors.Session
		}
	case keyFetch:
		t = fetchTarget(body, h.apiVersion)
	default:
		return
	}
	if t.topic == nil {
		return
	}
	r.Set(&r.RequestDomain, t.topic)
	r.Set(&r.Endpoint, t.topic)
	b := append(num[:0], '-')
	b = strconv.AppendInt(b, int64(t.partition), 10)
	r.Append(&r.Endpoint, b)
	if h.apiKey == keyFetch {
		r.Set(&r.RequestResource, t.topic)
		r.Append(&r.RequestResource, b)
		b = append(num[:0], ':')
		b = strconv.AppendInt(b, t.offset, 10)
		r.Append(&r.RequestResource, b)
	}
}

// target is the first topic-partition a Produce or Fetch request names.
type target struct {
	topic      []byte // nil: none, or named by topic id (v13+)
	partition  int32
	offset     int64 // Fetch's fetch_offset
	noResponse bool  // Produce with acks=0
	parsed     bool  // the body parsed up to here: no topics, or a legal first topic-partition
}

// produceTarget reads a Produce request body (after the header's
// client_id) up to its first partition's index:
//
//	v0-2:  acks INT16, timeout_ms INT32, topic_data [name STRING, partition_data [index INT32, records BYTES]]
//	v3-8:  transactional_id NULLABLE_STRING first
//	v9+:   flexible: header TAGGED_FIELDS, compact strings and arrays, per-level TAGGED_FIELDS
//	v13+:  topic_id UUID instead of name
func produceTarget(body []byte, ver int16) (t target) {
	flex := ver >= 9
	r := reader{b: body}
	if flex {
		r.skipTags()
	}
	if ver >= 3 {
		r.str(flex) // transactional_id
	}
	acks := r.i16()
	r.i32() // timeout_ms
	if r.failed() {
		return t
	}
	t.noResponse = acks == 0
	return firstPartition(&r, t, ver >= 13, flex, -1)
}

// fetchTarget reads a Fetch request body up to its first partition's
// fetch_offset:
//
//	replica_id INT32 (v0-14), max_wait_ms INT32, min_bytes INT32,
//	max_bytes INT32 (v3+), isolation_level INT8 (v4+),
//	session_id INT32, session_epoch INT32 (v7+),
//	topics [topic STRING (v0-12) | topic_id UUID (v13+),
//	        partitions [partition INT32, current_leader_epoch INT32 (v9+), fetch_offset INT64, …]]
//
// flexible (compact encodings, TAGGED_FIELDS) from v12.
func fetchTarget(body []byte, ver int16) (t target) {
	flex := ver >= 12
	r := reader{b: body}
	if flex {
		r.skipTags()
	}
	if ver <= 14 {
		r.i32() // replica_id
	}
	r.i32() // max_wait_ms
	r.i32() // min_bytes
	if ver >= 3 {
		r.i32() // max_bytes
	}
	if ver >= 4 {
		r.i8() // isolation_level
	}
	if ver >= 7 {
		r.i32() // session_id
		r.i32() // session_epoch
	}
	if r.failed() {
		return t
	}
	return firstPartition(&r, t, ver >= 13, flex, ver)
}

// firstPartition reads a topics array's first topic and its first
// partition's index, and for a Fetch request (fetchVer ≥ 0) the fields up
// to fetch_offset. A topic named by id leaves t.topic nil.
func firstPartition(r *reader, t target, byID, flex bool, fetchVer int16) target {
	n := r.arrayLen(flex)
	if r.failed() || n < 0 {
		return t
	}
	if n == 0 {
		t.parsed = true // a Fetch of a session with nothing to change
		return t
	}
	var name []byte
	if byID {
		r.skip(16)
	} else {
		name, _ = r.str(flex)
		if r.failed() || !topicName(name) {
			return t
		}
	}
	if n := r.arrayLen(flex); n < 1 || r.failed() {
		return t
	}
	t.partition = r.i32()
	if fetchVer >= 9 {
		r.i32() // current_leader_epoch
	}
	if fetchVer >= 0 {
		t.offset = r.i64()
	}
	if r.failed() || t.partition < 0 {
		return t
	}
	t.topic, t.parsed = name, true
	return t
}

func parseResponses(dst []dissectors.Record, payload []byte, m *dissectors.Meta) ([]dissectors.Record, error) {
	orig := len(dst)
	for off := 0; off < len(payload); {
		size, corr, v := readRespHeader(payload[off:])
		switch v {
		case shortHeader:
			if off == 0 && uint32(len(payload)) < m.PayloadLen {
				return dst[:orig], dissectors.ErrShort
			}
			return dst, nil
		case notHeader:
			if off == 0 {
				return dst, nil
			}
			// What followed a complete message is no header: the first
			// "header" was likely record data continuing a Fetch response.
			return dst[:orig], nil
		}
		end := min(len(payload), off+int(size)+4)
		var r *dissectors.Record
		dst, r = dissectors.Next(dst)
		fillResponse(r, size, corr, payload[off+respHeaderLen:end])
		off += int(size) + 4
	}
	return dst, nil
}

// fillResponse sets r from a response header and the body bytes in this
// segment (after correlation_id; bodyLen is the whole body's length).
func fillResponse(r *dissectors.Record, size, corr int32, body []byte) {
	r.Protocol = dissectors.ProtoKafka
	r.Kind = dissectors.Response
	r.HasKey = true
	r.Key = uint64(uint32(corr))
	r.Len = uint32(size) + 4
	r.Status = dissectors.StatusOK
	var res respInfo
	if !classify(body, int(size)-4, &res) {
		return
	}
	r.HasCode = true
	r.Code = int32(res.code)
	if res.code != 0 {
		r.Status = dissectors.StatusServerError
	}
	if res.errMsg != nil {
		r.Set(&r.Exception, res.errMsg)
	}
	if res.topic != nil {
		var num [48]byte
		b := append(num[:0], '-')
		b = strconv.AppendInt(b, int64(res.partition), 10)
		b = append(b, ':')
		b = strconv.AppendInt(b, res.offset, 10)
		r.Set(&r.RequestResource, res.topic)
		r.Append(&r.RequestResource, b)
	}
}
