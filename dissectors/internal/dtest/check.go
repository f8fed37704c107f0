package dtest

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/internal/testserver"
)

func testserverPcaps(tb testing.TB, corpus string) string { return testserver.Pcaps(tb, corpus) }

// Invariants runs Check and Parse on payload in both directions and fails
// when Parse returns records together with an error, or changes the records
// already in dst. Fuzz targets call it; a panic fails the fuzz run by itself.
func Invariants(t *testing.T, d dissectors.Dissector, payload []byte, proto uint8) {
	for _, toServer := range []bool{true, false} {
		m := dissectors.Meta{Timestamp: 1_700_000_000_000_000, Proto: proto, ClientPort: 40000, ServerPort: 7,
			ToServer: toServer, PayloadLen: uint32(len(payload))}
		d.Check(payload, &m)
		var pre [1]dissectors.Record
		pre[0].Kind = dissectors.Session
		pre[0].SetString(&pre[0].RequestType, "sentinel")
		dst := pre[:1:1]
		out, err := d.Parse(dst, payload, &m)
		if err != nil && len(out) != 1 {
			t.Fatalf("Parse returned %d records with error %v; want dst unchanged", len(out)-1, err)
		}
		if len(out) < 1 || out[0].String(out[0].RequestType) != "sentinel" {
			t.Fatalf("Parse changed the records already in dst")
		}
		for i := range out[1:] {
			r := &out[1+i]
			if r.Kind < dissectors.Request || r.Kind > dissectors.Session {
				t.Fatalf("record %d has kind %d", i, r.Kind)
			}
			if r.Protocol == dissectors.ProtoUnknown {
				t.Fatalf("record %d has no protocol", i)
			}
		}
	}
}

// NoAllocs fails when Check or Parse allocates on any of pkts (after one
// warm-up pass that lets dst grow). Skip it under -race, which inflates
// allocation counts.
func NoAllocs(t *testing.T, d dissectors.Dissector, pkts []Packet) {
	t.Helper()
	recs := make([]dissectors.Record, 0, 64)
	run := func() {
		for i := range pkts {
			p := &pkts[i]
			d.Check(p.Payload, &p.Meta)
			recs, _ = d.Parse(recs[:0], p.Payload, &p.Meta)
		}
	}
	run()
	if n := testing.AllocsPerRun(5, run); n != 0 {
		t.Fatalf("Check+Parse over %d packets allocated %.1f times per pass; want 0", len(pkts), n)
	}
}
