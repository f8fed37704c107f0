package clickhouse

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tapflow/tapflow/dissectors"
)

// l7Cols (l7.go) is the rowCodec of flow_log.l7_flow_log; this file holds
// its spool record and unfinished-batch check.

// Spool records of L7 logs vary in size (varRecordSize). Format 1, little
// endian:
//
//	u64 flow_id, i64 start_time µs, i64 end_time µs, u8 type, u32 rrt,
//	u32 req_len, u32 resp_len, u8 tap_type, u32 tap_port, u16 vlan, u8 proto,
//	client and server address (family byte 0/4/6 + 16 bytes), u16 client
//	port, u16 server port, u8 record kind, u8 l7 protocol, u8 flags (bit 0
//	has key, bit 1 has code), u64 key, i32 code, u8 status, u32 record len
//	then the 8 texts (version, request_type, request_domain,
//	request_resource, endpoint, exception, trace_id, span_id), each a u16
//	length and its bytes; dissectors.TextCap bytes at most in all.
const (
	l7SpoolMagic   = "TFSPL7R1"
	l7SpoolVersion = 1
	// l7SpoolFixedSize is the record's size before the texts.
	l7SpoolFixedSize = 8 + 8 + 8 + 1 + 4 + 4 + 4 + 1 + 4 + 2 + 1 + 17 + 17 + 2 + 2 +
		1 + 1 + 1 + 8 + 4 + 1 + 4
	// l7SpoolMinSize is a record with every text empty.
	l7SpoolMinSize = l7SpoolFixedSize + 2*l7NumTexts

	l7FlagHasKey  = 1 << 0
	l7FlagHasCode = 1 << 1
)

// Invalid L7 spool records (wrapped in ErrCorruptSegment).
var (
	errL7RecordSize = errors.New("l7 record: bad size")
	errL7Flags      = errors.New("l7 record: unknown flags")
	errL7Text       = errors.New("l7 record: texts overrun the record or the text buffer")
)

func (*l7Cols) magic() string   { return l7SpoolMagic }
func (*l7Cols) version() uint32 { return l7SpoolVersion }

func (*l7Cols) recordSize(v uint32) int {
	if v == l7SpoolVersion {
		return varRecordSize
	}
	return 0
}

func (*l7Cols) encode(b []byte, l *dissectors.Log) []byte {
	le := binary.LittleEndian
	b = le.AppendUint64(b, l.FlowID)
	b = le.AppendUint64(b, uint64(l.StartTime))
	b = le.AppendUint64(b, uint64(l.EndTime))
	b = append(b, uint8(l.Type))
	b = le.AppendUint32(b, l.RRT)
	b = le.AppendUint32(b, l.ReqLen)
	b = le.AppendUint32(b, l.RespLen)
	b = append(b, l.TapType)
	b = le.AppendUint32(b, l.TapPort)
	b = le.AppendUint16(b, l.VLAN)
	b = append(b, l.Proto)
	b = encAddr(b, l.ClientIP)
	b = encAddr(b, l.ServerIP)
	b = le.AppendUint16(b, l.ClientPort)
	b = le.AppendUint16(b, l.ServerPort)
	var flags uint8
	if l.HasKey {
		flags |= l7FlagHasKey
	}
	if l.HasCode {
		flags |= l7FlagHasCode
	}
	b = append(b, uint8(l.Kind), uint8(l.Protocol), flags)
	b = le.AppendUint64(b, l.Key)
	b = le.AppendUint32(b, uint32(l.Code))
	b = append(b, uint8(l.Status))
	b = le.AppendUint32(b, l.Len)
	for _, f := range l7Texts(l) {
		t := l.Bytes(f)
		b = le.AppendUint16(b, uint16(len(t)))
		b = append(b, t...)
	}
	return b
}

