package dtest

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/tap"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// Packet is one payload-carrying packet of a capture.
type Packet struct {
	Flow    int // index of the packet's flow, in order of first appearance
	Payload []byte
	Meta    dissectors.Meta
}

type flowKey struct {
	a, b   netip.AddrPort
	proto  uint8
	tapped uint32
}

type flowDir struct {
	idx    int
	client netip.AddrPort
}

// Read decodes the capture at path (pcap or pcapng) and returns its TCP and
// UDP packets that carry payload, each with the direction the flow table
// would give it: the SYN's sender is the client; without a SYN the sender of
// a SYN-ACK is the server; otherwise the lower port is the server.
func Read(tb testing.TB, path string) []Packet {
	tb.Helper()
	// gopacket's readers, not dataplane's: dataplane wires the registry,
	// which imports every dissector, whose tests import this package.
	fh, err := os.Open(path)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	defer fh.Close()
	var src interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var link uint32
	if ng, nerr := pcapgo.NewNgReader(fh, pcapgo.DefaultNgReaderOptions); nerr == nil {
		src, link = ng, uint32(ng.LinkType())
	} else {
		if _, err := fh.Seek(0, io.SeekStart); err != nil {
			tb.Fatal(err)
		}
		r, err := pcapgo.NewReader(fh)
		if err != nil {
			tb.Fatalf("open %s: %v", path, err)
		}
		src, link = r, uint32(r.LinkType())
	}
	flows := map[flowKey]*flowDir{}
	var out []Packet
	var m tap.Meta
	for {
		data, ci, err := src.ReadPacketData()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				tb.Fatalf("read %s: %v", path, err)
			}
			break
		}
		wire := uint32(max(ci.Length, len(data)))
		if tap.NewDecoder(link).Decode(data, ci.Timestamp.UnixMicro(), wire, &m) != nil {
			continue
		}
		if (m.Proto != tap.ProtoTCP && m.Proto != tap.ProtoUDP) || m.Fragment {
			continue
		}
		src, dst := netip.AddrPortFrom(m.Src, m.SrcPort), netip.AddrPortFrom(m.Dst, m.DstPort)
		k := flowKey{a: src, b: dst, proto: m.Proto, tapped: m.TapPort}
		if src.Compare(dst) > 0 {
			k.a, k.b = dst, src
		}
		fd := flows[k]
		if fd == nil {
			fd = &flowDir{idx: len(flows)}
			switch {
			case m.Proto == tap.ProtoTCP && m.TCPFlags&(tap.TCPSyn|tap.TCPAck) == tap.TCPSyn:
				fd.client = src
			case m.Proto == tap.ProtoTCP && m.TCPFlags&(tap.TCPSyn|tap.TCPAck) == tap.TCPSyn|tap.TCPAck:
				fd.client = dst
			case m.SrcPort < m.DstPort:
				fd.client = dst
			default:
				fd.client = src
			}
			flows[k] = fd
		}
		if len(m.Payload) == 0 {
			continue
		}
		toServer := src == fd.client
		cp, sp := m.SrcPort, m.DstPort
		if !toServer {
			cp, sp = sp, cp
		}
		out = append(out, Packet{
			Flow:    fd.idx,
			Payload: bytes.Clone(m.Payload),
			Meta: dissectors.Meta{Timestamp: m.Timestamp, Proto: m.Proto, ClientPort: cp, ServerPort: sp,
				ToServer: toServer, PayloadLen: m.PayloadLen},
		})
	}
	return out
}

// Run feeds pkts to d as the engine does: a flow's packets go to Check until
// it returns true, then every later packet of that flow goes to Parse (the
// identifying packet included). It returns the records as JSON lines, each
// prefixed with the flow index and direction, and counts Parse errors.
func Run(d dissectors.Dissector, pkts []Packet) (out []byte, errs int) {
	known := map[int]bool{}
	var recs []dissectors.Record
	for i := range pkts {
		p := &pkts[i]
		if !known[p.Flow] {
			if !d.Check(p.Payload, &p.Meta) {
				continue
			}
			known[p.Flow] = true
		}
		var err error
		recs, err = d.Parse(recs[:0], p.Payload, &p.Meta)
		if err != nil {
			errs++
			continue
		}
		for j := range recs {
			out = append(out, `{"flow":`...)
			out = appendInt(out, p.Flow)
			if p.Meta.ToServer {
				out = append(out, `,"dir":"c2s","record":`...)
			} else {
				out = append(out, `,"dir":"s2c","record":`...)
			}
			out = recs[j].AppendJSON(out)
			out = append(out, "}\n"...)
		}
	}
	return out, errs
}

func appendInt(b []byte, v int) []byte {
	if v >= 10 {
		b = appendInt(b, v/10)
	}
	return append(b, byte('0'+v%10))
}

// Golden compares got with testdata/<name>.golden, rewriting it with -update.
func Golden(tb testing.TB, name string, got []byte) {
	tb.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run the test with -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		tb.Errorf("%s differs from the records parsed now (rerun with -update after checking):\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

// Capture is a capture file with the golden file of its records.
type Capture struct {
	Name   string // the golden file testdata/<Name>.golden, and the subtest
	Corpus string // the shared corpus holding File; empty: testdata/
	File   string
	Skip   int // packets dropped from the start: a capture that begins mid-connection
}

// Path returns the capture's path (see Shared).
func (c Capture) Path(tb testing.TB) string {
	tb.Helper()
	if c.Corpus == "" {
		return filepath.Join("testdata", c.File)
	}
	return Shared(tb, c.Corpus, c.File)
}

// Goldens runs d over each capture as Run does, in a subtest per capture,
// and compares the records with its golden file; Parse may not fail.
func Goldens(t *testing.T, d dissectors.Dissector, caps []Capture) {
	for _, c := range caps {
		t.Run(c.Name, func(t *testing.T) {
			pkts := Read(t, c.Path(t))
			if len(pkts) <= c.Skip {
				t.Fatalf("%s has %d payload packets; want more than the %d skipped", c.File, len(pkts), c.Skip)
			}
			out, errs := Run(d, pkts[c.Skip:])
			if errs != 0 {
				t.Errorf("%d parse errors", errs)
			}
			Golden(t, c.Name, out)
		})
	}
}

// NotClaimed runs d, as Run does, over captures of other protocols in the
// shared corpus, a subtest per file: none may give a record or a parse
// error.
func NotClaimed(t *testing.T, d dissectors.Dissector, corpus string, files ...string) {
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			pkts := Read(t, Shared(t, corpus, file))
			if len(pkts) == 0 {
				t.Fatalf("%s has no payload packets", file)
			}
			out, errs := Run(d, pkts)
			if len(out) != 0 || errs != 0 {
				t.Fatalf("%d parse errors and records:\n%s", errs, out)
			}
		})
	}
}

// Shared returns the path of a capture in the shared corpus
// (../shared/pcaps/<corpus>/<file> beside the module), skipping loudly when
// it is missing outside CI and failing in CI.
func Shared(tb testing.TB, corpus, file string) string {
	tb.Helper()
	return filepath.Join(testserverPcaps(tb, corpus), file)
}
