package clickhouse

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/flowtable"
	"github.com/tapflow/tapflow/internal/testserver"
	"github.com/tapflow/tapflow/storage/chserver"
)

func metric(t testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s %v not found", name, labels)
	return 0
}

func TestWriterRoundTrip(t *testing.T) {
	db := openTest(t, Config{})
	reg := prometheus.NewRegistry()
	const n = 25000
	// A queue for every row: the writers may outrun the inserts (under
	// -race they do), and no row may be dropped here.
	w, err := NewWriter(db, WriterConfig{BatchSize: 10000, QueueSize: n, FlushInterval: 100 * time.Millisecond}, reg, nil)
	require.NoError(t, err)

	recs := testRecords(n, 1)
	var wg sync.WaitGroup
	for part := range 5 { // concurrent writers, 500-row calls
		wg.Go(func() {
			for i := part * 5000; i < (part+1)*5000; i += 500 {
				w.Write(recs[i : i+500])
			}
		})
	}
	wg.Wait()
	require.NoError(t, w.Close(testCtx(t)))
	w.Write(recs[:1]) // after Close: dropped, counted

	table := db.Database(FlowLogDB) + ".l4_flow_log"
	require.Equal(t, uint64(n), queryUint(t, db, "SELECT count() FROM "+table))
	require.Equal(t, uint64(n), queryUint(t, db, "SELECT uniqExact(flow_id) FROM "+table))
	require.Equal(t, float64(n), metric(t, reg, "tapflow_storage_rows_written_total"))
	require.GreaterOrEqual(t, metric(t, reg, "tapflow_storage_batches_written_total"), 3.0)
	require.Equal(t, 0.0, metric(t, reg, "tapflow_storage_insert_errors_total"))
	require.Equal(t, 0.0, metric(t, reg, "tapflow_storage_dropped_rows_total", "reason", dropQueueFull))
	require.Equal(t, 1.0, metric(t, reg, "tapflow_storage_dropped_rows_total", "reason", dropClosed))
	require.Equal(t, 0.0, metric(t, reg, "tapflow_storage_spooled_rows_total"))

	// Field values of one record of each address family.
	tests := []struct {
		id                     uint64
		isIPv4                 uint8
		client, server         string
		outerSrc               string
		wantBytesRx, wantStart uint64
	}{
		{id: 3, isIPv4: 1, client: "10.0.0.3", server: "192.0.2.80"},
		{id: 4, isIPv4: 0, client: "2001:db8::1", server: "2001:db8::4", outerSrc: "198.51.100.1"},
		{id: 5, isIPv4: 1, client: "172.16.0.9", server: "172.16.0.10"}, // 4-in-6 stored as IPv4
		{id: 259, isIPv4: 0, client: "2001:db8::1", server: "2001:db8::103", outerSrc: "198.51.100.1"},
	}
	q := `SELECT is_ipv4,
       if(is_ipv4 = 1, IPv4NumToString(toUInt32(client_ip4)), IPv6NumToString(toFixedString(client_ip6, 16))),
       if(is_ipv4 = 1, IPv4NumToString(toUInt32(server_ip4)), IPv6NumToString(toFixedString(server_ip6, 16))),
       outer_src, bytes_rx, start_time_us, end_time_us, toUInt32(time), toUInt32(end_time), close_type,
       rtt_us, srt_sum_us, srt_count, art_max_us, lost_rx, lost_before_tap_tx, lost_before_tap_rx, fin_count, server_port
FROM %s WHERE flow_id = %d`
	for _, tc := range tests {
		t.Run(fmt.Sprintf("flow_%d", tc.id), func(t *testing.T) {
			r := recs[tc.id-1]
			require.Equal(t, tc.id, r.FlowID)
			var (
				isIPv4                   uint8
				client, server, outerSrc string
				bytesRx, startUS, endUS  uint64
				timeSec, endSec          uint32
				closeType                uint8
				rtt, srtCount            uint32
				srtSum, artMax           uint64
				lostRx, finCount         uint32
				lostBeforeTx, lostBefore uint32
				serverPort               uint16
			)
			require.NoError(t, db.conn.QueryRow(testCtx(t), fmt.Sprintf(q, table, tc.id)).Scan(
				&isIPv4, &client, &server, &outerSrc, &bytesRx, &startUS, &endUS, &timeSec, &endSec, &closeType,
				&rtt, &srtSum, &srtCount, &artMax, &lostRx, &lostBeforeTx, &lostBefore, &finCount, &serverPort))
			require.Equal(t, tc.isIPv4, isIPv4)
			require.Equal(t, tc.client, client)
			require.Equal(t, tc.server, server)
			require.Equal(t, tc.outerSrc, outerSrc)
			require.Equal(t, r.BytesRx, bytesRx)
			require.Equal(t, uint64(r.StartTime.UnixMicro()), startUS)
			require.Equal(t, uint64(r.EndTime.UnixMicro()), endUS)
			require.Equal(t, uint32(r.EndTime.Unix()), timeSec)
			require.Equal(t, timeSec, endSec)
			require.Equal(t, uint8(flowtable.CloseTCPFin), closeType)
			require.Equal(t, r.RTT, rtt)
			require.Equal(t, r.SRTSum, srtSum)
			require.Equal(t, r.SRTCount, srtCount)
			require.Equal(t, r.ARTMax, artMax)
			require.Equal(t, r.LostRx, lostRx)
			require.Equal(t, [2]uint32{r.LostBeforeTapTx, r.LostBeforeTapRx}, [2]uint32{lostBeforeTx, lostBefore})
			require.Equal(t, r.FINCount, finCount)
			require.Equal(t, r.ServerPort, serverPort)
		})
	}
}

