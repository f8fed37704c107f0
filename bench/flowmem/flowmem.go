// Package flowmem measures the heap a flowtable.Table holds per active
// flow. BenchmarkTableMemory reports it; `make bench` runs that benchmark
// in a separate `go test` process and prints the memory-vs-active-flows
// table from its metrics, so a flow table that does not build makes that
// table report the error instead of stopping the whole benchmark.
package flowmem

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"runtime"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/engine"
	"github.com/tapflow/tapflow/dissectors/registry"
	"github.com/tapflow/tapflow/flowtable"
	"github.com/tapflow/tapflow/tap"
)

// Row is the heap a table with Flows active flows holds.
type Row struct {
	Flows     int
	HeapBytes int64
}

// BytesPerFlow is HeapBytes / Flows.
func (r Row) BytesPerFlow() float64 { return float64(r.HeapBytes) / float64(r.Flows) }

// discard is a sink that drops every record.
type discard struct{}

func (discard) WriteFlows([]flowtable.FlowRecord) {}

func (discard) WriteL7([]dissectors.Log) {}

// Measure builds a table sized to n flows (Capacity = n, the way an
// appliance would size it for its load) with the L7 engine attached as in
// the pipeline, fills it with n distinct TCP flows
// (one SYN each, all within one second so none expires) and returns the
// heap the table holds, measured with runtime.ReadMemStats around its
// construction and fill. The table is released before Measure returns.
func Measure(n int) (Row, error) {
	row := Row{Flows: n}
	cfg := flowtable.DefaultConfig()
	cfg.Capacity = n
	before := heapInUse()
	t, err := flowtable.New(cfg, discard{}, 0)
	if err != nil {
		return row, err
	}
	e, err := engine.New(engine.DefaultConfig(), registry.All(), discard{})
	if err != nil {
		return row, err
	}
	t.SetPayloadHandler(e)
	Fill(t, n)
	after := heapInUse()
	if got := t.Stats().Active; got != uint64(n) {
		return row, fmt.Errorf("table holds %d active flows after %d distinct SYNs", got, n)
	}
	runtime.KeepAlive(t)
	runtime.KeepAlive(e)
	row.HeapBytes = int64(after) - int64(before)
	return row, nil
}

// Fill updates t with one SYN of each of n distinct flows: client
// 10.x.y.z:40000+i%20000 to server 192.0.2.1:443, timestamps 1 µs apart.
func Fill(t *flowtable.Table, n int) {
	var m tap.Meta
	server := netip.AddrFrom4([4]byte{192, 0, 2, 1})
	const base = int64(1704067200) * 1_000_000
	for i := range n {
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], 0x0a000000|uint32(i/16))
		m = tap.Meta{
			Timestamp: base + int64(i%1_000_000),
			WireLen:   74,
			Src:       netip.AddrFrom4(a),
			Dst:       server,
			IPVersion: 4,
			Proto:     tap.ProtoTCP,
			TTL:       64,
			SrcPort:   uint16(40000 + i%16),
			DstPort:   443,
			TCPFlags:  tap.TCPSyn,
			WinScale:  7,
			Seq:       uint32(i),
			Window:    64240,
		}
		t.Update(&m)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
