package kafka

// A response carries no api_key: the broker answers in the request's
// schema and the client knows which request a correlation_id belongs to.
// DeepFlow remembers each request to decode its response; a stateless
// per-packet parser cannot. So the body is matched against the layouts of
// the responses whose outcome matters most, each strict enough that
// another API's response does not pass for it:
//
//   - ApiVersions (all versions; its header never has tagged fields):
//     error_code, then the api_keys array whose entries (api_key,
//     min_version, max_version) must ascend by key with 0 ≤ min ≤ max ≤ 100,
//     at least the first three in the segment;
//     the classic form's size must be exactly that of the array (+ the
//     throttle_time_ms of v1+), the flexible form must end exactly after
//     throttle_time_ms and the tagged fields when the whole message is in
//     the segment.
//   - Produce v0, v1, v2-4, v5-7, v8 (classic) and v9-12, v13+ (flexible,
//     v13+ with topic ids): only when the whole message is in the segment
//     (Produce responses are small), parsed end to end in each layout; a
//     layout matches when it consumes exactly the message. Every topic name
//     must be legal, every partition index ≥ 0, error code in -1..200,
//     offsets ≥ -1. The code is the first non-zero partition error_code
//     (else 0), its error_message (v8+) the exception, and the first
//     partition gives request_resource "<topic>-<partition>:<base_offset>".
//   - Fetch v7-10, v11 (classic) and v12, v13+ (flexible, v13+ with topic
//     ids): throttle_time_ms ≥ 0, error_code, session_id ≥ 0, then either
//     no topics and the message ends exactly, or the first topic's first
//     partition parsed up to its records length with plausible values
//     (index ≥ 0, watermarks ≥ -1, aborted transactions ≥ -1, the records
//     within the message; with one topic of one partition in the classic
//     form the records must end the message exactly). This works on the
//     first segment of a large response. The code is the top-level
//     error_code, else the first partition's.
//
// Every other response (Metadata, OffsetCommit, JoinGroup…) keeps HasCode
// false and StatusOK: its error_code's position depends on the API and
// version it answers, which the response does not say.

const (
	maxItems = 100000 // bound on array lengths read from the wire
	maxAPIs  = 1000   // bound on ApiVersions entries
)

// respInfo is what a recognised response body gives.
type respInfo struct {
	code      int16
	errMsg    []byte // Produce v8+ error_message of the failing partition
	topic     []byte // Produce: first topic and partition, base_offset
	partition int32
	offset    int64
}

// classify matches body (the bytes after correlation_id in this segment,
// at most bodyLen) against the response layouts above.
func classify(body []byte, bodyLen int, res *respInfo) bool {
	if bodyLen < 12 { // the smallest: ApiVersions v0 with one entry
		return false
	}
	if apiVersionsShape(body, bodyLen, res) {
		return true
	}
	if len(body) == bodyLen {
		for _, v := range [...]int16{9, 8, 5, 2, 1, 0, 13} {
			if produceShape(body, v, res) {
				return true
			}
		}
	}
	for _, v := range [...]int16{12, 13, 11, 7} {
		if fetchShape(body, bodyLen, v, res) {
			return true
		}
	}
	return false
}

// apiVersionsShape matches an ApiVersions response:
//
//	v0-2: error_code INT16, api_keys [api_key INT16, min_version INT16, max_version INT16], throttle_time_ms INT32 (v1+)
//	v3+:  the same in compact form with TAGGED_FIELDS per entry and at the end
func apiVersionsShape(body []byte, bodyLen int, res *respInfo) bool {
	r := reader{b: body}
	code := r.i16()
	n := int(r.i32())
	if !r.failed() && errorCode(code) && n >= 1 && n <= maxAPIs &&
		(bodyLen == 6+6*n || bodyLen == 10+6*n) && apiEntries(&r, n, false) {
		*res = respInfo{code: code}
		return true
	}
	r = reader{b: body}
	code = r.i16()
	n = r.arrayLen(true)
	if r.failed() || !errorCode(code) || n < 1 || n > maxAPIs || 3+7*n > bodyLen || !apiEntries(&r, n, true) {
		return false
	}
	if len(body) == bodyLen {
		r.i32() // throttle_time_ms
		r.skipTags()
		if r.failed() || r.off != bodyLen {
			return false
		}
	}
	*res = respInfo{code: code}
	return true
}

// apiEntries checks the ApiVersions entries in the segment: keys ascending,
// 0 ≤ min_version ≤ max_version ≤ 100. The first three (or all, if fewer)
// must be there: one 6-byte entry is what many other binary records look
// like (an HTTP/2 SETTINGS frame passed for one).
func apiEntries(r *reader, n int, flex bool) bool {
	prev, seen := -1, 0
	for i := 0; i < n; i++ {
		k, lo, hi := r.i16(), r.i16(), r.i16()
		if r.short {
			break
		}
		if int(k) <= prev || lo < 0 || lo > hi || hi > 100 {
			return false
		}
		prev = int(k)
		seen++
		if flex {
			r.skipTags()
			if r.bad {
				return false
			}
		}
	}
	return seen >= min(n, 3)
}