// TestWriterBlock: with Block (replays), a full queue makes Write wait for
// the insert goroutine instead of dropping: 25 rows through a 10-row queue
// all arrive.
func TestWriterBlock(t *testing.T) {
	db := openTest(t, Config{})
	reg := prometheus.NewRegistry()
	w, err := NewWriter(db, WriterConfig{BatchSize: 5, QueueSize: 10, FlushInterval: time.Hour, Block: true}, reg, nil)
	require.NoError(t, err)
	w.Write(testRecords(25, 1))
	require.NoError(t, w.Close(testCtx(t)))
	require.Equal(t, 0.0, metric(t, reg, "tapflow_storage_dropped_rows_total", "reason", dropQueueFull))
	require.Equal(t, 25.0, metric(t, reg, "tapflow_storage_rows_written_total"))
}

// TestWriterQueueDefault: a live writer's queue holds two batches, so that
// one fills while the other is inserted; a blocking (replay) writer's holds
// one, since the batch being inserted has left the queue and Write waits
// rather than drops. A configured size is kept either way.
func TestWriterQueueDefault(t *testing.T) {
	for _, c := range []struct {
		cfg  WriterConfig
		want int
	}{
		{WriterConfig{BatchSize: 1000}, 2000},
		{WriterConfig{BatchSize: 1000, Block: true}, 1000},
		{WriterConfig{BatchSize: 1000, QueueSize: 5000, Block: true}, 5000},
		{WriterConfig{Block: true}, DefaultWriterConfig().BatchSize},
	} {
		got := c.cfg.withDefaults()
		require.Equal(t, c.want, got.QueueSize, "%+v", c.cfg)
		require.LessOrEqual(t, got.BatchSize, got.QueueSize, "%+v", c.cfg)
	}
}

// TestWriterBatchAboveQueue: a batch larger than the queue could never
// fill, so Write would wait for the flush interval (an hour here); the
// writer lowers the batch to the queue instead, and every row arrives in
// batches of the queue's size without a flush.
func TestWriterBatchAboveQueue(t *testing.T) {
	db := openTest(t, Config{})
	reg := prometheus.NewRegistry()
	w, err := NewWriter(db, WriterConfig{BatchSize: 50, QueueSize: 10, FlushInterval: time.Hour, Block: true}, reg, nil)
	require.NoError(t, err)
	wrote := make(chan struct{})
	go func() { w.Write(testRecords(30, 1)); close(wrote) }()
	require.Eventually(t, func() bool { return metric(t, reg, "tapflow_storage_rows_written_total") == 30 },
		20*time.Second, 10*time.Millisecond, "30 rows through a 10-row queue, no flush")
	require.Equal(t, 3.0, metric(t, reg, "tapflow_storage_batches_written_total"))
	<-wrote
	require.NoError(t, w.Close(testCtx(t)))
}

