package dissectors

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tapflow/tapflow/internal/jsonfmt"
)

// benchLogs returns rows shaped like a replay's l7 output.
func benchLogs() []Log {
	logs := make([]Log, 64)
	start := int64(1_700_000_000_123_456)
	for i := range logs {
		l := Log{
			FlowID: uint64(1_000_000 + i*7919), Type: LogType(i % 3),
			StartTime: start + int64(i)*37_000, EndTime: start + int64(i)*37_000 + int64(i*i)*130,
			RRT: uint32(i * i * 130), ReqLen: uint32(i * 40), RespLen: uint32(i * 900),
			TapType: 3, TapPort: uint32(i % 3), Proto: 6,
			ClientIP:   netip.AddrFrom4([4]byte{10, 0, byte(i), byte(i * 7)}),
			ServerIP:   netip.AddrFrom4([4]byte{192, 168, 1, byte(i)}),
			ClientPort: uint16(40000 + i*13), ServerPort: 80,
		}
		l.Protocol = []Protocol{ProtoHTTP1, ProtoDNS, ProtoMySQL, ProtoTLS}[i%4]
		l.Status = Status(i % 5)
		l.HasCode, l.Code = i%2 == 0, int32(200+i)
		l.HasKey, l.Key = l.Protocol == ProtoDNS, uint64(i*977)
		l.SetString(&l.RequestType, "GET")
		l.SetString(&l.RequestDomain, "example.com")
		l.SetString(&l.RequestResource, "/index.html?q=1")
		logs[i] = l
	}
	return logs
}

// BenchmarkLogJSON measures one `replay --print l7` line.
func BenchmarkLogJSON(b *testing.B) {
	logs := benchLogs()
	buf := make([]byte, 0, 2048)
	var n int
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		buf = logs[i&63].AppendJSON(buf[:0])
		n += len(buf)
		i++
	}
	b.SetBytes(int64(n / max(i, 1)))
}

// checkAppendTimeMicro compares appendTimeMicro with what AppendJSON
// printed before: time.UnixMicro(us).UTC().Format(timeLayout).
func checkAppendTimeMicro(t testing.TB, us int64) {
	t.Helper()
	got := string(appendTimeMicro([]byte("x"), us))
	if want := "x" + time.UnixMicro(us).UTC().Format(timeLayout); got != want {
		t.Fatalf("appendTimeMicro(%d) = %q, want %q", us, got, want)
	}
}

func TestAppendTimeMicro(t *testing.T) {
	for _, us := range jsonfmt.EdgeMicros() {
		checkAppendTimeMicro(t, us)
	}
	// Every day from 1 BC to AD 2500, at a varying time of day.
	start := time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	for i := int64(0); i < 2502*366; i++ {
		checkAppendTimeMicro(t, start+i*86400e6+i*7919_000_001%86400e6)
	}
	// Random times over the whole of int64 µs and over years 1–9999.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		checkAppendTimeMicro(t, int64(rng.Uint64()))
		checkAppendTimeMicro(t, jsonfmt.MinSec*1e6+rng.Int64N((jsonfmt.MaxSec-jsonfmt.MinSec)*1e6))
	}
}

func FuzzAppendTime(f *testing.F) {
	for _, us := range jsonfmt.EdgeMicros() {
		f.Add(us)
	}
	f.Fuzz(func(t *testing.T, us int64) {
		checkAppendTimeMicro(t, us)
	})
}

