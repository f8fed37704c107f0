package dtest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/internal/testserver"
)

func testserverPcaps(tb testing.TB, corpus string) string { return testserver.Pcaps(tb, corpus) }

// sentinel returns a dst holding one record already, at full capacity, as
// a batch that has records from earlier packets.
func sentinel() []dissectors.Record {
	var pre [1]dissectors.Record
	pre[0].Kind = dissectors.Session
	pre[0].SetString(&pre[0].RequestType, "sentinel")
	return pre[:1:1]
}

// sentinelKept reports whether out still starts with sentinel's record.
func sentinelKept(out []dissectors.Record) bool {
	return len(out) >= 1 && out[0].String(out[0].RequestType) == "sentinel"
}

// Invariants runs Check and Parse on payload in both directions and fails
// when Parse returns records together with an error, or changes the records
// already in dst, or when Check claims a payload of a transport or with a
// first byte that the dissector's Transports or FirstByte leaves out (the
// engine would never have offered it). Fuzz targets call it; a panic fails
// the fuzz run by itself.
func Invariants(t *testing.T, d dissectors.Dissector, payload []byte, proto uint8) {
	for _, toServer := range []bool{true, false} {
		m := dissectors.Meta{Timestamp: 1_700_000_000_000_000, Proto: proto, ClientPort: 40000, ServerPort: 7,
			ToServer: toServer, PayloadLen: uint32(len(payload))}
		for _, p := range []uint8{6, 17} {
			o := m
			o.Proto = p
			if !d.Check(payload, &o) {
				continue
			}
			if tr, ok := d.(dissectors.Transporter); ok && tr.Transports()&dissectors.TransportOf(p) == 0 {
				t.Fatalf("Check claims an IP protocol %d payload, but Transports is %b", p, tr.Transports())
			}
			if fb, ok := d.(dissectors.FirstByter); ok && len(payload) > 0 && !fb.FirstByte(payload[0]) {
				t.Fatalf("Check claims a payload starting with %#02x, which FirstByte refuses", payload[0])
			}
		}
		d.Check(payload, &m)
		out, err := d.Parse(sentinel(), payload, &m)
		if err != nil && len(out) != 1 {
			t.Fatalf("Parse returned %d records with error %v; want dst unchanged", len(out)-1, err)
		}
		if !sentinelKept(out) {
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

// Fuzz is a FuzzParse body: it seeds f with seeds and with the payloads of
// the captures at pcaps, then checks Invariants (over proto) on every input.
func Fuzz[S ~string | ~[]byte](f *testing.F, d dissectors.Dissector, proto uint8, seeds []S, pcaps ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	for _, path := range pcaps {
		for _, p := range Read(f, path) {
			f.Add(p.Payload)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		Invariants(t, d, data, proto)
	})
}

// NoAllocs fails when Check or Parse allocates on any of pkts (after one
// warm-up pass that lets dst grow). It skips the test under -race, which
// inflates allocation counts.
func NoAllocs(t *testing.T, d dissectors.Dissector, pkts []Packet) {
	t.Helper()
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
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

// Parse runs d.Parse on payload behind a record already in dst, as a batch
// holding earlier records, and returns the records it appended. It fails t
// unless the error matches wantErr (nil: Parse must succeed), and when Parse
// returns records with an error or changes the record already in dst.
func Parse(t testing.TB, d dissectors.Dissector, payload []byte, m *dissectors.Meta, wantErr error) []dissectors.Record {
	t.Helper()
	out, err := d.Parse(sentinel(), payload, m)
	if wantErr != nil {
		require.ErrorIs(t, err, wantErr)
		require.Len(t, out, 1, "records returned with an error")
	} else {
		require.NoError(t, err)
	}
	require.True(t, sentinelKept(out), "Parse changed the records already in dst")
	return out[1:]
}

// JSON returns recs as JSON lines, as Lines writes them.
func JSON(recs []dissectors.Record) string {
	var b []byte
	for i := range recs {
		b = recs[i].AppendJSON(b)
		b = append(b, '\n')
	}
	return string(b)
}

// Lines joins records' JSON, each ending in a newline ("" for none).
func Lines(s ...string) string {
	var b []byte
	for _, l := range s {
		b = append(append(b, l...), '\n')
	}
	return string(b)
}

// Want is what a table test expects of one record: Records.Require compares
// every field with the record's.
type Want struct {
	Kind      dissectors.Kind
	Key       uint64
	Len       uint32 // 0: not compared
	Version   string
	Type      string // request_type
	Domain    string // request_domain
	Resource  string // request_resource
	Endpoint  string
	HasCode   bool
	Code      int32
	Status    dissectors.Status
	Exception string
}

// Records describes a protocol's records for Require.
type Records struct {
	Protocol dissectors.Protocol
	Keyed    bool // every record has a key; else none has
}

// Require fails t unless got are the records want, in order, each of
// rs.Protocol, with a key or without as rs.Keyed says.
func (rs Records) Require(t testing.TB, got []dissectors.Record, want []Want) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range got {
		r := &got[i]
		require.Equal(t, rs.Protocol, r.Protocol, "record %d: protocol", i)
		require.Equal(t, rs.Keyed, r.HasKey, "record %d: has key", i)
		g := Want{Kind: r.Kind, Key: r.Key, Len: r.Len, Version: r.String(r.Version), Type: r.String(r.RequestType),
			Domain: r.String(r.RequestDomain), Resource: r.String(r.RequestResource), Endpoint: r.String(r.Endpoint),
			HasCode: r.HasCode, Code: r.Code, Status: r.Status, Exception: r.String(r.Exception)}
		if want[i].Len == 0 {
			g.Len = 0
		}
		require.Equal(t, want[i], g, "record %d", i)
	}
}
