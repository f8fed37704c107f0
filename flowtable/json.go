package flowtable

import (
	"net/netip"
	"strconv"
	"time"
)

// AppendJSON appends r as one JSON object (the `replay --print l4` line
// format, without the newline) to dst. Field names match l4_flow_log
// columns where both exist.
func (r *FlowRecord) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"flow_id":`...)
	dst = strconv.AppendUint(dst, r.FlowID, 10)
	dst = append(appendKey(dst, "proto"), '"')
	dst = append(append(dst, ProtoName(r.Proto)...), '"')
	dst = appendUint(dst, "ip_proto", uint64(r.Proto))
	dst = appendAddr(dst, "client_ip", r.ClientIP)
	dst = appendUint(dst, "client_port", uint64(r.ClientPort))
	dst = appendAddr(dst, "server_ip", r.ServerIP)
	dst = appendUint(dst, "server_port", uint64(r.ServerPort))
	dst = appendUint(dst, "vlan", uint64(r.VLAN))
	dst = appendUint(dst, "tap_type", uint64(r.TapType))
	dst = appendUint(dst, "tap_port", uint64(r.TapPort))
	dst = appendAddr(dst, "outer_src", r.OuterSrc)
	dst = appendAddr(dst, "outer_dst", r.OuterDst)
	dst = appendTime(dst, "start_time", r.StartTime)
	dst = appendTime(dst, "end_time", r.EndTime)
	dst = appendUint(dst, "close_type", uint64(r.CloseType))
	for _, f := range [...]struct {
		name string
		v    uint64
	}{
		{"packets_tx", r.PacketsTx}, {"packets_rx", r.PacketsRx},
		{"bytes_tx", r.BytesTx}, {"bytes_rx", r.BytesRx},
		{"rtt_us", uint64(r.RTT)}, {"rtt_client_us", uint64(r.RTTClient)}, {"rtt_server_us", uint64(r.RTTServer)},
		{"srt_us", r.SRTMean()}, {"srt_max_us", r.SRTMax},
		{"art_us", r.ARTMean()}, {"art_max_us", r.ARTMax},
		{"cit_us", r.CITMean()},
		{"retrans_tx", uint64(r.RetransTx)}, {"retrans_rx", uint64(r.RetransRx)},
		{"zero_win_tx", uint64(r.ZeroWinTx)}, {"zero_win_rx", uint64(r.ZeroWinRx)},
		{"ooo_tx", uint64(r.OOOTx)}, {"ooo_rx", uint64(r.OOORx)},
		{"lost_tx", uint64(r.LostTx)}, {"lost_rx", uint64(r.LostRx)},
		{"lost_before_tap_tx", uint64(r.LostBeforeTapTx)}, {"lost_before_tap_rx", uint64(r.LostBeforeTapRx)},
		{"syn_count", uint64(r.SYNCount)}, {"synack_count", uint64(r.SYNACKCount)}, {"fin_count", uint64(r.FINCount)},
	} {
		dst = appendUint(dst, f.name, f.v)
	}
	return append(dst, '}')
}

// The values below need no JSON escaping (addresses, RFC 3339 times,
// protocol names), so they are appended as they are: printing is a large
// part of `replay --print l4`'s cost.

func appendKey(dst []byte, k string) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, k...)
	return append(dst, '"', ':')
}

func appendAddr(dst []byte, k string, a netip.Addr) []byte {
	dst = append(appendKey(dst, k), '"')
	if a.IsValid() {
		dst = a.AppendTo(dst)
	}
	return append(dst, '"')
}

// appendTime writes t in UTC as RFC 3339 with six fractional digits
// (2006-01-02T15:04:05.000000Z).
func appendTime(dst []byte, k string, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	dst = append(appendKey(dst, k), '"')
	dst = appendDigits(dst, y, 4)
	dst = appendDigits(append(dst, '-'), int(mo), 2)
	dst = appendDigits(append(dst, '-'), d, 2)
	dst = appendDigits(append(dst, 'T'), h, 2)
	dst = appendDigits(append(dst, ':'), mi, 2)
	dst = appendDigits(append(dst, ':'), sec, 2)
	dst = appendDigits(append(dst, '.'), t.Nanosecond()/1000, 6)
	return append(dst, 'Z', '"')
}

// appendDigits writes v zero-padded to n digits.
func appendDigits(dst []byte, v, n int) []byte {
	var b [20]byte
	i := len(b)
	for v >= 10 || n > 1 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		n--
	}
	i--
	b[i] = byte('0' + v)
	return append(dst, b[i:]...)
}

func appendUint(dst []byte, k string, v uint64) []byte {
	return strconv.AppendUint(appendKey(dst, k), v, 10)
}
