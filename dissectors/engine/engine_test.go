package engine_test

import (
	"bytes"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/engine"
	"github.com/tapflow/tapflow/flowtable"
	"github.com/tapflow/tapflow/tap"
)

// lineProto is a test dissector for a text protocol: "Q <key> <text>"
// requests and "R <key> <code>" responses, "E <text>" one-way events; key
// "-" means no correlation key. Used only here, beside the real dissectors'
// own pcap tests and the replay tests over real captures.
type lineProto struct{}

func (lineProto) Protocol() dissectors.Protocol { return dissectors.ProtoRedis }

func (lineProto) Check(p []byte, m *dissectors.Meta) bool {
	return m.ToServer && len(p) > 2 && p[0] == 'Q' && p[1] == ' '
}

func (lineProto) Parse(dst []dissectors.Record, p []byte, m *dissectors.Meta) ([]dissectors.Record, error) {
	for _, line := range bytes.Split(p, []byte{'\n'}) {
		f := bytes.Fields(line)
		if len(f) != 3 {
			continue
		}
		var r *dissectors.Record
		dst, r = dissectors.Next(dst)
		r.Protocol, r.Len = dissectors.ProtoRedis, uint32(len(line))
		if k, err := strconv.Atoi(string(f[1])); err == nil {
			r.HasKey, r.Key = true, uint64(k)
		}
		switch f[0][0] {
		case 'Q':
			r.Kind = dissectors.Request
			r.Set(&r.RequestResource, f[2])
		case 'R':
			r.Kind = dissectors.Response
			c, _ := strconv.Atoi(string(f[2]))
			r.HasCode, r.Code = true, int32(c)
			if c != 0 {
				r.Status = dissectors.StatusServerError
				r.SetString(&r.Exception, "failed")
			}
		default:
			r.Kind = dissectors.Session
			r.Set(&r.RequestType, f[2])
		}
	}
	return dst, nil
}

type logSink struct{ logs []dissectors.Log }

func (s *logSink) WriteL7(l []dissectors.Log)        { s.logs = append(s.logs, l...) }
func (s *logSink) WriteFlows([]flowtable.FlowRecord) {}

const t0 = int64(1_700_000_000_000_000)

var (
	client = netip.MustParseAddr("10.0.0.1")
	server = netip.MustParseAddr("10.0.0.2")
)

type rig struct {
	t    *testing.T
	tab  *flowtable.Table
	eng  *engine.Engine
	sink *logSink
}

func newRig(t *testing.T, cfg engine.Config) *rig {
	s := &logSink{}
	fc := flowtable.DefaultConfig()
	fc.Capacity = 64
	tab, err := flowtable.New(fc, s, 0)
	require.NoError(t, err)
	e, err := engine.New(cfg, []dissectors.Dissector{lineProto{}}, s)
	require.NoError(t, err)
	tab.SetPayloadHandler(e)
	return &rig{t: t, tab: tab, eng: e, sink: s}
}

// pkt sends payload at t0+us on TCP 40000 → 6379 (toServer) or back.
func (r *rig) pkt(us int64, toServer bool, payload string, port uint16) {
	m := tap.Meta{Timestamp: t0 + us, WireLen: 100, Src: client, Dst: server, IPVersion: 4, Proto: tap.ProtoTCP,
		SrcPort: port, DstPort: 6379, TCPFlags: tap.TCPAck | tap.TCPPsh, Window: 1000, WinScale: -1,
		Payload: []byte(payload), PayloadLen: uint32(len(payload))}
	if !toServer {
		m.Src, m.Dst, m.SrcPort, m.DstPort = m.Dst, m.Src, m.DstPort, m.SrcPort
	}
	r.tab.Update(&m)
}

type want struct {
	typ      dissectors.LogType
	resource string
	status   dissectors.Status
	code     int32
	rrt      uint32
}

