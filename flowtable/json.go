package flowtable

import (
	"net/netip"
	"strconv"
)

// AppendJSON appends r as one JSON object (the `replay --print l4` line
// format, without the newline) to dst. Field names match l4_flow_log
// columns where both exist.
func (r *FlowRecord) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"flow_id":`...)
	dst = strconv.AppendUint(dst, r.FlowID, 10)
	dst = appendStr(dst, "proto", ProtoName(r.Proto))
	dst = appendUint(dst, "ip_proto", uint64(r.Proto))
	dst = appendStr(dst, "client_ip", addrString(r.ClientIP))
	dst = appendUint(dst, "client_port", uint64(r.ClientPort))
	dst = appendStr(dst, "server_ip", addrString(r.ServerIP))
	dst = appendUint(dst, "server_port", uint64(r.ServerPort))
	dst = appendUint(dst, "vlan", uint64(r.VLAN))
	dst = appendUint(dst, "tap_type", uint64(r.TapType))
	dst = appendUint(dst, "tap_port", uint64(r.TapPort))
	dst = appendStr(dst, "outer_src", addrString(r.OuterSrc))
	dst = appendStr(dst, "outer_dst", addrString(r.OuterDst))
	dst = appendStr(dst, "start_time", r.StartTime.UTC().Format(timeFormat))
	dst = appendStr(dst, "end_time", r.EndTime.UTC().Format(timeFormat))
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

// timeFormat is RFC 3339 with microseconds, always six digits.
const timeFormat = "2006-01-02T15:04:05.000000Z07:00"

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func appendStr(dst []byte, k, v string) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, k...)
	dst = append(dst, '"', ':')
	return strconv.AppendQuote(dst, v)
}

func appendUint(dst []byte, k string, v uint64) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, k...)
	dst = append(dst, '"', ':')
	return strconv.AppendUint(dst, v, 10)
}