// TestLogJSONSame checks AppendJSON's whole line against the line the
// code printed before it was optimized.
func TestLogJSONSame(t *testing.T) {
	logs := benchLogs()
	logs[1].ClientIP, logs[1].ServerIP = netip.Addr{}, netip.MustParseAddr("fe80::1%eth0")
	logs[2].StartTime, logs[2].EndTime = math.MinInt64, -1
	logs[3].FlowID, logs[3].Key, logs[3].HasKey = math.MaxUint64, math.MaxUint64, true
	logs[4].HasCode, logs[4].Code = true, -1
	logs[5].HasCode, logs[5].Code = true, math.MinInt32
	logs[6].HasCode, logs[6].Code = true, math.MaxInt32
	logs[7].Type, logs[7].Protocol, logs[7].Status = 200, 255, 255
	logs[8].Set(&logs[8].Exception, []byte("\x00\"\\\xff\u00e9 "+strings.Repeat("x", TextCap)))
	logs[9] = Log{}
	for i := range logs {
		got := string(logs[i].AppendJSON([]byte("prefix")))
		want := "prefix" + string(logJSONOld(&logs[i], nil))
		if got != want {
			t.Fatalf("log %d:\n got %s\nwant %s", i, got, want)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(got[len("prefix"):]), &v); err != nil {
			t.Fatalf("log %d: %v: %s", i, err, got)
		}
	}
	if n := testing.AllocsPerRun(100, func() { logs[0].AppendJSON(make([]byte, 0, 2048)[:0]) }); n > 1 {
		t.Errorf("AppendJSON allocates %v times", n)
	}
}

// logJSONOld is Log.AppendJSON before it was optimized.
func logJSONOld(l *Log, b []byte) []byte {
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

// TestAppendJSONString: every byte value alone, at either end of a run,
// twice in a row and at each place of a longer run comes out as valid JSON
// that decodes back to the text for printable ASCII, and any other byte as
// its \u00XX escape.
func TestAppendJSONString(t *testing.T) {
	var cases [][]byte
	for c := range 256 {
		b := byte(c)
		cases = append(cases, []byte{b}, []byte{b, 'a'}, []byte{'a', b}, []byte{'x', b, b, 'y'})
		for pos := range 19 { // in each byte of the first two words, and the tail
			s := []byte("abcdefghijklmnopqrs")
			s[pos] = b
			cases = append(cases, s)
		}
	}
	cases = append(cases, nil, []byte(`GET /a?b="c"\d HTTP/1.1`), []byte("caf\xc3\xa9\r\n"))
	for _, s := range cases {
		checkJSONString(t, s)
	}
}

func checkJSONString(t *testing.T, s []byte) {
	t.Helper()
	got := AppendJSONString([]byte("x:"), s)
	if string(got[:2]) != "x:" {
		t.Fatalf("AppendJSONString(%q) overwrote dst: %q", s, got)
	}
	if !json.Valid(got[2:]) {
		t.Fatalf("AppendJSONString(%q) = %q: not valid JSON", s, got)
	}
	var back string
	if err := json.Unmarshal(got[2:], &back); err != nil {
		t.Fatalf("AppendJSONString(%q): %v", s, err)
	}
	// Printable ASCII decodes to itself; any other byte to U+00XX.
	want := make([]rune, len(s))
	for i, c := range s {
		want[i] = rune(c)
	}
	if back != string(want) {
		t.Fatalf("AppendJSONString(%q) decodes to %q, want %q", s, back, string(want))
	}
	if ref := refAppendJSONString([]byte("x:"), s); string(got) != string(ref) {
		t.Fatalf("AppendJSONString(%q) = %q, the byte-at-a-time loop gives %q", s, got, ref)
	}
}

// refAppendJSONString is AppendJSONString as it was before it went a word
// at a time: the bytes it writes are the ones the word-at-a-time form must
// write.
func refAppendJSONString(b []byte, s []byte) []byte {
	b = append(b, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c >= 0x20 && c < 0x7f:
			b = append(b, c)
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return append(b, '"')
}

// FuzzAppendJSONString: any bytes give valid JSON that decodes back to them.
func FuzzAppendJSONString(f *testing.F) {
	f.Add([]byte(`a"b\c`))
	f.Add([]byte("\x00\xff plain"))
	f.Fuzz(func(t *testing.T, s []byte) { checkJSONString(t, s) })
}