func (r *rig) check(w ...want) {
	r.t.Helper()
	var got []want
	for _, l := range r.sink.logs {
		got = append(got, want{l.Type, l.String(l.RequestResource), l.Status, l.Code, l.RRT})
		require.Equal(r.t, client, l.ClientIP)
		require.Equal(r.t, uint16(6379), l.ServerPort)
	}
	require.Equal(r.t, w, got)
}

func TestPairing(t *testing.T) {
	tcp := engine.DefaultConfig()
	for _, tc := range []struct {
		name string
		cfg  engine.Config
		run  func(r *rig)
		want []want
	}{
		{"in order without keys", tcp, func(r *rig) {
			r.pkt(0, true, "Q - a\nQ - b", 40000)
			r.pkt(100, false, "R - 0", 40000)
			r.pkt(250, false, "R - 1", 40000)
			r.tab.Flush()
		}, []want{{dissectors.LogSession, "a", 0, 0, 100}, {dissectors.LogSession, "b", 3, 1, 250}}},
		{"by key, out of order", tcp, func(r *rig) {
			r.pkt(0, true, "Q 1 a\nQ 2 b", 40000)
			r.pkt(40, false, "R 2 0", 40000)
			r.pkt(90, false, "R 1 0", 40000)
			r.tab.Flush()
		}, []want{{dissectors.LogSession, "b", 0, 0, 40}, {dissectors.LogSession, "a", 0, 0, 90}}},
		{"response without request", tcp, func(r *rig) {
			r.pkt(0, true, "Q 1 a", 40000)
			r.pkt(10, false, "R 7 0", 40000)
			r.tab.Flush()
		}, []want{{dissectors.LogResponse, "", 0, 0, 0}, {dissectors.LogRequest, "a", 2, 0, 0}}},
		{"timeout by capture time while the flow lives", tcp, func(r *rig) {
			r.pkt(0, true, "Q 1 a", 40000)
			for s := int64(1); s <= 301; s += 60 {
				r.pkt(s*1_000_000, false, "E - tick", 40000) // keeps the flow alive (established, 300 s)
			}
			require.Len(r.t, r.sink.logs, 6, "five events, then the request times out at 300 s")
			require.Equal(r.t, t0+300_000_000, r.sink.logs[5].EndTime)
			r.sink.logs = r.sink.logs[5:]
		}, []want{{dissectors.LogRequest, "a", 2, 0, 0}}},
		{"flow end times out waiting requests", tcp, func(r *rig) {
			r.pkt(0, true, "Q - a", 40000)
			r.tab.Tick(t0 + int64(400*time.Second/time.Microsecond))
		}, []want{{dissectors.LogRequest, "a", 2, 0, 0}}},
		{"more than MaxInFlight waiting", engine.Config{MaxInFlight: 2, RequestTimeoutTCP: time.Minute, RequestTimeoutUDP: time.Minute,
			IdentifyPackets: 1, MaxPending: 10, BatchSize: 1}, func(r *rig) {
			r.pkt(0, true, "Q - a\nQ - b\nQ - c", 40000)
			r.pkt(5, false, "R - 0", 40000)
			r.tab.Flush()
		}, []want{{dissectors.LogRequest, "a", 2, 0, 0}, {dissectors.LogSession, "b", 0, 0, 5}, {dissectors.LogRequest, "c", 2, 0, 0}}},
		{"unidentified flows are given up", engine.Config{MaxInFlight: 2, RequestTimeoutTCP: time.Minute, RequestTimeoutUDP: time.Minute,
			IdentifyPackets: 2, MaxPending: 10, BatchSize: 4}, func(r *rig) {
			r.pkt(0, true, "hello", 40000)
			r.pkt(1, true, "hello", 40000)
			r.pkt(2, true, "Q - late", 40000)
			r.tab.Flush()
			require.Equal(r.t, uint64(1), r.eng.Stats().GivenUp)
		}, nil},
		{"two flows keep their own requests", tcp, func(r *rig) {
			r.pkt(0, true, "Q - a", 40000)
			r.pkt(1, true, "Q - b", 40001)
			r.pkt(20, false, "R - 0", 40001)
			r.pkt(30, false, "R - 0", 40000)
			r.tab.Flush()
		}, []want{{dissectors.LogSession, "b", 0, 0, 19}, {dissectors.LogSession, "a", 0, 0, 30}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, tc.cfg)
			tc.run(r)
			r.check(tc.want...)
		})
	}
}

