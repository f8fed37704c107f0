package flowtable

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/tapflow/tapflow/internal/jsonfmt"
)

// benchFlowRecords returns records shaped like a replay's: IPv4 and IPv6
// flows a few ms to a few s apart, small and large counters.
func benchFlowRecords() []FlowRecord {
	base := time.Date(2023, 11, 14, 22, 13, 20, 123456789, time.UTC)
	recs := make([]FlowRecord, 64)
	for i := range recs {
		start := base.Add(time.Duration(i) * 37 * time.Millisecond)
		r := FlowRecord{
			FlowID:     uint64(1_000_000 + i*7919),
			StartTime:  start,
			EndTime:    start.Add(time.Duration(i*i) * 1300 * time.Microsecond),
			CloseType:  CloseType([]uint8{1, 3, 5, 9}[i%4]),
			TapType:    3,
			TapPort:    uint32(i % 3),
			Proto:      []uint8{6, 17, 6, 1}[i%4],
			ClientIP:   netip.AddrFrom4([4]byte{10, 0, byte(i), byte(i * 7)}),
			ServerIP:   netip.AddrFrom4([4]byte{192, 168, 1, byte(i)}),
			ClientPort: uint16(40000 + i*13),
			ServerPort: []uint16{443, 53, 80, 0}[i%4],
			PacketsTx:  uint64(i*3 + 1), PacketsRx: uint64(i * 5),
			BytesTx: uint64(i*1500 + 66), BytesRx: uint64(i * 12345),
			RTT: uint32(i * 211), RTTClient: uint32(i * 11), RTTServer: uint32(i * 200),
			SRTSum: uint64(i * 1000), SRTCount: uint32(i % 5), SRTMax: uint64(i * 400),
			RetransTx: uint32(i % 2), SYNCount: 1, SYNACKCount: 1, FINCount: uint32(i % 3),
		}
		if i%8 == 7 {
			r.ClientIP = netip.MustParseAddr("2001:db8::1")
			r.ServerIP = netip.MustParseAddr("2001:db8:85a3::8a2e:370:7334")
		}
		if i%16 == 5 {
			r.VLAN = 100
			r.OuterSrc = netip.AddrFrom4([4]byte{172, 16, 0, 1})
			r.OuterDst = netip.AddrFrom4([4]byte{172, 16, 0, 2})
		}
		recs[i] = r
	}
	return recs
}

// BenchmarkFlowRecordJSON measures one `replay --print l4` line.
func BenchmarkFlowRecordJSON(b *testing.B) {
	recs := benchFlowRecords()
	buf := make([]byte, 0, 1024)
	var n int
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		buf = recs[i&63].AppendJSON(buf[:0])
		n += len(buf)
		i++
	}
	b.SetBytes(int64(n / max(i, 1)))
}

const timeLayout = "2006-01-02T15:04:05.000000Z"

// checkAppendTime compares appendTime with the old code for t and, for
// years 0–9999 (where the old code and package time agree), with
// t.UTC().Format.
func checkAppendTime(t testing.TB, tm time.Time) {
	t.Helper()
	got := string(appendTime([]byte("x"), tm))
	if want := "x" + string(appendTimeSlow(nil, tm)); got != want {
		t.Fatalf("appendTime(%d s %d ns) = %q, want %q", tm.Unix(), tm.Nanosecond(), got, want)
	}
	if y := tm.UTC().Year(); y >= 0 && y <= 9999 {
		if want := "x" + tm.UTC().Format(timeLayout); got != want {
			t.Fatalf("appendTime(%d s %d ns) = %q, want %q (Format)", tm.Unix(), tm.Nanosecond(), got, want)
		}
	}
}

func TestAppendTime(t *testing.T) {
	check := func(tm time.Time) {
		checkAppendTime(t, tm)
		checkAppendTime(t, tm.In(time.FixedZone("x", -7*3600))) // the zone is ignored
	}
	check(time.Time{})
	check(time.Date(2023, 5, 6, 7, 8, 9, 123456789, time.UTC)) // ns are truncated to µs
	check(time.Unix(1<<40, 999_999_999))
	check(time.Unix(-1<<40, 1))
	for _, us := range jsonfmt.EdgeMicros() {
		check(time.UnixMicro(us))
	}
	// Every day from 1 BC to AD 2500, at a varying time of day.
	start := time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for i := int64(0); i < 2502*366; i++ {
		check(time.Unix(start+i*86400+i*7919%86400, i*1000%1e9))
	}
	// Random times over the whole of int64 µs and over years 1–9999.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		check(time.UnixMicro(int64(rng.Uint64())))
		check(time.Unix(jsonfmt.MinSec+rng.Int64N(jsonfmt.MaxSec-jsonfmt.MinSec), rng.Int64N(1e9)))
	}
}

