package clickhouse

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/flowtable"
	"github.com/tapflow/tapflow/internal/testserver"
	"github.com/tapflow/tapflow/storage/chserver"
)

// metricContract is the column contract of the flow_metrics tables with the
// console and CLI, spelled out here on purpose rather than derived from
// meterColumns.
var metricContract = []string{
	"packets_tx", "packets_rx", "bytes_tx", "bytes_rx", "new_flow", "closed_flow",
	"rtt_sum_us", "rtt_count", "rtt_max_us", "rtt_client_sum_us", "rtt_client_count", "rtt_client_max_us",
	"rtt_server_sum_us", "rtt_server_count", "rtt_server_max_us", "srt_sum_us", "srt_count", "srt_max_us",
	"art_sum_us", "art_count", "art_max_us", "cit_sum_us", "cit_count", "cit_max_us",
	"retrans_tx", "retrans_rx", "zero_win_tx", "zero_win_rx", "ooo_tx", "ooo_rx", "lost_tx", "lost_rx",
	"lost_before_tap_tx", "lost_before_tap_rx", "syn_count", "synack_count", "fin_count",
	"tcp_fin", "server_rst", "timeout", "client_syn_repeat", "server_half_close", "client_rst",
	"server_syn_ack_repeat", "client_half_close", "client_port_reuse", "server_reset", "server_queue_lack",
	"server_no_response", "client_no_response", "client_establish_rst",
}

var (
	networkContract = append([]string{"time", "tap_type", "tap_port", "proto", "is_ipv4",
		"server_ip4", "server_ip6", "server_port"}, metricContract...)
	networkMapContract = append([]string{"time", "tap_type", "tap_port", "proto", "is_ipv4",
		"client_ip4", "client_ip6", "server_ip4", "server_ip6", "server_port"}, metricContract...)
)

// fillMeter sets every metric column of m to a distinct value from base.
func fillMeter(m *flowtable.Meter, base uint64) {
	for i, mc := range meterColumns {
		if mc.u64 != nil {
			*mc.u64(m) = base + uint64(i)
		} else {
			*mc.u32(m) = uint32(base) + uint32(i)
		}
	}
}

// testMetricRows returns n rows of table tbl, one second apart from
// testBase, cycling through IPv4, IPv6 and IPv4-mapped IPv6 servers (and
// clients in map rows).
func testMetricRows(n int, tbl flowtable.MetricTable, first uint64) []flowtable.MetricRow {
	rows := make([]flowtable.MetricRow, n)
	for i := range rows {
		id := first + uint64(i)
		r := &rows[i]
		r.Table = tbl
		r.Time = testBase.Add(time.Duration(id%600) * time.Second)
		if tbl == flowtable.Network1m || tbl == flowtable.NetworkMap1m {
			r.Time = r.Time.Truncate(time.Minute)
		}
		r.TapType, r.TapPort, r.Proto, r.ServerPort = 3, uint32(id%5), 6, uint16(id)
		switch id % 3 {
		case 0:
			r.ServerIP = netip.AddrFrom4([4]byte{10, byte(id >> 16), byte(id >> 8), byte(id)})
			r.ClientIP = netip.MustParseAddr("192.0.2.1")
		case 1:
			r.ServerIP = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(id >> 8), 15: byte(id)})
			r.ClientIP = netip.MustParseAddr("2001:db8::1")
		case 2:
			r.ServerIP = netip.MustParseAddr("::ffff:172.16.0.10")
			r.ClientIP = netip.MustParseAddr("::ffff:172.16.0.9")
		}
		if !tbl.IsMap() {
			r.ClientIP = netip.Addr{}
		}
		fillMeter(&r.Meter, id*1000)
	}
	return rows
}

