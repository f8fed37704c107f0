package engine_test

import (
	"encoding/json"
	"testing"

	"github.com/tapflow/tapflow/dissectors/engine"
	"github.com/tapflow/tapflow/dissectors/registry"
	"github.com/tapflow/tapflow/flowtable"
	"github.com/tapflow/tapflow/tap"
)

// fuzzPorts are the server ports fuzz flows use: the dissectors identify by
// payload, but a port that matches steers nothing and one that does not
// must not matter either.
var fuzzPorts = [8]uint16{80, 53, 6379, 3306, 5432, 9092, 443, 40404}

// FuzzEngine runs every shipped dissector behind a real flow table over
// packets whose payloads come from the input, on up to four flows:
//
//	0: flow (bits 0-1), direction (bit 2), UDP rather than TCP (bit 3), server port (bits 4-6)
//	1: time step in ms
//	2: payload length, then that many payload bytes (fewer at the end)
//
// Invariants, besides not panicking: the rows the sink got are the rows
// Stats counts, each is JSON that encoding/json accepts and names its own
// flow's ports, and the engine parsed no more packets than it saw.
func FuzzEngine(f *testing.F) {
	pkt := func(hdr, step byte, payload string) []byte {
		return append([]byte{hdr, step, byte(len(payload))}, payload...)
	}
	cat := func(ps ...[]byte) []byte {
		var b []byte
		for _, p := range ps {
			b = append(b, p...)
		}
		return b
	}
	f.Add(cat(pkt(0, 1, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"), pkt(4, 2, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")))
	f.Add(cat(pkt(2<<4, 1, "*1\r\n$4\r\nPING\r\n"), pkt(2<<4|4, 1, "+PONG\r\n"), pkt(2<<4|4, 1, "+PONG\r\n")))
	f.Add(cat(pkt(1<<4|8, 1, "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x00\x00\x01\x00\x01"),
		pkt(1<<4|8|4, 3, "\x12\x34\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x00\x00\x01\x00\x01")))
	f.Add(cat(pkt(6<<4, 0, "\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00"), pkt(1|7<<4, 1, "GET / HTTP/1.0\r\n\r\n"), pkt(1|7<<4|4, 200, "HTTP/1.0 500 x\r\n\r\n")))

	f.Fuzz(func(t *testing.T, b []byte) {
		sink := &logSink{}
		fc := flowtable.DefaultConfig()
		fc.Capacity = 4
		tab, err := flowtable.New(fc, sink, 0)
		if err != nil {
			t.Fatal(err)
		}
		cfg := engine.DefaultConfig()
		cfg.MaxInFlight, cfg.MaxPending, cfg.BatchSize = 2, 4, 3
		e, err := engine.New(cfg, registry.All(), sink)
		if err != nil {
			t.Fatal(err)
		}
		tab.SetPayloadHandler(e)

		at := t0
		ports := map[[2]uint16]bool{}
		for len(b) >= 3 {
			hdr, step, n := b[0], b[1], int(b[2])
			b = b[3:]
			n = min(n, len(b))
			payload := b[:n]
			b = b[n:]
			at += int64(step) * 1000
			m := tap.Meta{Timestamp: at, WireLen: uint32(60 + n), Src: client, Dst: server, IPVersion: 4,
				Proto: tap.ProtoTCP, SrcPort: 40000 + uint16(hdr&3), DstPort: fuzzPorts[hdr>>4&7],
				TCPFlags: tap.TCPAck | tap.TCPPsh, Window: 1000, WinScale: -1, Payload: payload, PayloadLen: uint32(n)}
			if hdr&8 != 0 {
				m.Proto, m.TCPFlags = tap.ProtoUDP, 0
			}
			ports[[2]uint16{m.SrcPort, m.DstPort}] = true
			if hdr&4 != 0 {
				m.Src, m.Dst, m.SrcPort, m.DstPort = m.Dst, m.Src, m.DstPort, m.SrcPort
			}
			tab.Update(&m)
		}
		tab.Flush()

		st := e.Stats()
		if st.Logs != uint64(len(sink.logs)) {
			t.Errorf("the sink got %d rows, Stats.Logs says %d", len(sink.logs), st.Logs)
		}
		if st.Parsed > st.Payloads {
			t.Errorf("parsed %d of %d payload packets", st.Parsed, st.Payloads)
		}
		for i := range sink.logs {
			l := &sink.logs[i]
			if !json.Valid(l.AppendJSON(nil)) {
				t.Errorf("row %d is not JSON: %s", i, l.AppendJSON(nil))
			}
			if !ports[[2]uint16{l.ClientPort, l.ServerPort}] && !ports[[2]uint16{l.ServerPort, l.ClientPort}] {
				t.Errorf("row %d names ports %d → %d, which no packet had", i, l.ClientPort, l.ServerPort)
			}
		}
	})
}
