package clickhouse_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dataplane"
	"github.com/tapflow/tapflow/flowtable"
	"github.com/tapflow/tapflow/internal/pcapgen"
	"github.com/tapflow/tapflow/internal/testserver"
	"github.com/tapflow/tapflow/storage/clickhouse"
)

// store is the sink a dataplane writes to: flow records to the l4_flow_log
// writer, aggregates to the flow_metrics writer.
type store struct {
	w  *clickhouse.Writer
	mw *clickhouse.MetricsWriter
}

func (s *store) WriteFlows(recs []flowtable.FlowRecord)  { s.w.Write(recs) }
func (s *store) WriteMetrics(rows []flowtable.MetricRow) { s.mw.Write(rows) }

// metricExpr is one compared metric: its expression over a flow_metrics
// table and over l4_flow_log (per minute). An empty l4 expression is
// computed separately (new_flow).
type metricExpr struct{ name, agg, l4 string }

func comparedMetrics() []metricExpr {
	var ms []metricExpr
	for _, c := range []string{"packets_tx", "packets_rx", "bytes_tx", "bytes_rx", "retrans_tx", "retrans_rx",
		"zero_win_tx", "zero_win_rx", "ooo_tx", "ooo_rx", "lost_tx", "lost_rx", "lost_before_tap_tx",
		"lost_before_tap_rx", "syn_count", "synack_count", "fin_count"} {
		ms = append(ms, metricExpr{c, "sum(" + c + ")", "sum(" + c + ")"})
	}
	ms = append(ms, metricExpr{"new_flow", "sum(new_flow)", ""},
		metricExpr{"closed_flow", "sum(closed_flow)", "countIf(close_type != 5)"})
	for _, p := range []string{"rtt", "rtt_client", "rtt_server"} {
		ms = append(ms,
			metricExpr{p + "_sum", "sum(" + p + "_sum_us)", "sum(" + p + "_us)"},
			metricExpr{p + "_count", "sum(" + p + "_count)", "countIf(" + p + "_us > 0)"},
			metricExpr{p + "_max", "max(" + p + "_max_us)", "max(" + p + "_us)"})
	}
	for _, p := range []string{"srt", "art", "cit"} {
		ms = append(ms,
			metricExpr{p + "_sum", "sum(" + p + "_sum_us)", "sum(" + p + "_sum_us)"},
			metricExpr{p + "_count", "sum(" + p + "_count)", "sum(" + p + "_count)"},
			metricExpr{p + "_max", "max(" + p + "_max_us)", "max(" + p + "_max_us)"})
	}
	for ct, col := range map[int]string{1: "tcp_fin", 2: "server_rst", 3: "timeout", 7: "client_syn_repeat",
		8: "server_half_close", 9: "client_rst", 10: "server_syn_ack_repeat", 11: "client_half_close",
		13: "client_port_reuse", 15: "server_reset", 17: "server_queue_lack", 18: "server_no_response",
		19: "client_no_response", 20: "client_establish_rst"} {
		ms = append(ms, metricExpr{col, "sum(" + col + ")", fmt.Sprintf("countIf(close_type = %d)", ct)})
	}
	slices.SortFunc(ms, func(a, b metricExpr) int { return strings.Compare(a.name, b.name) })
	return ms
}

// perMinute runs a query whose rows are (minute, values...), all UInt64,
// and returns minute → values.
func perMinute(t *testing.T, db *clickhouse.DB, database, sql string) map[uint64][]uint64 {
	t.Helper()
	res, err := db.Query(context.Background(), database, sql, clickhouse.QueryOptions{MaxRows: 1 << 20})
	require.NoError(t, err, sql)
	require.False(t, res.Truncated)
	out := map[uint64][]uint64{}
	for _, row := range res.Rows {
		vals := make([]uint64, len(row)-1)
		for i, v := range row[1:] {
			vals[i] = v.(uint64)
		}
		out[row[0].(uint64)] = vals
	}
	return out
}