func FuzzAppendTime(f *testing.F) {
	for _, us := range jsonfmt.EdgeMicros() {
		f.Add(us/1e6, int64(us%1e6*1000))
	}
	f.Fuzz(func(t *testing.T, sec, nsec int64) {
		checkAppendTime(t, time.Unix(sec, nsec))
		checkAppendTime(t, time.UnixMicro(sec))
	})
}

// TestFlowRecordJSON checks AppendJSON's whole line against the line the
// code printed before it was optimized.
func TestFlowRecordJSON(t *testing.T) {
	recs := benchFlowRecords()
	recs[1].ClientIP, recs[1].ServerIP = netip.Addr{}, netip.MustParseAddr("fe80::1%eth0")
	recs[2].StartTime, recs[2].EndTime = time.Time{}, time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC)
	recs[3].PacketsTx, recs[3].BytesRx, recs[3].ARTSum, recs[3].ARTCount = math.MaxUint64, 99, 100, 1
	recs[4].Proto, recs[4].VLAN, recs[4].TapPort = 255, 4095, math.MaxUint32
	for i := range recs {
		got := string(recs[i].AppendJSON([]byte("prefix")))
		want := "prefix" + string(appendJSONOld(&recs[i], nil))
		if got != want {
			t.Fatalf("record %d:\n got %s\nwant %s", i, got, want)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(got[len("prefix"):]), &v); err != nil {
			t.Fatalf("record %d: %v: %s", i, err, got)
		}
	}
	if n := testing.AllocsPerRun(100, func() { recs[0].AppendJSON(make([]byte, 0, flowJSONSize)[:0]) }); n > 1 {
		t.Errorf("AppendJSON allocates %v times", n)
	}
}

// appendJSONOld is FlowRecord.AppendJSON before it was optimized.
func appendJSONOld(r *FlowRecord, dst []byte) []byte {
	key := func(dst []byte, k string) []byte {
		dst = append(dst, ',', '"')
		dst = append(dst, k...)
		return append(dst, '"', ':')
	}
	addr := func(dst []byte, k string, a netip.Addr) []byte {
		dst = append(key(dst, k), '"')
		if a.IsValid() {
			dst = a.AppendTo(dst)
		}
		return append(dst, '"')
	}
	tm := func(dst []byte, k string, t time.Time) []byte {
		return append(appendTimeSlow(append(key(dst, k), '"'), t), '"')
	}
	u := func(dst []byte, k string, v uint64) []byte {
		return strconv.AppendUint(key(dst, k), v, 10)
	}
	dst = append(dst, `{"flow_id":`...)
	dst = strconv.AppendUint(dst, r.FlowID, 10)
	dst = append(key(dst, "proto"), '"')
	dst = append(append(dst, ProtoName(r.Proto)...), '"')
	dst = u(dst, "ip_proto", uint64(r.Proto))
	dst = addr(dst, "client_ip", r.ClientIP)
	dst = u(dst, "client_port", uint64(r.ClientPort))
	dst = addr(dst, "server_ip", r.ServerIP)
	dst = u(dst, "server_port", uint64(r.ServerPort))
	dst = u(dst, "vlan", uint64(r.VLAN))
	dst = u(dst, "tap_type", uint64(r.TapType))
	dst = u(dst, "tap_port", uint64(r.TapPort))
	dst = addr(dst, "outer_src", r.OuterSrc)
	dst = addr(dst, "outer_dst", r.OuterDst)
	dst = tm(dst, "start_time", r.StartTime)
	dst = tm(dst, "end_time", r.EndTime)
	dst = u(dst, "close_type", uint64(r.CloseType))
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
		dst = u(dst, f.name, f.v)
	}
	return append(dst, '}')
}