// decode reads one record. It checks every length, so that a record that
// decodes is exactly one that encode can write.
func (*l7Cols) decode(b []byte, _ uint32, l *dissectors.Log) error {
	if len(b) < l7SpoolMinSize {
		return errL7RecordSize
	}
	*l = dissectors.Log{}
	d := dec{b}
	l.FlowID = d.u64()
	l.StartTime = int64(d.u64())
	l.EndTime = int64(d.u64())
	l.Type = dissectors.LogType(d.u8())
	l.RRT, l.ReqLen, l.RespLen = d.u32(), d.u32(), d.u32()
	l.TapType = d.u8()
	l.TapPort = d.u32()
	l.VLAN = d.u16()
	l.Proto = d.u8()
	l.ClientIP = d.addr()
	l.ServerIP = d.addr()
	l.ClientPort = d.u16()
	l.ServerPort = d.u16()
	l.Kind = dissectors.Kind(d.u8())
	l.Protocol = dissectors.Protocol(d.u8())
	flags := d.u8()
	if flags&^(l7FlagHasKey|l7FlagHasCode) != 0 {
		return errL7Flags
	}
	l.HasKey, l.HasCode = flags&l7FlagHasKey != 0, flags&l7FlagHasCode != 0
	l.Key = d.u64()
	l.Code = int32(d.u32())
	l.Status = dissectors.Status(d.u8())
	l.Len = d.u32()
	total := 0
	for _, f := range l7TextFields(l) {
		if len(d.b) < 2 {
			return errL7Text
		}
		n := int(d.u16())
		total += n
		if n > len(d.b) || total > dissectors.TextCap {
			return errL7Text
		}
		l.Set(f, d.b[:n])
		d.b = d.b[n:]
	}
	if len(d.b) != 0 {
		return errL7RecordSize
	}
	return nil
}

// l7Identity is what tells two rows of one flow apart, as stored: every
// column the dissector and the pairing set. The columns left out (tap,
// addresses, ports, l7_protocol_str, the DateTime forms of the times)
// follow from flow_id, l7_protocol and the µs times.
type l7Identity struct {
	flowID, startUS, endUS uint64
	typ, l7Proto, status   uint8
	hasReqID, hasCode      bool
	reqID                  uint64
	code                   int32
	duration               uint64
	reqLen, respLen        uint32
	texts                  [l7NumTexts]string
}

func l7IdentityOf(l *dissectors.Log) l7Identity {
	k := l7Identity{flowID: l.FlowID, startUS: l7US(l.StartTime), endUS: l7US(l.EndTime),
		typ: uint8(l.Type), l7Proto: uint8(l.Protocol), status: uint8(l.Status),
		hasReqID: l.HasKey, hasCode: l.HasCode, duration: uint64(l.RRT), reqLen: l.ReqLen, respLen: l.RespLen}
	if l.HasKey {
		k.reqID = l.Key
	}
	if l.HasCode {
		k.code = l.Code
	}
	for i, f := range l7Texts(l) {
		k.texts[i] = l.String(f)
	}
	return k
}

// unwritten returns the logs of recs not found in the table. The rows of
// one batch are looked up by their time and flow_id range and matched as a
// multiset on l7Identity: pipelined requests of one flow can share
// flow_id, times, type and request_id (HTTP/1 and Redis have no request
// id), so the texts and codes are part of the match.
func (*l7Cols) unwritten(ctx context.Context, conn driver.Conn, table string, recs []dissectors.Log) ([]dissectors.Log, error) {
	minT, maxT := int64(1<<62), int64(-1)
	minID, maxID := ^uint64(0), uint64(0)
	for i := range recs {
		t := l7RowSec(&recs[i])
		minT, maxT = min(minT, t), max(maxT, t)
		minID, maxID = min(minID, recs[i].FlowID), max(maxID, recs[i].FlowID)
	}
	q := fmt.Sprintf("SELECT flow_id, start_time_us, end_time_us, type, l7_protocol, response_status, "+
		"request_id, response_code, response_duration, request_length, response_length, "+
		"version, request_type, request_domain, request_resource, endpoint, response_exception, trace_id, span_id "+
		"FROM %s WHERE time >= toDateTime(%d) AND time <= toDateTime(%d) AND flow_id >= %d AND flow_id <= %d",
		table, minT, maxT, minID, maxID)
	rows, err := conn.Query(ctx, q)
	if err != nil {
		return nil, asServerError(err)
	}
	defer rows.Close()
	have := map[l7Identity]int{}
	var (
		k     l7Identity
		reqID *uint64
		code  *int32
	)
	dest := []any{&k.flowID, &k.startUS, &k.endUS, &k.typ, &k.l7Proto, &k.status,
		&reqID, &code, &k.duration, &k.reqLen, &k.respLen}
	for i := range k.texts {
		dest = append(dest, &k.texts[i])
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		k.hasReqID, k.reqID = reqID != nil, 0
		if reqID != nil {
			k.reqID = *reqID
		}
		k.hasCode, k.code = code != nil, 0
		if code != nil {
			k.code = *code
		}
		have[k]++
	}
	if err := rows.Err(); err != nil {
		return nil, asServerError(err)
	}
	out := recs[:0]
	for i := range recs {
		k := l7IdentityOf(&recs[i])
		if have[k] > 0 {
			have[k]--
			continue
		}
		out = append(out, recs[i])
	}
	return out, nil
}
