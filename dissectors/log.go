package dissectors

import (
	"net/netip"
	"strconv"
	"time"
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

// AppendJSON appends l as one JSON object with l7_flow_log's column names
// (`replay --print l7`).
func (l *Log) AppendJSON(b []byte) []byte {
	b = append(b, `{"flow_id":`...)
	b = strconv.AppendUint(b, l.FlowID, 10)
	b = append(b, `,"type":"`...)
	b = append(b, l.Type.String()...)
	b = append(b, `","start_time":"`...)
	b = time.UnixMicro(l.StartTime).UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
	b = append(b, `","end_time":"`...)
	b = time.UnixMicro(l.EndTime).UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
	b = append(b, `","tap_type":`...)
	b = strconv.AppendUint(b, uint64(l.TapType), 10)
	b = append(b, `,"tap_port":`...)
	b = strconv.AppendUint(b, uint64(l.TapPort), 10)
	b = append(b, `,"vlan":`...)
	b = strconv.AppendUint(b, uint64(l.VLAN), 10)
	b = append(b, `,"protocol":`...)
	b = strconv.AppendUint(b, uint64(l.Proto), 10)
	b = append(b, `,"client_ip":"`...)
	b = l.ClientIP.AppendTo(b)
	b = append(b, `","server_ip":"`...)
	b = l.ServerIP.AppendTo(b)
	b = append(b, `","client_port":`...)
	b = strconv.AppendUint(b, uint64(l.ClientPort), 10)
	b = append(b, `,"server_port":`...)
	b = strconv.AppendUint(b, uint64(l.ServerPort), 10)
	b = append(b, `,"l7_protocol":`...)
	b = strconv.AppendUint(b, uint64(l.Protocol), 10)
	b = append(b, `,"l7_protocol_str":"`...)
	b = append(b, l.Protocol.String()...)
	b = append(b, `","response_status":`...)
	b = strconv.AppendUint(b, uint64(l.Status), 10)
	if l.HasCode {
		b = append(b, `,"response_code":`...)
		b = strconv.AppendInt(b, int64(l.Code), 10)
	}
	if l.HasKey {
		b = append(b, `,"request_id":`...)
		b = strconv.AppendUint(b, l.Key, 10)
	}
	b = append(b, `,"response_duration":`...)
	b = strconv.AppendUint(b, uint64(l.RRT), 10)
	b = append(b, `,"request_length":`...)
	b = strconv.AppendUint(b, uint64(l.ReqLen), 10)
	b = append(b, `,"response_length":`...)
	b = strconv.AppendUint(b, uint64(l.RespLen), 10)
	b = l.AppendTextJSON(b)
	return append(b, '}')
}