// produceShape parses a whole Produce response body in the layout of
// version v (the first of its family):
//
//	[TAGGED_FIELDS (v9+ header)]
//	responses [name STRING | topic_id UUID (v13+),
//	           partition_responses [index INT32, error_code INT16, base_offset INT64,
//	                                log_append_time_ms INT64 (v2+), log_start_offset INT64 (v5+),
//	                                record_errors [batch_index INT32, batch_index_error_message NULLABLE_STRING] (v8+),
//	                                error_message NULLABLE_STRING (v8+)]]
//	throttle_time_ms INT32 (v1+)
//
// compact forms and TAGGED_FIELDS after each level from v9.
func produceShape(body []byte, v int16, res *respInfo) bool {
	flex := v >= 9
	r := reader{b: body}
	if flex {
		r.skipTags()
	}
	n := r.arrayLen(flex)
	if r.failed() || n < 1 || n > maxItems {
		return false
	}
	var out respInfo
	first := true
	for i := 0; i < n; i++ {
		var name []byte
		if v >= 13 {
			r.skip(16)
		} else {
			name, _ = r.str(flex)
			if !topicName(name) {
				return false
			}
		}
		pn := r.arrayLen(flex)
		if r.failed() || pn < 1 || pn > maxItems {
			return false
		}
		for j := 0; j < pn; j++ {
			idx, code, base := r.i32(), r.i16(), r.i64()
			if v >= 2 && r.i64() < -1 { // log_append_time_ms
				return false
			}
			if v >= 5 && r.i64() < -1 { // log_start_offset
				return false
			}
			var msg []byte
			if v >= 8 {
				en := r.arrayLen(flex)
				if en < 0 || en > maxItems {
					return false
				}
				for k := 0; k < en && !r.failed(); k++ {
					if r.i32() < 0 { // batch_index
						return false
					}
					r.str(flex)
					if flex {
						r.skipTags()
					}
				}
				msg, _ = r.str(flex)
			}
			if flex {
				r.skipTags()
			}
			if r.failed() || idx < 0 || !errorCode(code) || base < -1 {
				return false
			}
			if first {
				out.topic, out.partition, out.offset = name, idx, base
				first = false
			}
			if code != 0 && out.code == 0 {
				out.code, out.errMsg = code, msg
			}
		}
		if flex {
			r.skipTags()
		}
		if r.failed() {
			return false
		}
	}
	if v >= 1 && r.i32() < 0 { // throttle_time_ms
		return false
	}
	if flex {
		r.skipTags()
	}
	if r.failed() || r.off != len(body) {
		return false
	}
	*res = out
	return true
}

// fetchShape matches the start of a Fetch response in the layout of
// version v (7, 11, 12 or 13):
//
//	[TAGGED_FIELDS (v12+ header)]
//	throttle_time_ms INT32, error_code INT16, session_id INT32,
//	responses [topic STRING | topic_id UUID (v13+),
//	           partitions [partition_index INT32, error_code INT16, high_watermark INT64,
//	                       last_stable_offset INT64, log_start_offset INT64,
//	                       aborted_transactions [producer_id INT64, first_offset INT64] (nullable),
//	                       preferred_read_replica INT32 (v11+), records RECORDS, …]]
func fetchShape(body []byte, bodyLen int, v int16, res *respInfo) bool {
	flex := v >= 12
	r := reader{b: body}
	if flex {
		r.skipTags()
	}
	throttle, code, session := r.i32(), r.i16(), r.i32()
	n := r.arrayLen(flex)
	if r.failed() || throttle < 0 || !errorCode(code) || session < 0 || n < 0 || n > maxItems {
		return false
	}
	if n == 0 {
		if flex {
			r.skipTags()
		}
		if r.failed() || r.off != bodyLen {
			return false
		}
		*res = respInfo{code: code}
		return true
	}
	if v >= 13 {
		r.skip(16)
	} else if name, _ := r.str(flex); !topicName(name) {
		return false
	}
	pn := r.arrayLen(flex)
	if r.failed() || pn < 1 || pn > maxItems {
		return false
	}
	idx, perr, hw, lso, start := r.i32(), r.i16(), r.i64(), r.i64(), r.i64()
	an := r.arrayLen(flex)
	if r.failed() || idx < 0 || !errorCode(perr) || hw < -1 || lso < -1 || start < -1 || an < -1 || an > maxItems {
		return false
	}
	for k := 0; k < an && !r.failed(); k++ {
		r.i64() // producer_id
		r.i64() // first_offset
		if flex {
			r.skipTags()
		}
	}
	if v >= 11 && r.i32() < -1 { // preferred_read_replica
		return false
	}
	rl := max(r.bytesLen(flex), 0)
	if r.failed() {
		return false
	}
	end := r.off + rl
	switch {
	case flex && end+3 > bodyLen: // partition, topic and body TAGGED_FIELDS follow
		return false
	case !flex && end > bodyLen:
		return false
	case !flex && n == 1 && pn == 1 && end != bodyLen:
		return false
	}
	if code == 0 {
		code = perr
	}
	*res = respInfo{code: code}
	return true
}