// TestAggregatesMatchFlowLog replays captures through the dataplane (one
// and four workers) into a real ClickHouse and checks, with SQL, that for
// every minute the metrics summed over network.1s, network.1m,
// network_map.1s and network_map.1m equal the same metrics over the
// l4_flow_log rows of that minute (max for the max columns).
func TestAggregatesMatchFlowLog(t *testing.T) {
	generated := filepath.Join(t.TempDir(), "mixed.pcap")
	require.NoError(t, pcapgen.Write(generated, mixedTraffic()))
	const kxun = "../../../shared/pcaps/ndpi/1kxun.pcap"
	cases := []struct {
		name, pcap string
		workers    int
		shared     bool
	}{
		{"mixed/workers=1", generated, 1, false},
		{"mixed/workers=4", generated, 4, false},
		{"1kxun/workers=4", kxun, 4, true},
	}
	ms := comparedMetrics()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.shared {
				if _, err := os.Stat(tc.pcap); err != nil {
					if os.Getenv("CI") != "" {
						t.Fatalf("shared capture missing: %v", err)
					}
					t.Skipf("!!! shared capture missing: %v !!!", err)
				}
			}
			ctx := context.Background()
			db, err := clickhouse.Open(ctx, clickhouse.Config{Addr: testserver.Shared(t),
				DatabasePrefix: testserver.UniqueName(t) + "_"}, nil)
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, db.Close()) })
			require.NoError(t, db.EnsureSchema(ctx))
			w, err := clickhouse.NewWriter(db, clickhouse.WriterConfig{}, nil, nil)
			require.NoError(t, err)
			mw, err := clickhouse.NewMetricsWriter(db, clickhouse.WriterConfig{}, nil, nil)
			require.NoError(t, err)

			src, err := dataplane.OpenPcap(tc.pcap)
			require.NoError(t, err)
			defer src.Close()
			cfg := dataplane.DefaultConfig()
			cfg.Workers, cfg.RecoverPanics = tc.workers, false
			cfg.Flow.Capacity = 1 << 14
			p, err := dataplane.New(cfg, &store{w, mw}, nil)
			require.NoError(t, err)
			require.NoError(t, p.Run(ctx, src))
			require.NoError(t, w.Close(ctx))
			require.NoError(t, mw.Close(ctx))
			st := p.Stats()
			require.NotZero(t, st.Flows.Packets)

			var aggCols, l4Cols []string
			for _, m := range ms {
				aggCols = append(aggCols, "toUInt64("+m.agg+")")
				if m.l4 == "" {
					m.l4 = "0"
				}
				l4Cols = append(l4Cols, "toUInt64("+m.l4+")")
			}
			const minute = "toUInt64(toUInt32(toStartOfMinute(time))) AS m"
			flowLog := db.Database(clickhouse.FlowLogDB)
			want := perMinute(t, db, flowLog, fmt.Sprintf("SELECT %s, %s FROM l4_flow_log GROUP BY m",
				minute, strings.Join(l4Cols, ", ")))
			// A flow's first report is in the minute of its first packet.
			newFlows := perMinute(t, db, flowLog, "SELECT toUInt64(toUInt32(toStartOfMinute(first))) AS m, count() FROM "+
				"(SELECT flow_id, min(time) AS first FROM l4_flow_log GROUP BY flow_id) GROUP BY m")
			i := slices.IndexFunc(ms, func(m metricExpr) bool { return m.name == "new_flow" })
			for m, n := range newFlows {
				require.Contains(t, want, m)
				want[m][i] = n[0]
			}
			for _, table := range []string{clickhouse.Network1s, clickhouse.Network1m, clickhouse.NetworkMap1s, clickhouse.NetworkMap1m} {
				got := perMinute(t, db, db.Database(clickhouse.FlowMetricsDB), fmt.Sprintf("SELECT %s, %s FROM `%s` GROUP BY m",
					minute, strings.Join(aggCols, ", "), table))
				for m := range want {
					require.Equal(t, named(ms, want[m]), named(ms, got[m]), "%s, minute %s", table, time.Unix(int64(m), 0).UTC())
				}
				require.Len(t, got, len(want), table)
			}

			// The query shape the README documents runs.
			res, err := db.Query(ctx, db.Database(clickhouse.FlowMetricsDB), "SELECT time, server_port, "+
				"sum(packets_tx + packets_rx) AS packets, sum(rtt_sum_us) / sum(rtt_count) AS rtt_avg, "+
				"max(rtt_max_us) AS rtt_max FROM `network.1m` GROUP BY time, server_port", clickhouse.QueryOptions{})
			require.NoError(t, err)
			require.NotEmpty(t, res.Rows)

			// Not vacuous: several minutes, and the metrics occurred.
			require.Greater(t, len(want), 2)
			total := map[string]uint64{}
			for _, v := range want {
				for i, m := range ms {
					total[m.name] += v[i]
				}
			}
			t.Logf("%d minutes; totals over l4_flow_log: %v", len(want), total)
			for _, name := range []string{"packets_tx", "new_flow", "closed_flow", "rtt_count", "srt_count", "art_count"} {
				require.NotZero(t, total[name], name)
			}
			if !tc.shared {
				for _, name := range []string{"retrans_tx", "zero_win_rx", "tcp_fin", "client_rst", "timeout", "cit_count"} {
					require.NotZero(t, total[name], name)
				}
				require.NotZero(t, st.Flows.Forced, "long flows got forced reports")
			}
		})
	}
}

// named pairs metric names with values for readable diffs.
func named(ms []metricExpr, v []uint64) map[string]uint64 {
	if v == nil {
		return nil
	}
	out := make(map[string]uint64, len(ms))
	for i, m := range ms {
		out[m.name] = v[i]
	}
	return out
}