func TestWriterQueueFull(t *testing.T) {
	db := openTest(t, Config{})
	reg := prometheus.NewRegistry()
	w, err := NewWriter(db, WriterConfig{BatchSize: 10, QueueSize: 10, FlushInterval: time.Hour}, reg, nil)
	require.NoError(t, err)

	w.Write(testRecords(25, 1)) // 10 fit, 15 dropped: Write did not wait for room
	require.Equal(t, 15.0, metric(t, reg, "tapflow_storage_dropped_rows_total", "reason", dropQueueFull))
	require.NoError(t, w.Close(testCtx(t)))
	require.Equal(t, 10.0, metric(t, reg, "tapflow_storage_rows_written_total"))

	// A second writer for the same table on the same registry is refused.
	w2, err := NewWriter(db, WriterConfig{}, reg, nil)
	require.Error(t, err)
	require.Nil(t, w2)
}

// segments lists the spool's segment files by extension.
func segments(t testing.TB, dir string) map[string]int {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	got := map[string]int{}
	for _, e := range ents {
		got[filepath.Ext(e.Name())]++
	}
	return got
}

// partsInOrder returns, for each active part in insert (block) order, the
// smallest and largest flow_id it holds.
func partsInOrder(t testing.TB, db *DB, table string) [][2]uint64 {
	t.Helper()
	rows, err := db.conn.Query(testCtx(t), "SELECT _part, min(flow_id), max(flow_id) FROM "+table+" GROUP BY _part")
	require.NoError(t, err)
	defer rows.Close()
	type part struct {
		block  int64
		lo, hi uint64
	}
	var parts []part
	for rows.Next() {
		var name string
		var p part
		require.NoError(t, rows.Scan(&name, &p.lo, &p.hi))
		f := strings.Split(name, "_") // partition_minblock_maxblock_level
		require.Len(t, f, 4, name)
		p.block, err = strconv.ParseInt(f[1], 10, 64)
		require.NoError(t, err)
		parts = append(parts, p)
	}
	require.NoError(t, rows.Err())
	sort.Slice(parts, func(i, j int) bool { return parts[i].block < parts[j].block })
	out := make([][2]uint64, len(parts))
	for i, p := range parts {
		out[i] = [2]uint64{p.lo, p.hi}
	}
	return out
}

// requireExactlyOnceInOrder checks that flow ids 1..n are each in the table
// once and that parts hold increasing, disjoint flow id ranges in block
// order (merges join neighbours only, so a merged part keeps the check
// valid).
func requireExactlyOnceInOrder(t testing.TB, db *DB, table string, n uint64) {
	t.Helper()
	require.Equal(t, n, queryUint(t, db, "SELECT count() FROM "+table))
	require.Equal(t, n, queryUint(t, db, "SELECT uniqExact(flow_id) FROM "+table))
	require.Equal(t, n, queryUint(t, db, "SELECT max(flow_id) FROM "+table))
	parts := partsInOrder(t, db, table)
	for i := 1; i < len(parts); i++ {
		require.Less(t, parts[i-1][1], parts[i][0], "parts in block order hold increasing flow ids: %v", parts)
	}
}

// downServer starts a private ClickHouse, creates the schema under prefix,
// stops merges on flow_log.<table> (so parts can be counted) and stops the
// server: the state the spool tests start from. It returns the server to
// restart, a writer config spooling to a temporary directory, and a fresh
// registry.
func downServer(t *testing.T, prefix, table string) spoolRig {
	t.Helper()
	r := spoolRig{dir: t.TempDir(), reg: prometheus.NewRegistry()}
	r.srv = testserver.ClickHouseServer(t, chserver.Options{DataDir: r.dir})
	r.db = openTest(t, Config{Addr: r.srv.Addr(), DatabasePrefix: prefix})
	r.local = r.db.Database(FlowLogDB) + "." + table
	require.NoError(t, r.db.Exec(testCtx(t), "SYSTEM STOP MERGES "+r.local))
	require.NoError(t, r.srv.Stop())
	r.cfg = WriterConfig{
		BatchSize: 100, FlushInterval: 50 * time.Millisecond, SpoolDir: t.TempDir(),
		RetryMin: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond, InsertTimeout: 5 * time.Second,
	}
	return r
}

