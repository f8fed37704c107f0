package dissectors

import (
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/tapflow/tapflow/internal/jsonfmt"
)

// LogType is l7_flow_log.type, DeepFlow's numbering.
type LogType uint8

// Log types.
const (
	LogRequest  LogType = 0 // a request whose response was never parsed (see Status)
	LogResponse LogType = 1 // a response whose request was not seen (capture started mid-session)
	LogSession  LogType = 2 // a request paired with its response, or a self-contained message
)

// Log is one l7_flow_log row: what the engine emits and storage writes.
// Times are µs since the Unix epoch. Request fields come from the request,
// Code/Status/Exception from the response; a text field the request lacks is
// taken from the response (e.g. Kafka Produce's offset).
type Log struct {
	FlowID    uint64
	Type      LogType
	StartTime int64 // first packet of the request (of the response for LogResponse)
	EndTime   int64 // first packet of the response; the timeout moment for a timed-out request
	// RRT is EndTime − StartTime for a paired session, else 0 (µs).
	RRT uint32
	// ReqLen and RespLen are the message lengths; 0 when not seen.
	ReqLen, RespLen uint32

	// Flow identity, as in l4_flow_log.
	TapType    uint8
	TapPort    uint32
	VLAN       uint16
	Proto      uint8 // IP protocol
	ClientIP   netip.Addr
	ServerIP   netip.Addr
	ClientPort uint16
	ServerPort uint16

	// Record holds l7_protocol, the request/response fields and the text.
	// Its Kind and Len are the request's (the response's for LogResponse).
	Record
}

var logTypeNames = [...]string{"request", "response", "session"}

// String names the log type.
func (t LogType) String() string {
	if int(t) < len(logTypeNames) {
		return logTypeNames[t]
	}
	return "unknown"
}

// logJSONSize is about the longest line AppendJSON writes without text
// fields; AppendJSON reserves it (plus the text's length) up front so the
// line is built without growing b midway.
const logJSONSize = 640

// AppendJSON appends l as one JSON object with l7_flow_log's column names
// (`replay --print l7`).
func (l *Log) AppendJSON(b []byte) []byte {
	b = slices.Grow(b, logJSONSize+int(l.used))
	b = append(b, `{"flow_id":`...)
	b = jsonfmt.AppendUint(b, l.FlowID)
	b = append(b, `,"type":"`...)
	b = append(b, l.Type.String()...)
	b = append(b, `","start_time":"`...)
	b = appendTimeMicro(b, l.StartTime)
	b = append(b, `","end_time":"`...)
	b = appendTimeMicro(b, l.EndTime)
	b = append(b, `","tap_type":`...)
	b = jsonfmt.AppendUint(b, uint64(l.TapType))
	b = append(b, `,"tap_port":`...)
	b = jsonfmt.AppendUint(b, uint64(l.TapPort))
	b = append(b, `,"vlan":`...)
	b = jsonfmt.AppendUint(b, uint64(l.VLAN))
	b = append(b, `,"protocol":`...)
	b = jsonfmt.AppendUint(b, uint64(l.Proto))
	b = append(b, `,"client_ip":"`...)
	b = jsonfmt.AppendAddr(b, l.ClientIP)
	b = append(b, `","server_ip":"`...)
	b = jsonfmt.AppendAddr(b, l.ServerIP)
	b = append(b, `","client_port":`...)
	b = jsonfmt.AppendUint(b, uint64(l.ClientPort))
	b = append(b, `,"server_port":`...)
	b = jsonfmt.AppendUint(b, uint64(l.ServerPort))
	b = append(b, `,"l7_protocol":`...)
	b = jsonfmt.AppendUint(b, uint64(l.Protocol))
	b = append(b, `,"l7_protocol_str":"`...)
	b = append(b, l.Protocol.String()...)
	b = append(b, `","response_status":`...)
	b = jsonfmt.AppendUint(b, uint64(l.Status))
	if l.HasCode {
		b = append(b, `,"response_code":`...)
		if l.Code >= 0 {
			b = jsonfmt.AppendUint(b, uint64(l.Code))
		} else {
			b = strconv.AppendInt(b, int64(l.Code), 10)
		}
	}
	if l.HasKey {
		b = append(b, `,"request_id":`...)
		b = jsonfmt.AppendUint(b, l.Key)
	}
	b = append(b, `,"response_duration":`...)
	b = jsonfmt.AppendUint(b, uint64(l.RRT))
	b = append(b, `,"request_length":`...)
	b = jsonfmt.AppendUint(b, uint64(l.ReqLen))
	b = append(b, `,"response_length":`...)
	b = jsonfmt.AppendUint(b, uint64(l.RespLen))
	b = l.AppendTextJSON(b)
	return append(b, '}')
}

// timeLayout is how AppendJSON prints times.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// appendTimeMicro writes us µs since the Unix epoch as
// time.UnixMicro(us).UTC().AppendFormat(dst, timeLayout) does.
func appendTimeMicro(dst []byte, us int64) []byte {
	sec, frac := us/1e6, us%1e6
	if frac < 0 {
		sec, frac = sec-1, frac+1e6
	}
	if out, ok := jsonfmt.AppendUTC(dst, sec, uint32(frac)); ok {
		return out
	}
	return time.UnixMicro(us).UTC().AppendFormat(dst, timeLayout)
}