func TestMetricColumns(t *testing.T) {
	names := func(cols []column) []string {
		var out []string
		for _, c := range cols {
			out = append(out, c.name)
		}
		return out
	}
	require.Equal(t, networkContract, names(metricColumns(false)))
	require.Equal(t, networkMapContract, names(metricColumns(true)))
	for _, isMap := range []bool{false, true} {
		require.Len(t, newMetricCols(isMap).values(), len(metricColumns(isMap)), "one column slice per column")
	}
	// Each close type's column counts exactly that close type.
	for _, ct := range flowtable.CloseClasses {
		var m flowtable.Meter
		for i, c := range flowtable.CloseClasses {
			m.Closed[i] = uint32(c)
		}
		col := closeColumns[ct]
		for _, mc := range meterColumns {
			if mc.name == col {
				require.Equal(t, uint32(ct), *mc.u32(&m), col)
				require.Equal(t, m.ClosedBy(ct), *mc.u32(&m), col)
			}
		}
	}
	v, err := ParseVersion("18.16.1")
	require.NoError(t, err)
	ddl := createLocalTable("flow_metrics", NetworkMap1s, metricColumns(true), networkMapOrderBy, featuresOf(v), time.Hour)
	require.Contains(t, ddl, "CREATE TABLE IF NOT EXISTS `flow_metrics`.`network_map.1s_local` (")
	require.Contains(t, ddl, "ENGINE = MergeTree\n")
	require.Contains(t, createQueryTable("flow_metrics", Network1s, ""), `Merge('flow_metrics', '^network\\.1s_local$')`)
}

func TestMetricSpoolEncoding(t *testing.T) {
	for tbl := range flowtable.NumMetricTables {
		t.Run(tbl.String(), func(t *testing.T) {
			c := newMetricCols(tbl.IsMap())
			rows := testMetricRows(7, tbl, 1)
			rows[0].ServerIP = netip.Addr{} // invalid addresses survive as invalid
			require.Len(t, c.encode(nil, &rows[1]), metricSpoolRecordSize)
			got, err := decodeSegment(c, encodeSegment(c, rows))
			require.NoError(t, err)
			for i := range rows {
				require.True(t, rows[i].Time.Equal(got[i].Time))
				got[i].Time = rows[i].Time
			}
			require.Equal(t, rows, got)
			_, err = decodeSegment(c, encodeSegment(&l4Cols{}, testRecords(2, 1)))
			require.ErrorIs(t, err, ErrCorruptSegment, "a flow segment is not a metrics segment")
		})
	}
}

// Rows of one batch with the same table, time and key are summed, the max
// columns keeping the larger value.
func TestMetricCompact(t *testing.T) {
	rows := testMetricRows(3, flowtable.Network1s, 3) // ids 3, 4, 5: three keys
	dup := rows[0]
	dup.Meter = flowtable.Meter{Packets: [2]uint64{1, 2}, RTT: flowtable.Sample{Sum: 10, Count: 1, Max: 1 << 30}}
	in := append(rows, dup)
	want := rows[0].Meter
	want.Add(&dup.Meter)
	got := newMetricCols(false).compact(in)
	require.Len(t, got, 3)
	require.Equal(t, want, got[0].Meter)
	require.Equal(t, uint32(1<<30), got[0].RTT.Max)
	require.Equal(t, rows[1], got[1])
}

// metricSums sums a few columns of a flow_metrics table.
func metricSums(t *testing.T, db *DB, table string) []uint64 {
	t.Helper()
	var rows, pkts, rttSum, rttMax, closed, timeout uint64
	q := fmt.Sprintf("SELECT count(), sum(packets_tx), sum(rtt_sum_us), toUInt64(max(rtt_max_us)), sum(closed_flow), sum(timeout) FROM %s.`%s`",
		quoteIdent(db.Database(FlowMetricsDB)), table)
	require.NoError(t, db.conn.QueryRow(testCtx(t), q).Scan(&rows, &pkts, &rttSum, &rttMax, &closed, &timeout))
	return []uint64{rows, pkts, rttSum, rttMax, closed, timeout}
}