type spoolRig struct {
	db    *DB
	srv   *chserver.Server
	dir   string // the server's data directory, to restart it
	local string // database.table whose merges are stopped
	cfg   WriterConfig
	reg   *prometheus.Registry
}

func TestWriterSpoolReplay(t *testing.T) {
	r := downServer(t, "spool_", "l4_flow_log_local")
	db, srv, cfg, reg, dir, local, spoolDir := r.db, r.srv, r.cfg, r.reg, r.dir, r.local, r.cfg.SpoolDir
	w, err := NewWriter(db, cfg, reg, nil)
	require.NoError(t, err)

	// ClickHouse is down: 10 batches go to the spool, one segment each.
	for b := range 10 {
		w.Write(testRecords(100, uint64(b*100+1)))
		require.NoError(t, w.Flush(testCtx(t)))
	}
	require.Equal(t, 1000.0, metric(t, reg, "tapflow_storage_spooled_rows_total"))
	require.GreaterOrEqual(t, metric(t, reg, "tapflow_storage_insert_errors_total"), 1.0)
	require.Equal(t, 0.0, metric(t, reg, "tapflow_storage_rows_written_total"))
	require.Greater(t, metric(t, reg, "tapflow_storage_spool_bytes"), 0.0)
	require.Equal(t, map[string]int{extSeg: 10}, segments(t, spoolDir))

	// ClickHouse comes back on the same port: the writer replays by itself.
	srv2, err := chserver.Start(testCtx(t), chserver.Options{DataDir: dir, TCPPort: srv.TCPPort()})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv2.Stop()) })
	require.NoError(t, db.Exec(testCtx(t), "SYSTEM STOP MERGES "+local)) // not kept across restarts
	require.Eventually(t, func() bool {
		return metric(t, reg, "tapflow_storage_rows_written_total") == 1000 &&
			metric(t, reg, "tapflow_storage_spool_bytes") == 0
	}, 30*time.Second, 20*time.Millisecond)
	require.Empty(t, segments(t, spoolDir))

	// Rows written after the outage go straight in, behind the old ones.
	w.Write(testRecords(100, 1001))
	require.NoError(t, w.Close(testCtx(t)))
	require.Equal(t, 1100.0, metric(t, reg, "tapflow_storage_rows_written_total"))
	require.Equal(t, 1000.0, metric(t, reg, "tapflow_storage_spooled_rows_total"))
	requireExactlyOnceInOrder(t, db, local, 1100)
}

func TestWriterSpoolSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	srv := testserver.ClickHouseServer(t, chserver.Options{DataDir: dir})
	db := openTest(t, Config{Addr: srv.Addr(), DatabasePrefix: "restart_"})
	local := db.Database(FlowLogDB) + ".l4_flow_log_local"
	require.NoError(t, srv.Stop())

	// The first process spools while ClickHouse is down, then exits.
	spoolDir := t.TempDir()
	cfg := WriterConfig{BatchSize: 100, FlushInterval: 50 * time.Millisecond, SpoolDir: spoolDir,
		RetryMin: 50 * time.Millisecond, RetryMax: 100 * time.Millisecond, InsertTimeout: 5 * time.Second}
	w, err := NewWriter(db, cfg, nil, nil)
	require.NoError(t, err)
	for b := range 5 {
		w.Write(testRecords(100, uint64(b*100+1)))
		require.NoError(t, w.Flush(testCtx(t)))
	}
	w.Write(testRecords(100, 501)) // queued only: Close spools it
	require.NoError(t, w.Close(testCtx(t)))
	require.Equal(t, map[string]int{extSeg: 6}, segments(t, spoolDir))

	srv2, err := chserver.Start(testCtx(t), chserver.Options{DataDir: dir, TCPPort: srv.TCPPort()})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv2.Stop()) })
	require.NoError(t, db.Exec(testCtx(t), "SYSTEM STOP MERGES "+local))

	// The next process replays the spool it finds, in order.
	reg := prometheus.NewRegistry()
	w2, err := NewWriter(db, cfg, reg, nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return metric(t, reg, "tapflow_storage_rows_written_total") == 600 &&
			metric(t, reg, "tapflow_storage_spool_bytes") == 0
	}, 30*time.Second, 20*time.Millisecond)
	require.NoError(t, w2.Close(testCtx(t)))
	require.Empty(t, segments(t, spoolDir))
	requireExactlyOnceInOrder(t, db, local, 600)
}