// tcpConv builds the packets of one TCP connection, tracking sequence
// numbers.
type tcpConv struct {
	cli, srv   netip.AddrPort
	cseq, sseq uint32
}

func (c *tcpConv) pkt(at int64, fromClient bool, flags uint8, n int, window uint16) pcapgen.Packet {
	p := pcapgen.Packet{At: at, Proto: pcapgen.TCP, Flags: flags, Window: window, Payload: n}
	adv := uint32(n)
	if flags&(pcapgen.SYN|pcapgen.FIN) != 0 {
		adv++
	}
	if fromClient {
		p.Src, p.Dst, p.Seq, p.Ack = c.cli, c.srv, c.cseq, c.sseq
		c.cseq += adv
	} else {
		p.Src, p.Dst, p.Seq, p.Ack = c.srv, c.cli, c.sseq, c.cseq
		c.sseq += adv
	}
	if flags&pcapgen.ACK == 0 {
		p.Ack = 0
	}
	return p
}

// mixedTraffic is about four minutes of traffic starting 30 s after a minute
// boundary: 120 TCP connections from 40 clients to 3 servers (ports 80 and
// 443), each a handshake and 1 to 100 request/response rounds 2 s apart (the
// long ones cross minute boundaries and get forced reports), a
// retransmitted request on every 7th, a zero window on every 11th; ended by
// FIN, by a client RST (every 5th) or not at all (every 13th: the end of
// the replay ends it); plus DNS queries and answers, and unanswered UDP
// (ended by timeout).
func mixedTraffic() []pcapgen.Packet {
	const (
		ms   = int64(1000)
		sec  = 1000 * ms
		base = int64(1_704_067_230) * sec // 2024-01-01 00:00:30 UTC
	)
	const A, P, S, F, R = pcapgen.ACK, pcapgen.PSH, pcapgen.SYN, pcapgen.FIN, pcapgen.RST
	var pkts []pcapgen.Packet
	servers := []netip.Addr{netip.MustParseAddr("10.9.0.1"), netip.MustParseAddr("10.9.0.2"), netip.MustParseAddr("2001:db8::9")}
	for i := range 120 {
		srv := servers[i%3]
		cli := netip.AddrFrom4([4]byte{10, 1, 0, byte(i % 40)})
		if srv.Is6() {
			cli = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i % 40)})
		}
		port := uint16(80)
		if i%2 == 1 {
			port = 443
		}
		c := &tcpConv{cli: netip.AddrPortFrom(cli, uint16(30000+i)), srv: netip.AddrPortFrom(srv, port),
			cseq: uint32(i) * 100_000, sseq: uint32(i) * 7_000_000}
		t := base + int64(i)*1300*ms
		pkts = append(pkts, c.pkt(t, true, S, 0, 65535), c.pkt(t+300, false, S|A, 0, 65535), c.pkt(t+700, true, A, 0, 65535))
		rounds := 1 + (i*37)%100
		for r := range rounds {
			at := t + 100*ms + int64(r)*2*sec
			req := c.pkt(at, true, P|A, 100+i, 65535)
			pkts = append(pkts, req)
			if i%7 == 0 && r == 0 {
				req.At += 200 // the same segment again: a retransmission
				pkts = append(pkts, req)
			}
			win := uint16(65535)
			if i%11 == 0 && r == 0 {
				win = 0
			}
			pkts = append(pkts, c.pkt(at+300, false, A, 0, win), c.pkt(at+5*ms, false, P|A, 1000, 65535),
				c.pkt(at+5*ms+200, true, A, 0, 65535))
		}
		end := t + 100*ms + int64(rounds)*2*sec
		switch {
		case i%13 == 0:
		case i%5 == 0:
			pkts = append(pkts, c.pkt(end, true, R|A, 0, 0))
		default:
			pkts = append(pkts, c.pkt(end, true, F|A, 0, 65535), c.pkt(end+400, false, F|A, 0, 65535),
				c.pkt(end+800, true, A, 0, 65535))
		}
	}
	dns := netip.AddrPortFrom(netip.MustParseAddr("10.9.0.53"), 53)
	for q := range 40 {
		cli := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, 0, byte(q % 40)}), uint16(50000+q))
		at := base + int64(q)*5*sec + 123*ms
		pkts = append(pkts, pcapgen.Packet{At: at, Proto: pcapgen.UDP, Src: cli, Dst: dns, Payload: 40})
		if q%4 != 0 {
			pkts = append(pkts, pcapgen.Packet{At: at + 2*ms, Proto: pcapgen.UDP, Src: dns, Dst: cli, Payload: 90})
		}
	}
	slices.SortStableFunc(pkts, func(a, b pcapgen.Packet) int { return int(a.At - b.At) })
	return pkts
}