func TestMetricsWriterRoundTrip(t *testing.T) {
	db := openTest(t, Config{})
	reg := prometheus.NewRegistry()
	w, err := NewMetricsWriter(db, WriterConfig{BatchSize: 1000, FlushInterval: 100 * time.Millisecond}, reg, nil)
	require.NoError(t, err)

	// Mixed batches, as a table emits them; each row of network.1s twice
	// in one call (two workers): the writer sums them into one row.
	var all []flowtable.MetricRow
	for tbl := range flowtable.NumMetricTables {
		all = append(all, testMetricRows(300, tbl, 1)...)
	}
	n1s := testMetricRows(300, flowtable.Network1s, 1)
	w.Write(all[:450])
	w.Write(n1s)
	w.Write(all[450:])
	require.NoError(t, w.Close(testCtx(t)))

	for tbl := range flowtable.NumMetricTables {
		t.Run(tbl.String(), func(t *testing.T) {
			rows := testMetricRows(300, tbl, 1)
			var pkts, rttSum, closed, timeout uint64
			var rttMax uint32
			factor := uint64(1)
			if tbl == flowtable.Network1s {
				factor = 2
			}
			for i := range rows {
				m := &rows[i].Meter
				pkts += m.Packets[0] * factor
				rttSum += m.RTT.Sum * factor
				rttMax = max(rttMax, m.RTT.Max)
				closed += uint64(m.ClosedFlow) * factor
				timeout += uint64(m.ClosedBy(flowtable.CloseTimeout)) * factor
			}
			require.Equal(t, []uint64{300, pkts, rttSum, uint64(rttMax), closed, timeout}, metricSums(t, db, metricTables[tbl]))
			require.Equal(t, 300.0, metric(t, reg, "tapflow_storage_rows_written_total", "table", metricTables[tbl]))
		})
	}

	// Field values of one row of each address family, read back.
	table := quoteIdent(db.Database(FlowMetricsDB)) + ".`network_map.1s`"
	q := `SELECT is_ipv4,
       if(is_ipv4 = 1, IPv4NumToString(toUInt32(client_ip4)), IPv6NumToString(toFixedString(client_ip6, 16))),
       if(is_ipv4 = 1, IPv4NumToString(toUInt32(server_ip4)), IPv6NumToString(toFixedString(server_ip6, 16))),
       toUInt32(time), tap_port, bytes_rx, cit_max_us, client_establish_rst
FROM %s WHERE server_port = %d`
	for _, tc := range []struct {
		port           uint16
		isIPv4         uint8
		client, server string
	}{
		{3, 1, "192.0.2.1", "10.0.0.3"},
		{4, 0, "2001:db8::1", "2001:db8::4"},
		{5, 1, "172.16.0.9", "172.16.0.10"},
	} {
		r := testMetricRows(300, flowtable.NetworkMap1s, 1)[tc.port-1]
		var isIPv4 uint8
		var client, server string
		var at, tapPort, citMax, estRst uint32
		var bytesRx uint64
		require.NoError(t, db.conn.QueryRow(testCtx(t), fmt.Sprintf(q, table, tc.port)).Scan(
			&isIPv4, &client, &server, &at, &tapPort, &bytesRx, &citMax, &estRst))
		require.Equal(t, []any{tc.isIPv4, tc.client, tc.server, uint32(r.Time.Unix()), r.TapPort, r.Bytes[1], r.CIT.Max,
			r.ClosedBy(flowtable.CloseClientEstablishRst)},
			[]any{isIPv4, client, server, at, tapPort, bytesRx, citMax, estRst})
	}
}

// A metrics batch whose INSERT may have happened (an .inflight segment) is
// matched against the table on every column: only missing rows go in, and
// two identical rows count as two.
func TestMetricsWriterUnfinishedBatches(t *testing.T) {
	db := openTest(t, Config{})
	local := quoteIdent(db.Database(FlowMetricsDB)) + ".`network_map.1m_local`"
	b1 := testMetricRows(40, flowtable.NetworkMap1m, 1)
	b2 := testMetricRows(40, flowtable.NetworkMap1m, 41)
	b2[11] = b2[10] // identical rows (compact would merge them; a spooled batch is replayed as is)
	w, err := NewMetricsWriter(db, WriterConfig{}, nil, nil)
	require.NoError(t, err)
	w.Write(b1)
	require.NoError(t, w.Flush(testCtx(t)))
	w.Write(b2[:10]) // rows 0..9 of b2 made it
	require.NoError(t, w.Close(testCtx(t)))
	require.Equal(t, uint64(50), queryUint(t, db, "SELECT count() FROM "+local))

	spoolDir := t.TempDir()
	sp, err := openSpool(filepath.Join(spoolDir, NetworkMap1m))
	require.NoError(t, err)
	c := newMetricCols(true)
	for _, b := range [][]flowtable.MetricRow{b1, b2} {
		require.NoError(t, sp.append(encodeSegment(c, b), len(b), true))
	}
	reg := prometheus.NewRegistry()
	w2, err := NewMetricsWriter(db, WriterConfig{SpoolDir: spoolDir, FlushInterval: 20 * time.Millisecond}, reg, nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(segments(t, sp.dir)) == 0 }, 30*time.Second, 20*time.Millisecond)
	require.NoError(t, w2.Close(testCtx(t)))

	require.Equal(t, uint64(80), queryUint(t, db, "SELECT count() FROM "+local))
	require.Equal(t, uint64(2), queryUint(t, db, fmt.Sprintf("SELECT count() FROM %s WHERE server_port = %d", local, b2[10].ServerPort)))
	require.Equal(t, 80.0, metric(t, reg, "tapflow_storage_rows_written_total", "table", NetworkMap1m))
	require.Equal(t, 1.0, metric(t, reg, "tapflow_storage_batches_written_total", "table", NetworkMap1m), "batch 1 needed no insert")
}

