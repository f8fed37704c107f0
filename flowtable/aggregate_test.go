package flowtable

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/internal/pcapgen"
)

// aggSink collects flow records and aggregate rows.
type aggSink struct {
	collect
	rows []MetricRow
}

func (s *aggSink) WriteMetrics(rows []MetricRow) { s.rows = append(s.rows, rows...) }

// s0 and m0 are the second and minute (unix s) of Base.
const (
	s0 = Base / 1_000_000 // 1_699_999_990
	m0 = s0 - s0%60       // 1_699_999_980
)

// closedAs returns Meter.Closed with n flows ended by ct.
func closedAs(ct CloseType, n uint32) (c [NumCloseClasses]uint32) {
	c[closeSlot[ct]-1] = n
	return c
}

// edge returns the NetworkMap row (1s, or 1m when minute) of conv at unix
// second at, and the Network row with the same metrics.
func edge(minute bool, at int64, conv Conv, proto uint8, m Meter) []MetricRow {
	mapT, netT := NetworkMap1s, Network1s
	if minute {
		mapT, netT = NetworkMap1m, Network1m
	}
	r := MetricRow{Table: mapT, Time: time.Unix(at, 0).UTC(), Proto: proto,
		ClientIP: conv.Client.Addr(), ServerIP: conv.Server.Addr(), ServerPort: conv.Server.Port(), Meter: m}
	n := r
	n.Table, n.ClientIP = netT, netip.Addr{}
	return []MetricRow{r, n}
}

// server returns a Network row only.
func server(minute bool, at int64, conv Conv, proto uint8, m Meter) MetricRow {
	return edge(minute, at, conv, proto, m)[1]
}

func rowCmp(a, b MetricRow) int {
	return cmp.Or(cmp.Compare(a.Table, b.Table), a.Time.Compare(b.Time), a.ServerIP.Compare(b.ServerIP),
		a.ClientIP.Compare(b.ClientIP), cmp.Compare(a.Packets[0], b.Packets[0]), cmp.Compare(a.ClosedFlow, b.ClosedFlow))
}

