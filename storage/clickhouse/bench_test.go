package clickhouse

import (
	"testing"
	"time"

	"github.com/tapflow/tapflow/flowtable"
)

// BenchmarkWriter measures end-to-end ingest into the real ClickHouse:
// 10000-row batches through Write, Flush and one INSERT each.
func BenchmarkWriter(b *testing.B) {
	db := openTest(b, Config{})
	w, err := NewWriter(db, WriterConfig{BatchSize: 10000, QueueSize: 20000, FlushInterval: time.Hour}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	recs := testRecords(10000, 1)
	b.SetBytes(int64(len(recs)) * l4SpoolRecordSize)
	b.ReportAllocs()
	start := time.Now()
	rows := 0
	for b.Loop() {
		w.Write(recs)
		if err := w.Flush(testCtx(b)); err != nil {
			b.Fatal(err)
		}
		rows += len(recs)
	}
	b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
	if err := w.Close(testCtx(b)); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkColumns measures turning records into column slices.
func BenchmarkColumns(b *testing.B) {
	recs := testRecords(10000, 1)
	var c l4Cols
	b.SetBytes(int64(len(recs)) * l4SpoolRecordSize)
	b.ReportAllocs()
	for b.Loop() {
		c.reset()
		c.add(recs)
	}
}

// BenchmarkSpoolEncode measures encoding a batch for the spool.
func BenchmarkSpoolEncode(b *testing.B) {
	recs := testRecords(10000, 1)
	b.SetBytes(int64(len(recs)) * l4SpoolRecordSize)
	b.ReportAllocs()
	for b.Loop() {
		_ = encodeSegment(&l4Cols{}, recs)
	}
}

// BenchmarkL7Writer measures end-to-end ingest of L7 logs into the real
// ClickHouse: 10000-row batches through Write, Flush and one INSERT each.
func BenchmarkL7Writer(b *testing.B) {
	db := openTest(b, Config{})
	w, err := NewL7Writer(db, WriterConfig{BatchSize: 10000, QueueSize: 20000, FlushInterval: time.Hour}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	logs := testLogs(10000, 1)
	b.ReportAllocs()
	start := time.Now()
	rows := 0
	for b.Loop() {
		w.Write(logs)
		if err := w.Flush(testCtx(b)); err != nil {
			b.Fatal(err)
		}
		rows += len(logs)
	}
	b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
	if err := w.Close(testCtx(b)); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkL7Columns measures turning L7 logs into column slices; it
// allocates once per batch (the batch's texts as one string).
func BenchmarkL7Columns(b *testing.B) {
	logs := testLogs(10000, 1)
	var c l7Cols
	b.SetBytes(int64(len(encodeSegment(&c, logs))))
	b.ReportAllocs()
	for b.Loop() {
		c.reset()
		c.add(logs)
		_ = c.values()
	}
}

// BenchmarkL7SpoolEncode measures encoding a batch of L7 logs for the
// spool, and BenchmarkL7SpoolDecode reading it back.
func BenchmarkL7SpoolEncode(b *testing.B) {
	logs := testLogs(10000, 1)
	b.SetBytes(int64(len(encodeSegment(&l7Cols{}, logs))))
	b.ReportAllocs()
	for b.Loop() {
		_ = encodeSegment(&l7Cols{}, logs)
	}
}

func BenchmarkL7SpoolDecode(b *testing.B) {
	seg := encodeSegment(&l7Cols{}, testLogs(10000, 1))
	b.SetBytes(int64(len(seg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeSegment(&l7Cols{}, seg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMetricColumns measures turning aggregate rows into column
// slices (network_map, the wider of the two shapes).
func BenchmarkMetricColumns(b *testing.B) {
	recs := testMetricRows(10000, flowtable.NetworkMap1s, 1)
	c := newMetricCols(true)
	b.SetBytes(int64(len(recs)) * int64(metricSpoolRecordSize))
	b.ReportAllocs()
	for b.Loop() {
		c.reset()
		c.add(recs)
	}
}