// With ClickHouse down, each table's rows go to its own spool directory and
// are replayed when it is back.
func TestMetricsWriterSpool(t *testing.T) {
	dir := t.TempDir()
	srv := testserver.ClickHouseServer(t, chserver.Options{DataDir: dir})
	db := openTest(t, Config{Addr: srv.Addr(), DatabasePrefix: "mspool_"})
	require.NoError(t, srv.Stop())

	spoolDir := t.TempDir()
	reg := prometheus.NewRegistry()
	cfg := WriterConfig{BatchSize: 100, FlushInterval: 50 * time.Millisecond, SpoolDir: spoolDir,
		RetryMin: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond, InsertTimeout: 5 * time.Second}
	w, err := NewMetricsWriter(db, cfg, reg, nil)
	require.NoError(t, err)
	for tbl := range flowtable.NumMetricTables {
		w.Write(testMetricRows(100, tbl, 1))
	}
	require.NoError(t, w.Flush(testCtx(t)))
	for tbl := range flowtable.NumMetricTables {
		require.Equal(t, map[string]int{extSeg: 1}, segments(t, filepath.Join(spoolDir, metricTables[tbl])), metricTables[tbl])
	}

	srv2, err := chserver.Start(testCtx(t), chserver.Options{DataDir: dir, TCPPort: srv.TCPPort()})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv2.Stop()) })
	require.Eventually(t, func() bool {
		for _, name := range metricTables {
			if metric(t, reg, "tapflow_storage_rows_written_total", "table", name) != 100 {
				return false
			}
		}
		return true
	}, 30*time.Second, 20*time.Millisecond)
	require.NoError(t, w.Close(testCtx(t)))
	for tbl := range flowtable.NumMetricTables {
		require.Equal(t, uint64(100), metricSums(t, db, metricTables[tbl])[0])
		require.Empty(t, segments(t, filepath.Join(spoolDir, metricTables[tbl])))
	}
}

// A table created by an older tapflow gets the columns added since, on the
// local and the query table.
func TestEnsureSchemaAddsColumns(t *testing.T) {
	for _, cluster := range []string{"tapflow", "no_such_cluster"} {
		t.Run(cluster, func(t *testing.T) {
			cfg := Config{Addr: testserver.Shared(t), DatabasePrefix: testserver.UniqueName(t) + "_", Cluster: cluster}
			db, err := Open(testCtx(t), cfg, nil)
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, db.Close()) })
			flowLog := db.Database(FlowLogDB)
			require.NoError(t, db.Exec(testCtx(t), "CREATE DATABASE "+quoteIdent(flowLog)))
			var old []column
			for _, c := range l4Columns {
				if !strings.HasPrefix(c.name, "lost_before_tap") {
					old = append(old, c)
				}
			}
			cl, err := db.clusterOrEmpty(testCtx(t))
			require.NoError(t, err)
			require.NoError(t, db.Exec(testCtx(t), createLocalTable(flowLog, L4FlowLog, old, l4OrderBy, db.feat, time.Hour)))
			require.NoError(t, db.Exec(testCtx(t), createQueryTable(flowLog, L4FlowLog, cl)))

			require.NoError(t, db.EnsureSchema(testCtx(t)))
			for _, table := range []string{"l4_flow_log_local", "l4_flow_log"} {
				res, err := db.Query(testCtx(t), flowLog, "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = '"+table+"'", QueryOptions{})
				require.NoError(t, err)
				var names []string
				for _, r := range res.Rows {
					names = append(names, r[0].(string))
				}
				require.Equal(t, l4Contract, names, table)
			}
			// The writer inserts into the migrated table.
			w, err := NewWriter(db, WriterConfig{}, nil, nil)
			require.NoError(t, err)
			w.Write(testRecords(3, 1))
			require.NoError(t, w.Close(testCtx(t)))
			require.Equal(t, uint64(3*(3+4)), queryUint(t, db, "SELECT sum(lost_before_tap_tx + lost_before_tap_rx) FROM "+quoteIdent(flowLog)+".l4_flow_log"))
		})
	}
}