// TestAggregateRows checks the rows of hand-worked conversations. Frame
// lengths: TCP without payload 60 (54 padded to Ethernet's minimum), with n
// bytes 54+n; UDP with n bytes max(60, 42+n).
func TestAggregateRows(t *testing.T) {
	other := Conv{Client: netip.MustParseAddrPort("10.0.0.3:40001"), Server: dns.Server}
	cases := []struct {
		name  string
		pkts  []pcapgen.Packet
		ticks []int64 // µs after Base: Tick after the packets, then Flush
		want  [][]MetricRow
	}{
		{
			// Second s0: SYN, SYN-ACK, ACK → tx 2×60, rx 60, new flow,
			// rtt 30 000 / client 20 000 / server 10 000, one SYN, one
			// SYN-ACK. Second s0+1: request 154 at 1 000 000 (cit =
			// 1 000 000 − 30 000, the handshake ACK = 970 000), server pure
			// ACK 60 (srt 400), response 254 (art 50 000), client ACK 60.
			// Second s0+2: FIN, FIN, ACK (fin 2) and the close (1, both
			// FINs), which counts in the second of the report's EndTime
			// (2 001 000) even when the clock ends the flow 2 s later.
			name: "tcp over three seconds",
			pkts: cat(c.Handshake(), P(
				c.TCP(C, 1_000_000, "PA", 1, 1, 100),
				c.TCP(S, 1_000_400, "A", 1, 101, 0),
				c.TCP(S, 1_050_000, "PA", 1, 101, 200),
				c.TCP(C, 1_050_300, "A", 101, 201, 0),
				c.TCP(C, 2_000_000, "FA", 101, 201, 0),
				c.TCP(S, 2_000_500, "FA", 201, 102, 0),
				c.TCP(C, 2_001_000, "A", 102, 202, 0),
			)),
			ticks: []int64{3600 * sec},
			want: [][]MetricRow{
				edge(false, s0, c, 6, Meter{Packets: [2]uint64{2, 1}, Bytes: [2]uint64{120, 60}, NewFlow: 1,
					RTT: Sample{30_000, 1, 30_000}, RTTClient: Sample{20_000, 1, 20_000}, RTTServer: Sample{10_000, 1, 10_000},
					SYN: 1, SYNACK: 1}),
				edge(false, s0+1, c, 6, Meter{Packets: [2]uint64{2, 2}, Bytes: [2]uint64{214, 314},
					CIT: Sample{970_000, 1, 970_000}, SRT: Sample{400, 1, 400}, ART: Sample{50_000, 1, 50_000}}),
				edge(false, s0+2, c, 6, Meter{Packets: [2]uint64{2, 1}, Bytes: [2]uint64{120, 60}, FIN: 2,
					ClosedFlow: 1, Closed: closedAs(CloseTCPFin, 1)}),
				edge(true, m0, c, 6, Meter{Packets: [2]uint64{6, 4}, Bytes: [2]uint64{454, 434}, NewFlow: 1,
					RTT: Sample{30_000, 1, 30_000}, RTTClient: Sample{20_000, 1, 20_000}, RTTServer: Sample{10_000, 1, 10_000},
					SYN: 1, SYNACK: 1, CIT: Sample{970_000, 1, 970_000}, SRT: Sample{400, 1, 400}, ART: Sample{50_000, 1, 50_000},
					FIN: 2, ClosedFlow: 1, Closed: closedAs(CloseTCPFin, 1)}),
			},
		},
		{
			// Two clients of one DNS server in second s0: query 72 (42+30),
			// answer 102 (42+60); art 2 000 and 103 000 − 100 000 = 3 000.
			// Flush ends both by timeout (3) in s0, their EndTime's second.
			// One NetworkMap row per client; the Network row sums them (art
			// sum 5 000, count 2, max 3 000).
			name: "two clients one server",
			pkts: P(dns.UDP(C, 0, 30), dns.UDP(S, 2_000, 60), other.UDP(C, 100_000, 30), other.UDP(S, 103_000, 60)),
			want: [][]MetricRow{
				{edge(false, s0, dns, 17, Meter{Packets: [2]uint64{1, 1}, Bytes: [2]uint64{72, 102}, NewFlow: 1,
					ART: Sample{2_000, 1, 2_000}, ClosedFlow: 1, Closed: closedAs(CloseTimeout, 1)})[0]},
				{edge(false, s0, other, 17, Meter{Packets: [2]uint64{1, 1}, Bytes: [2]uint64{72, 102}, NewFlow: 1,
					ART: Sample{3_000, 1, 3_000}, ClosedFlow: 1, Closed: closedAs(CloseTimeout, 1)})[0]},
				{server(false, s0, dns, 17, Meter{Packets: [2]uint64{2, 2}, Bytes: [2]uint64{144, 204}, NewFlow: 2,
					ART: Sample{5_000, 2, 3_000}, ClosedFlow: 2, Closed: closedAs(CloseTimeout, 2)})},
				{edge(true, m0, dns, 17, Meter{Packets: [2]uint64{1, 1}, Bytes: [2]uint64{72, 102}, NewFlow: 1,
					ART: Sample{2_000, 1, 2_000}, ClosedFlow: 1, Closed: closedAs(CloseTimeout, 1)})[0]},
				{edge(true, m0, other, 17, Meter{Packets: [2]uint64{1, 1}, Bytes: [2]uint64{72, 102}, NewFlow: 1,
					ART: Sample{3_000, 1, 3_000}, ClosedFlow: 1, Closed: closedAs(CloseTimeout, 1)})[0]},
				{server(true, m0, dns, 17, Meter{Packets: [2]uint64{2, 2}, Bytes: [2]uint64{144, 204}, NewFlow: 2,
					ART: Sample{5_000, 2, 3_000}, ClosedFlow: 2, Closed: closedAs(CloseTimeout, 2)})},
			},
		},
		{
			// One datagram at 500 000 (s0). The tick at +2 s emits s0. The
			// tick an hour on ends the flow by the single-direction timeout
			// (at s0+5), counted in s0, its EndTime's second: a second row
			// for s0, written late. The minute s0 lies in was not over at the
			// first tick, so its one row holds both.
			name:  "late close",
			pkts:  P(dns.UDP(C, 500_000, 30)),
			ticks: []int64{2 * sec, 3600 * sec},
			want: [][]MetricRow{
				edge(false, s0, dns, 17, Meter{Packets: [2]uint64{1, 0}, Bytes: [2]uint64{72, 0}, NewFlow: 1}),
				edge(false, s0, dns, 17, Meter{ClosedFlow: 1, Closed: closedAs(CloseTimeout, 1)}),
				edge(true, m0, dns, 17, Meter{Packets: [2]uint64{1, 0}, Bytes: [2]uint64{72, 0}, NewFlow: 1,
					ClosedFlow: 1, Closed: closedAs(CloseTimeout, 1)}),
			},
		},
		{
			// A flow across the minute boundary m0+60 = Base+50 s: query at
			// 49.5 s and answer at 49.6 s (art 100 000) in second m0+59, the
			// forced report at m0+60, a query at 50.5 s in m0+60 and the
			// close at Flush (timeout, EndTime 50.5 s). Each minute has the
			// packets of its own report.
			name: "minute boundary",
			pkts: P(dns.UDP(C, 49_500_000, 30), dns.UDP(S, 49_600_000, 60), dns.UDP(C, 50_500_000, 30)),
			want: [][]MetricRow{
				edge(false, m0+59, dns, 17, Meter{Packets: [2]uint64{1, 1}, Bytes: [2]uint64{72, 102}, NewFlow: 1,
					ART: Sample{100_000, 1, 100_000}}),
				edge(true, m0, dns, 17, Meter{Packets: [2]uint64{1, 1}, Bytes: [2]uint64{72, 102}, NewFlow: 1,
					ART: Sample{100_000, 1, 100_000}}),
				edge(false, m0+60, dns, 17, Meter{Packets: [2]uint64{1, 0}, Bytes: [2]uint64{72, 0},
					ClosedFlow: 1, Closed: closedAs(CloseTimeout, 1)}),
				edge(true, m0+60, dns, 17, Meter{Packets: [2]uint64{1, 0}, Bytes: [2]uint64{72, 0},
					ClosedFlow: 1, Closed: closedAs(CloseTimeout, 1)}),
			},
		},
		{
			// A query at 1 000 000 (s0+1), then an answer stamped 900 000,
			// older than the clock's second: it counts in s0+1, the second
			// the table was in (so it stays in its report's minute). No art
			// (negative). EndTime 1 000 000: the close counts in s0+1 too.
			name: "older timestamp counts in the clock's second",
			pkts: P(dns.UDP(C, 1_000_000, 30), dns.UDP(S, 900_000, 60)),
			want: [][]MetricRow{
				edge(false, s0+1, dns, 17, Meter{Packets: [2]uint64{1, 1}, Bytes: [2]uint64{72, 102}, NewFlow: 1,
					ClosedFlow: 1, Closed: closedAs(CloseTimeout, 1)}),
				edge(true, m0, dns, 17, Meter{Packets: [2]uint64{1, 1}, Bytes: [2]uint64{72, 102}, NewFlow: 1,
					ClosedFlow: 1, Closed: closedAs(CloseTimeout, 1)}),
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sink := &aggSink{}
			tb, err := New(testConfig(), sink, 0)
			require.NoError(t, err)
			feed(tb, tc.pkts...)
			for _, at := range tc.ticks {
				tb.Tick(Base + at)
			}
			tb.Flush()
			want := slices.Concat(tc.want...)
			slices.SortStableFunc(want, rowCmp)
			got := slices.Clone(sink.rows)
			slices.SortStableFunc(got, rowCmp)
			require.Equal(t, want, got)
			require.Equal(t, uint64(len(got)), tb.Stats().MetricRows)
			requireAggregatesMatch(t, sink.recs, sink.rows)
		})
	}
}