// An .inflight segment is a batch whose INSERT may have happened: only the
// rows not yet in the table are inserted on replay.
func TestWriterUnfinishedBatches(t *testing.T) {
	db := openTest(t, Config{})
	local := db.Database(FlowLogDB) + ".l4_flow_log_local"

	// Batch 1 fully inserted, batch 2 half inserted, batch 3 not at all;
	// all three were left .inflight by a process that died.
	b1, b2, b3 := testRecords(50, 1), testRecords(50, 51), testRecords(50, 101)
	b2[10] = b2[9] // two identical rows: the multiset match keeps both
	w, err := NewWriter(db, WriterConfig{}, nil, nil)
	require.NoError(t, err)
	w.Write(b1)
	require.NoError(t, w.Flush(testCtx(t)))
	w.Write(b2[:25])
	require.NoError(t, w.Close(testCtx(t)))
	require.Equal(t, uint64(75), queryUint(t, db, "SELECT count() FROM "+local))

	spoolDir := t.TempDir()
	sp, err := openSpool(spoolDir)
	require.NoError(t, err)
	for _, b := range [][]flowtable.FlowRecord{b1, b2, b3} {
		require.NoError(t, sp.append(encodeSegment(&l4Cols{}, b), len(b), true))
	}
	// A half-written .tmp file from a crash is ignored and removed.
	require.NoError(t, os.WriteFile(filepath.Join(spoolDir, "00000000000000000004.tmp"), []byte("TFSP"), 0o640))

	reg := prometheus.NewRegistry()
	w2, err := NewWriter(db, WriterConfig{SpoolDir: spoolDir, FlushInterval: 20 * time.Millisecond}, reg, nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(segments(t, spoolDir)) == 0 }, 30*time.Second, 20*time.Millisecond)
	require.NoError(t, w2.Close(testCtx(t)))

	require.Equal(t, uint64(150), queryUint(t, db, "SELECT count() FROM "+local))
	require.Equal(t, uint64(2), queryUint(t, db, "SELECT count() FROM "+local+" WHERE flow_id = "+strconv.FormatUint(b2[9].FlowID, 10)))
	require.Equal(t, uint64(149), queryUint(t, db, "SELECT uniqExact(flow_id) FROM "+local))
	require.Equal(t, 150.0, metric(t, reg, "tapflow_storage_rows_written_total"))
	require.Equal(t, 2.0, metric(t, reg, "tapflow_storage_batches_written_total"), "batch 1 needed no insert")
}

// Without a spool, a batch ClickHouse cannot take is dropped and counted.
func TestWriterNoSpoolDrops(t *testing.T) {
	srv := testserver.ClickHouseServer(t, chserver.Options{})
	db := openTest(t, Config{Addr: srv.Addr(), DatabasePrefix: "nospool_"})
	require.NoError(t, srv.Stop())
	reg := prometheus.NewRegistry()
	w, err := NewWriter(db, WriterConfig{InsertTimeout: 5 * time.Second}, reg, nil)
	require.NoError(t, err)
	w.Write(testRecords(10, 1))
	require.NoError(t, w.Close(testCtx(t)))
	require.Equal(t, 10.0, metric(t, reg, "tapflow_storage_dropped_rows_total", "reason", dropNoSpool))
	require.Equal(t, 1.0, metric(t, reg, "tapflow_storage_insert_errors_total"))
}