func TestEnsureSchemaMetrics(t *testing.T) {
	db := openTest(t, Config{})
	res, err := db.Query(testCtx(t), db.Database(FlowMetricsDB), "SELECT name, engine FROM system.tables WHERE database = currentDatabase() ORDER BY name", QueryOptions{})
	require.NoError(t, err)
	require.Equal(t, [][]any{
		{"network.1m", "Distributed"}, {"network.1m_local", "MergeTree"},
		{"network.1s", "Distributed"}, {"network.1s_local", "MergeTree"},
		{"network_map.1m", "Distributed"}, {"network_map.1m_local", "MergeTree"},
		{"network_map.1s", "Distributed"}, {"network_map.1s_local", "MergeTree"},
	}, res.Rows)
	for table, want := range map[string][]string{Network1s: networkContract, Network1m: networkContract,
		NetworkMap1s: networkMapContract, NetworkMap1m: networkMapContract} {
		res, err := db.Query(testCtx(t), db.Database(FlowMetricsDB), "DESCRIBE TABLE `"+table+"`", QueryOptions{})
		require.NoError(t, err)
		var names []string
		for _, row := range res.Rows {
			names = append(names, row[0].(string))
		}
		require.Equal(t, want, names, table)
	}
	// DropOldPartitions covers the metrics tables.
	w, err := NewMetricsWriter(db, WriterConfig{}, nil, nil)
	require.NoError(t, err)
	old := testMetricRows(3, flowtable.Network1m, 1)
	for i := range old {
		old[i].Time = time.Now().Add(-48 * time.Hour).Truncate(time.Minute)
	}
	w.Write(old)
	require.NoError(t, w.Close(testCtx(t)))
	dropped, err := db.DropOldPartitions(testCtx(t), time.Now().Add(-24*time.Hour))
	require.NoError(t, err)
	require.Len(t, dropped, 1)
	require.Equal(t, "network.1m_local", dropped[0].Table)
	require.Equal(t, uint64(3), dropped[0].Rows)
}

// TestMeterOffsets: the offsets metricCols.add reads a row's meter values
// at find what the column accessors name, for every column: each field of
// a meter set to its own value comes back in its own column.
func TestMeterOffsets(t *testing.T) {
	var r flowtable.MetricRow
	var want64 []uint64
	var want32 []uint32
	for i, mc := range meterColumns {
		if mc.u64 != nil {
			*mc.u64(&r.Meter) = 1<<40 + uint64(i)
			want64 = append(want64, 1<<40+uint64(i))
		} else {
			*mc.u32(&r.Meter) = 1<<20 + uint32(i)
			want32 = append(want32, 1<<20+uint32(i))
		}
	}
	c := newMetricCols(true)
	c.add([]flowtable.MetricRow{r})
	for i, w := range want64 {
		require.Equal(t, []uint64{w}, c.u64[i], "u64 column %d", i)
	}
	for i, w := range want32 {
		require.Equal(t, []uint32{w}, c.u32[i], "u32 column %d", i)
	}
	require.Len(t, meterOffsets64, len(want64))
	require.Len(t, meterOffsets32, len(want32))
}

// TestMetricColumnsBlocks: rows added in several calls, each spanning
// part-filled and whole transpose blocks, land in every column at their
// own position, key columns included.
func TestMetricColumnsBlocks(t *testing.T) {
	c := newMetricCols(true)
	var all []flowtable.MetricRow
	for _, n := range []int{1, transposeBlock - 1, 3*transposeBlock + 5, 0, transposeBlock} {
		recs := make([]flowtable.MetricRow, n)
		for k := range recs {
			v := uint32(len(all) + k + 1)
			r := &recs[k]
			r.TapPort, r.ServerPort = v, uint16(v)
			r.ServerIP = netip.AddrFrom4([4]byte{10, 0, byte(v >> 8), byte(v)})
			for i, mc := range meterColumns {
				if mc.u64 != nil {
					*mc.u64(&r.Meter) = uint64(v)<<32 | uint64(i)
				} else {
					*mc.u32(&r.Meter) = v<<8 | uint32(i)
				}
			}
		}
		c.add(recs)
		all = append(all, recs...)
	}
	require.Len(t, c.tapPort, len(all))
	for row, r := range all {
		require.Equal(t, r.TapPort, c.tapPort[row])
		require.Equal(t, r.ServerPort, c.serverPort[row])
		require.Equal(t, ip4(r.ServerIP), c.serverIP4[row])
		i64, i32 := 0, 0
		for i, mc := range meterColumns {
			if mc.u64 != nil {
				require.Equal(t, *mc.u64(&r.Meter), c.u64[i64][row], "row %d column %d", row, i)
				i64++
			} else {
				require.Equal(t, *mc.u32(&r.Meter), c.u32[i32][row], "row %d column %d", row, i)
				i32++
			}
		}
	}
}