// recordMeter is what a flow report contributes to the aggregates of its
// EndTime's minute, per the definitions on Meter.
func recordMeter(r *FlowRecord, first bool) Meter {
	m := Meter{
		Packets: [2]uint64{r.PacketsTx, r.PacketsRx}, Bytes: [2]uint64{r.BytesTx, r.BytesRx},
		SRT:           Sample{r.SRTSum, r.SRTCount, uint32(r.SRTMax)},
		ART:           Sample{r.ARTSum, r.ARTCount, uint32(r.ARTMax)},
		CIT:           Sample{r.CITSum, r.CITCount, uint32(r.CITMax)},
		Retrans:       [2]uint32{r.RetransTx, r.RetransRx},
		ZeroWin:       [2]uint32{r.ZeroWinTx, r.ZeroWinRx},
		OOO:           [2]uint32{r.OOOTx, r.OOORx},
		Lost:          [2]uint32{r.LostTx, r.LostRx},
		LostBeforeTap: [2]uint32{r.LostBeforeTapTx, r.LostBeforeTapRx},
		SYN:           r.SYNCount, SYNACK: r.SYNACKCount, FIN: r.FINCount,
	}
	m.RTT.addMeasured(r.RTT)
	m.RTTClient.addMeasured(r.RTTClient)
	m.RTTServer.addMeasured(r.RTTServer)
	if first {
		m.NewFlow = 1
	}
	if r.CloseType != CloseForcedReport {
		m.countClose(r.CloseType)
	}
	return m
}