func TestSpoolEncoding(t *testing.T) {
	recs := testRecords(6, 1)
	recs[0] = flowtable.FlowRecord{} // zero times, invalid addresses
	recs[1].ClientIP = netip.MustParseAddr("fe80::1%eth0")
	c := &l4Cols{}
	require.Len(t, c.encode(nil, &recs[2]), l4SpoolRecordSize)

	b := encodeSegment(c, recs)
	got, err := decodeSegment(c, b)
	require.NoError(t, err)
	require.Len(t, got, len(recs))
	recs[1].ClientIP = recs[1].ClientIP.WithZone("") // zones are not kept
	for i := range recs {
		require.Equal(t, recs[i].FlowID, got[i].FlowID)
		require.True(t, recs[i].StartTime.Equal(got[i].StartTime), "start %d", i)
		require.True(t, recs[i].EndTime.Equal(got[i].EndTime), "end %d", i)
		require.Equal(t, recs[i].StartTime.IsZero(), got[i].StartTime.IsZero())
		got[i].StartTime, got[i].EndTime = recs[i].StartTime, recs[i].EndTime
		require.Equal(t, recs[i], got[i], "record %d", i)
	}

	tests := []struct {
		name   string
		mangle func([]byte) []byte
	}{
		{"flipped bit", func(b []byte) []byte { b[100] ^= 1; return b }},
		{"truncated", func(b []byte) []byte { return b[:len(b)-10] }},
		{"bad magic", func(b []byte) []byte { b[0] = 'X'; return b }},
		{"empty", func([]byte) []byte { return nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeSegment(c, tc.mangle(encodeSegment(c, recs)))
			require.ErrorIs(t, err, ErrCorruptSegment)
		})
	}
}

// A corrupt segment is set aside and counted; the ones behind it replay.
func TestWriterCorruptSegment(t *testing.T) {
	db := openTest(t, Config{})
	spoolDir := t.TempDir()
	sp, err := openSpool(spoolDir)
	require.NoError(t, err)
	for _, first := range []uint64{1, 11} {
		recs := testRecords(10, first)
		require.NoError(t, sp.append(encodeSegment(&l4Cols{}, recs), len(recs), false))
	}
	first := sp.path(1, extSeg)
	b, err := os.ReadFile(first)
	require.NoError(t, err)
	b[50] ^= 0xff
	require.NoError(t, os.WriteFile(first, b, 0o640))

	reg := prometheus.NewRegistry()
	w, err := NewWriter(db, WriterConfig{SpoolDir: spoolDir, FlushInterval: 20 * time.Millisecond}, reg, nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return metric(t, reg, "tapflow_storage_rows_written_total") == 10
	}, 30*time.Second, 20*time.Millisecond)
	require.NoError(t, w.Close(context.Background()))
	require.Equal(t, 10.0, metric(t, reg, "tapflow_storage_dropped_rows_total", "reason", dropBadSegment))
	require.Equal(t, map[string]int{extBad: 1}, segments(t, spoolDir))
}

// A spool written before lost_before_tap_tx/rx were recorded (format 1)
// still replays: the two counters decode as 0.
func TestSpoolDecodesV1(t *testing.T) {
	c := &l4Cols{}
	recs := testRecords(3, 1)
	v2 := encodeSegment(c, recs)
	v1 := append([]byte(nil), v2[:spoolHeaderSize]...)
	binary.LittleEndian.PutUint32(v1[8:], 1)
	for i := range recs {
		rec := v2[spoolHeaderSize+i*l4SpoolRecordSize:]
		v1 = append(v1, rec[:l4SpoolRecordSizeV1]...)
	}
	v1 = binary.LittleEndian.AppendUint32(v1, crc32.Checksum(v1, crcTable))
	got, err := decodeSegment(c, v1)
	require.NoError(t, err)
	require.Len(t, got, len(recs))
	for i := range recs {
		want := recs[i]
		want.LostBeforeTapTx, want.LostBeforeTapRx = 0, 0
		got[i].StartTime, got[i].EndTime = want.StartTime, want.EndTime
		require.Equal(t, want, got[i])
	}

	// openSpool reads each segment's row count from its header.
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "00000000000000000007.seg"), v1, 0o640))
	sp, err := openSpool(dir)
	require.NoError(t, err)
	require.Equal(t, 3, sp.head().rows)
	require.Equal(t, uint64(8), sp.next)
}