func TestConfigValidate(t *testing.T) {
	require.NoError(t, engine.DefaultConfig().Validate())
	bad := engine.DefaultConfig()
	bad.MaxInFlight = 0
	require.ErrorContains(t, bad.Validate(), "dissectors.max_in_flight")
	bad = engine.DefaultConfig()
	bad.IdentifyPackets = 1000
	require.ErrorContains(t, bad.Validate(), "dissectors.identify_packets")
}

type discard struct{}

func (discard) WriteL7([]dissectors.Log)          {}
func (discard) WriteFlows([]flowtable.FlowRecord) {}

// fixed is a dissector that claims everything and returns one request or
// response per packet without allocating: the engine's own cost.
type fixed struct{}

func (fixed) Protocol() dissectors.Protocol           { return dissectors.ProtoHTTP1 }
func (fixed) Check(p []byte, m *dissectors.Meta) bool { return true }
func (fixed) Parse(dst []dissectors.Record, p []byte, m *dissectors.Meta) ([]dissectors.Record, error) {
	dst, r := dissectors.Next(dst)
	r.Protocol, r.Kind = dissectors.ProtoHTTP1, dissectors.Response
	if m.ToServer {
		r.Kind = dissectors.Request
		r.Set(&r.RequestResource, p)
	}
	return dst, nil
}

func pairFrames(n int) []tap.Meta {
	ms := make([]tap.Meta, 0, 2*n)
	for i := range n {
		m := tap.Meta{Timestamp: t0 + int64(i)*10, WireLen: 100, Src: client, Dst: server, IPVersion: 4, Proto: tap.ProtoTCP,
			SrcPort: 40000 + uint16(i%50), DstPort: 80, TCPFlags: tap.TCPAck | tap.TCPPsh, Window: 1000, WinScale: -1,
			Payload: []byte("GET /x HTTP/1.1"), PayloadLen: 15}
		ms = append(ms, m)
		m.Src, m.Dst, m.SrcPort, m.DstPort = m.Dst, m.Src, m.DstPort, m.SrcPort
		m.Timestamp += 5
		ms = append(ms, m)
	}
	return ms
}

func TestEngineAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector inflates allocation counts")
	}
	fc := flowtable.DefaultConfig()
	fc.Capacity = 1024
	tab, err := flowtable.New(fc, discard{}, 0)
	require.NoError(t, err)
	e, err := engine.New(engine.DefaultConfig(), []dissectors.Dissector{fixed{}}, discard{})
	require.NoError(t, err)
	tab.SetPayloadHandler(e)
	ms := pairFrames(1000)
	for i := range ms {
		tab.Update(&ms[i])
	}
	n := testing.AllocsPerRun(10, func() {
		for i := range ms {
			ms[i].Timestamp += 1_000_000
			tab.Update(&ms[i])
		}
	})
	require.Zero(t, n, "allocations per pass over %d packets", len(ms))
	require.NotZero(t, e.Stats().Logs)
}

func BenchmarkEngine(b *testing.B) {
	fc := flowtable.DefaultConfig()
	fc.Capacity = 1024
	tab, _ := flowtable.New(fc, discard{}, 0)
	e, _ := engine.New(engine.DefaultConfig(), []dissectors.Dissector{fixed{}}, discard{})
	tab.SetPayloadHandler(e)
	ms := pairFrames(1000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m := &ms[i%len(ms)]
		m.Timestamp += 20_000
		tab.Update(m)
		i++
	}
}