// requireAggregatesMatch checks the invariant of doc.go: per minute, the
// metrics summed over the 1 s rows, over the 1 m rows and over the flow
// reports ending in it are equal, for network and network_map alike, and a
// Network row is the sum of its server's NetworkMap rows.
func requireAggregatesMatch(t *testing.T, recs []FlowRecord, rows []MetricRow) {
	t.Helper()
	byRecords := map[time.Time]*Meter{}
	seen := map[uint64]bool{}
	for i := range recs {
		r := &recs[i]
		k := r.EndTime.Truncate(time.Minute)
		if byRecords[k] == nil {
			byRecords[k] = &Meter{}
		}
		m := recordMeter(r, !seen[r.FlowID])
		seen[r.FlowID] = true
		byRecords[k].Add(&m)
	}
	var perTable [NumMetricTables]map[time.Time]*Meter
	type serverKey struct {
		minute bool
		at     time.Time
		srv    netip.AddrPort
	}
	var perServer [2]map[serverKey]*Meter // map rows, network rows
	for i := range perServer {
		perServer[i] = map[serverKey]*Meter{}
	}
	for i := range perTable {
		perTable[i] = map[time.Time]*Meter{}
	}
	for i := range rows {
		r := &rows[i]
		require.Equal(t, r.Table.IsMap(), r.ClientIP.IsValid(), "client ip in map rows only")
		minute := r.Table == Network1m || r.Table == NetworkMap1m
		if minute {
			require.Zero(t, r.Time.Second(), "1m rows are at a minute's start")
		}
		k := r.Time.Truncate(time.Minute)
		if perTable[r.Table][k] == nil {
			perTable[r.Table][k] = &Meter{}
		}
		perTable[r.Table][k].Add(&r.Meter)
		sk := serverKey{minute, r.Time, netip.AddrPortFrom(r.ServerIP, r.ServerPort)}
		side := 1
		if r.Table.IsMap() {
			side = 0
		}
		if perServer[side][sk] == nil {
			perServer[side][sk] = &Meter{}
		}
		perServer[side][sk].Add(&r.Meter)
	}
	for tbl := range perTable {
		require.Equal(t, byRecords, perTable[tbl], "%s per minute vs flow records", MetricTable(tbl))
	}
	require.Equal(t, perServer[0], perServer[1], "network rows are the sum of their network_map rows")
}