// TestMetricCompactMany compacts batches with many repeated keys and
// compares the result with a plain map-based merge, row by row and in
// order, across batch sizes that resize the reused index both ways.
func TestMetricCompactMany(t *testing.T) {
	c := newMetricCols(true)
	rng := rand.New(rand.NewPCG(7, 7))
	for _, n := range []int{1, 5000, 40, 20000, 3} {
		in := make([]flowtable.MetricRow, n)
		for i := range in {
			r := &in[i]
			r.Table = flowtable.NetworkMap1s
			if rng.IntN(3) == 0 {
				r.Table = flowtable.Network1s
			}
			r.Time = time.Unix(1_700_000_000+int64(rng.IntN(4)), 0).UTC()
			r.TapPort, r.Proto, r.ServerPort = uint32(rng.IntN(2)), 6, uint16(80+rng.IntN(3))
			r.ServerIP = netip.AddrFrom4([4]byte{10, 0, 0, byte(rng.IntN(8))})
			if rng.IntN(2) == 0 {
				r.ClientIP = netip.AddrFrom16([16]byte{0x20, 0x01, 15: byte(rng.IntN(8))})
			}
			r.Packets = [2]uint64{uint64(rng.IntN(100)), 1}
			r.RTT = flowtable.Sample{Sum: uint64(rng.IntN(1000)), Count: 1, Max: uint32(rng.IntN(1 << 20))}
		}
		// The reference: first-seen order, summed with Meter.Add.
		var want []flowtable.MetricRow
		at := map[metricKey]int{}
		for i := range in {
			k := metricKeyOf(&in[i])
			if j, ok := at[k]; ok {
				want[j].Meter.Add(&in[i].Meter)
				continue
			}
			at[k] = len(want)
			want = append(want, in[i])
		}
		got := c.compact(slices.Clone(in))
		require.Equal(t, want, got, "batch of %d rows", n)
		if n >= 5000 {
			require.Less(t, len(got), n/2, "the keys repeat: most rows merge")
		}
	}
}

// TestMetricKeyEqual: two rows are one only when every part of the key
// matches; a change to any one of them makes another key.
func TestMetricKeyEqual(t *testing.T) {
	base := flowtable.MetricRow{Table: flowtable.NetworkMap1s, Time: time.Unix(1_700_000_000, 0), TapType: 3,
		TapPort: 7, Proto: 6, ClientIP: netip.MustParseAddr("10.0.0.1"), ServerIP: netip.MustParseAddr("2001:db8::1"),
		ServerPort: 443}
	k := metricKeyOf(&base)
	same := base
	same.Packets = [2]uint64{5, 5} // not part of the key
	require.True(t, k.equal(new(metricKeyOf(&same))))
	for name, change := range map[string]func(*flowtable.MetricRow){
		"table":       func(r *flowtable.MetricRow) { r.Table = flowtable.NetworkMap1m },
		"time":        func(r *flowtable.MetricRow) { r.Time = r.Time.Add(time.Second) },
		"tap type":    func(r *flowtable.MetricRow) { r.TapType = 4 },
		"tap port":    func(r *flowtable.MetricRow) { r.TapPort = 8 },
		"proto":       func(r *flowtable.MetricRow) { r.Proto = 17 },
		"client":      func(r *flowtable.MetricRow) { r.ClientIP = netip.MustParseAddr("10.0.0.2") },
		"no client":   func(r *flowtable.MetricRow) { r.ClientIP = netip.Addr{} },
		"server":      func(r *flowtable.MetricRow) { r.ServerIP = netip.MustParseAddr("2001:db8::2") },
		"server port": func(r *flowtable.MetricRow) { r.ServerPort = 444 },
	} {
		r := base
		change(&r)
		o := metricKeyOf(&r)
		require.False(t, k.equal(&o), name)
		require.False(t, o.equal(&k), name)
		require.NotEqual(t, k.hash(), o.hash(), name)
	}
}
