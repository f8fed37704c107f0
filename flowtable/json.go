package flowtable

import (
	"slices"
	"time"

	"github.com/tapflow/tapflow/internal/jsonfmt"
)

// flowJSONSize is about the longest line AppendJSON writes with IPv6
// addresses and large counters; AppendJSON reserves it up front so the
// line is built without growing dst midway.
const flowJSONSize = 1024

// AppendJSON appends r as one JSON object (the `replay --print l4` line
// format, without the newline) to dst. Field names match l4_flow_log
// columns where both exist.
//
// Printing is a large part of `replay --print l4`'s cost, so each member is
// one append of a constant `,"name":` literal and a hand-formatted value.
// The values need no JSON escaping (addresses, RFC 3339 times, protocol
// names), so they are appended as they are.
func (r *FlowRecord) AppendJSON(dst []byte) []byte {
	dst = slices.Grow(dst, flowJSONSize)
	dst = append(dst, `{"flow_id":`...)
	dst = jsonfmt.AppendUint(dst, r.FlowID)
	dst = append(dst, `,"proto":"`...)
	dst = append(dst, ProtoName(r.Proto)...)
	dst = append(dst, `","ip_proto":`...)
	dst = jsonfmt.AppendUint(dst, uint64(r.Proto))
	dst = append(dst, `,"client_ip":"`...)
	dst = jsonfmt.AppendAddr(dst, r.ClientIP)
	dst = append(dst, `","client_port":`...)
	dst = jsonfmt.AppendUint(dst, uint64(r.ClientPort))
	dst = append(dst, `,"server_ip":"`...)
	dst = jsonfmt.AppendAddr(dst, r.ServerIP)
	dst = append(dst, `","server_port":`...)
	dst = jsonfmt.AppendUint(dst, uint64(r.ServerPort))
	dst = append(dst, `,"vlan":`...)
	dst = jsonfmt.AppendUint(dst, uint64(r.VLAN))
	dst = append(dst, `,"tap_type":`...)
	dst = jsonfmt.AppendUint(dst, uint64(r.TapType))
	dst = append(dst, `,"tap_port":`...)
	dst = jsonfmt.AppendUint(dst, uint64(r.TapPort))
	dst = append(dst, `,"outer_src":"`...)
	dst = jsonfmt.AppendAddr(dst, r.OuterSrc)
	dst = append(dst, `","outer_dst":"`...)
	dst = jsonfmt.AppendAddr(dst, r.OuterDst)
	dst = append(dst, `","start_time":"`...)
	dst = appendTime(dst, r.StartTime)
	dst = append(dst, `","end_time":"`...)
	dst = appendTime(dst, r.EndTime)
	dst = append(dst, `","close_type":`...)
	dst = jsonfmt.AppendUint(dst, uint64(r.CloseType))
	dst = append(dst, `,"packets_tx":`...)
	dst = jsonfmt.AppendUint(dst, r.PacketsTx)
	dst = append(dst, `,"packets_rx":`...)
	dst = jsonfmt.AppendUint(dst, r.PacketsRx)
	dst = append(dst, `,"bytes_tx":`...)
	dst = jsonfmt.AppendUint(dst, r.BytesTx)
	dst = append(dst, `,"bytes_rx":`...)
	dst = jsonfmt.AppendUint(dst, r.BytesRx)
	dst = append(dst, `,"rtt_us":`...)
	dst = jsonfmt.AppendUint(dst, uint64(r.RTT))
	dst = append(dst, `,"rtt_client_us":`...)
	dst = jsonfmt.AppendUint(dst, uint64(r.RTTClient))
	dst = append(dst, `,"rtt_server_us":`...)
	dst = jsonfmt.AppendUint(dst, uint64(r.RTTServer))
	dst = append(dst, `,"srt_us":`...)
	dst = jsonfmt.AppendUint(dst, r.SRTMean())
	dst = append(dst, `,"srt_max_us":`...)
	dst = jsonfmt.AppendUint(dst, r.SRTMax)
	dst = append(dst, `,"art_us":`...)
	dst = jsonfmt.AppendUint(dst, r.ARTMean())
	dst = append(dst, `,"art_max_us":`...)
	dst = jsonfmt.AppendUint(dst, r.ARTMax)
	dst = append(dst, `,"cit_us":`...)
	dst = jsonfmt.AppendUint(dst, r.CITMean())
	dst = append(dst, `,"retrans_tx":`...)
	dst = jsonfmt.AppendUint(dst, uint64(r.RetransTx))
	dst = append(dst, `,"retrans_rx":`...)
	dst = jsonfmt.AppendUint(dst, uint64(r.RetransRx))
	dst = append(dst, `,"zero_win_tx":`...)
	dst = jsonfmt.AppendUint(dst, uint64(r.ZeroWinTx))
	dst = append(dst, `,"zero_win_rx":`...)
	dst = jsonfmt.AppendUint(dst, uint64(r.ZeroWinRx))
	dst = append(dst, `,"ooo_tx":`...)
	dst = jsonfmt.AppendUint(dst, uint64(r.OOOTx))
	dst = append(dst, `,"ooo_rx":`...)
	dst = jsonfmt.AppendUint(dst, uint64(r.OOORx))
	dst = append(dst, `,"lost_tx":`...)
	dst = jsonfmt.AppendUint(dst, uint64(r.LostTx))
	dst = append(dst, `,"lost_rx":`...)
	dst = jsonfmt.AppendUint(dst, uint64(r.LostRx))
	dst = append(dst, `,"lost_before_tap_tx":`...)
	dst = jsonfmt.AppendUint(dst, uint64(r.LostBeforeTapTx))
	dst = append(dst, `,"lost_before_tap_rx":`...)
	dst = jsonfmt.AppendUint(dst, uint64(r.LostBeforeTapRx))
	dst = append(dst, `,"syn_count":`...)
	dst = jsonfmt.AppendUint(dst, uint64(r.SYNCount))
	dst = append(dst, `,"synack_count":`...)
	dst = jsonfmt.AppendUint(dst, uint64(r.SYNACKCount))
	dst = append(dst, `,"fin_count":`...)
	dst = jsonfmt.AppendUint(dst, uint64(r.FINCount))
	return append(dst, '}')
}

// appendTime writes t in UTC as RFC 3339 with six fractional digits
// (2006-01-02T15:04:05.000000Z), without the quotes.
func appendTime(dst []byte, t time.Time) []byte {
	if out, ok := jsonfmt.AppendUTC(dst, t.Unix(), uint32(t.Nanosecond()/1000)); ok {
		return out
	}
	return appendTimeSlow(dst, t)
}

// appendTimeSlow is appendTime for years outside 1–9999, kept exactly as
// it always printed them.
func appendTimeSlow(dst []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	dst = appendDigits(dst, y, 4)
	dst = appendDigits(append(dst, '-'), int(mo), 2)
	dst = appendDigits(append(dst, '-'), d, 2)
	dst = appendDigits(append(dst, 'T'), h, 2)
	dst = appendDigits(append(dst, ':'), mi, 2)
	dst = appendDigits(append(dst, ':'), sec, 2)
	dst = appendDigits(append(dst, '.'), t.Nanosecond()/1000, 6)
	return append(dst, 'Z')
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