// TestAggregatesMatchRecords checks the invariant on every hand-worked
// close-type and metric case (each ending by the clock and by Flush), and
// on long multi-minute traffic: TCP connections with forced reports at
// every minute, and UDP churn with timeouts and evictions.
func TestAggregatesMatchRecords(t *testing.T) {
	for _, cs := range [][]Case{CloseCases, MetricCases} {
		for _, tc := range cs {
			for _, flush := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/flush=%v", tc.Name, flush), func(t *testing.T) {
					sink := &aggSink{}
					tb, err := New(testConfig(), sink, 0)
					require.NoError(t, err)
					feed(tb, tc.Pkts...)
					if flush {
						tb.Flush()
					} else {
						tb.Tick(tc.Pkts[len(tc.Pkts)-1].At + 3600*sec)
						require.Zero(t, tb.Stats().Active)
						tb.Flush() // the minute still open
					}
					require.NotEmpty(t, sink.rows)
					requireAggregatesMatch(t, sink.recs, sink.rows)
				})
			}
		}
	}
	for _, tc := range []struct {
		name    string
		flows   int
		churn   bool
		packets int
	}{
		{"tcp 300 connections 4 minutes", 300, false, 240_000},
		{"udp churn with evictions", 0, true, 300_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &aggSink{}
			cfg := testConfig()
			cfg.Capacity = 4096
			tb, err := New(cfg, sink, 0)
			require.NoError(t, err)
			g := newTraffic(tc.flows, tc.churn)
			for range tc.packets {
				tb.Update(g.next())
			}
			tb.Flush()
			st := tb.Stats()
			if tc.churn {
				require.NotZero(t, st.Evicted)
			} else {
				require.NotZero(t, st.Forced)
			}
			requireAggregatesMatch(t, sink.recs, sink.rows)
		})
	}
}

// A sink that is not a MetricsSink gets no aggregates.
func TestAggregatesOff(t *testing.T) {
	tb, sink := newTestTable(t, testConfig())
	feed(tb, c.Handshake()...)
	tb.Tick(Base + 3600*sec)
	require.Len(t, sink.recs, 1)
	require.Zero(t, tb.Stats().MetricRows)
	require.Nil(t, tb.agg.sec.slots)
}

// TestAggSetReset: a set grown well past its initial size, emptied, and
// emptied again more times than its generations count, forgets every key
// each time and numbers new ones from 0 again; the same key in another
// second is another entry.
func TestAggSetReset(t *testing.T) {
	var s aggSet
	s.init(4)
	fill := func(n int, sec int64) {
		t.Helper()
		for i := range n {
			k := aggKey{sec: sec, srvPort: uint16(i), cli: [16]byte{15: byte(i >> 8)}}
			require.Equal(t, uint32(i), s.get(&k))
			require.Equal(t, uint32(i), s.get(&k), "the same key again")
		}
		require.Len(t, s.entries, n)
		require.GreaterOrEqual(t, s.mask+1, uint64(2*n))
		k := aggKey{sec: sec + 1}
		require.Equal(t, uint32(n), s.get(&k), "another second")
	}
	fill(5000, 1)
	slots := len(s.slots)
	for i := range aggGenMax + 10 {
		s.reset()
		require.Empty(t, s.entries)
		fill(3, int64(i%7))
	}
	require.Equal(t, slots, len(s.slots), "a set keeps its size")
	require.Equal(t, uint64(15), s.mask, "a set of 4 entries probes 16 slots")
	s.reset()
	fill(5000, 2)
	require.Equal(t, slots, len(s.slots), "growing back within the slots allocates none")
	require.GreaterOrEqual(t, s.mask+1, uint64(2*5001))
}
