package tap_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/tapflow/tapflow/tap"
)

// Link type families, one fuzz target each. Each target fuzzes the frame
// and, within the family, which link type decodes it.
var (
	familyEthernet = []uint32{tap.LinkEthernet}
	familyRawIP    = []uint32{tap.LinkRaw, tap.LinkRawAlt12, tap.LinkRawAlt14, tap.LinkIPv4, tap.LinkIPv6}
	familyCooked   = []uint32{tap.LinkSLL, tap.LinkSLL2}
	familyPPP      = []uint32{tap.LinkPPP, tap.LinkCHDLC}
	familyLoopback = []uint32{tap.LinkNull, tap.LinkLoop}
	familyPPI      = []uint32{tap.LinkPPI}
)

// maxSeedsPerFamily bounds the seed corpus so the seeds, which run as
// ordinary tests, stay fast under -race.
const maxSeedsPerFamily = 400

// seedFromCaptures adds frames of the family's link types from the shared
// corpora (the tunnel captures of tcpdumpCases first, then any capture of a
// matching link type), a few per capture.
// sharedPcaps seeds the fuzzers when the shared corpus is there; seeding is
// best effort, so a missing corpus only means fewer seeds.
const sharedPcaps = "../../shared/pcaps"

func seedFromCaptures(f *testing.F, family []uint32) {
	f.Helper()
	added := 0
	add := func(path string, perFile int) {
		n := 0
		for _, fr := range readCapture(f, path) {
			if added >= maxSeedsPerFamily || n >= perFile {
				return
			}
			if i := slices.Index(family, fr.link); i >= 0 {
				f.Add(fr.data, uint8(i))
				n++
				added++
			}
		}
	}
	var paths []string
	for _, tc := range tcpdumpCases {
		paths = append(paths, filepath.Join(sharedPcaps, tc.corpus, tc.pcap))
	}
	for _, tc := range paths {
		if _, err := os.Stat(tc); err == nil {
			add(tc, 8)
		}
	}
	for _, corpus := range []string{"tcpdump", "ndpi"} {
		dir := filepath.Join(sharedPcaps, corpus)
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			path := filepath.Join(dir, e.Name())
			if !e.Type().IsRegular() || slices.Contains(paths, path) || !mayHaveLink(path, family) {
				continue
			}
			add(path, 2)
		}
	}
}

// mayHaveLink reads a pcap header's link type; pcapng files may hold any.
func mayHaveLink(path string, family []uint32) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var h [24]byte
	if _, err := f.Read(h[:]); err != nil {
		return false
	}
	switch {
	case bytes.Equal(h[:4], []byte{0x0a, 0x0d, 0x0d, 0x0a}):
		return strings.HasSuffix(path, ".pcapng")
	case binary.LittleEndian.Uint32(h[:]) == 0xa1b2c3d4 || binary.LittleEndian.Uint32(h[:]) == 0xa1b23c4d:
		return slices.Contains(family, binary.LittleEndian.Uint32(h[20:])&0x0FFFFFFF)
	case binary.BigEndian.Uint32(h[:]) == 0xa1b2c3d4 || binary.BigEndian.Uint32(h[:]) == 0xa1b23c4d:
		return slices.Contains(family, binary.BigEndian.Uint32(h[20:])&0x0FFFFFFF)
	}
	return false
}

// checkDecode is the fuzz invariant: Decode never panics and leaves the
// frame untouched; with a nil error the addresses are valid IPs of the
// version decoded, the payload lies within the frame and, unless the
// capture was cut, within what the IP header announced.
func checkDecode(t *testing.T, family []uint32, data []byte, sel uint8) {
	link := family[int(sel)%len(family)]
	orig := bytes.Clone(data)
	for _, dec := range []tap.Decoder{{LinkType: link}, {LinkType: link, NoDecap: true}, {LinkType: link, VXLANPorts: []uint16{4789, 8472, 4790}}} {
		var m tap.Meta
		err := dec.Decode(data, 42, uint32(len(data)), &m)
		if !bytes.Equal(orig, data) {
			t.Fatalf("Decode modified the frame")
		}
		if err != nil {
			if tap.Reason(err) == tap.ReasonOther {
				t.Fatalf("error %v has no drop reason", err)
			}
			continue
		}
		if !m.Src.IsValid() || !m.Dst.IsValid() {
			t.Fatalf("nil error but src %v dst %v", m.Src, m.Dst)
		}
		if m.Src.Is4() != (m.IPVersion == 4) || m.Dst.Is4() != (m.IPVersion == 4) {
			t.Fatalf("ip version %d with %v > %v", m.IPVersion, m.Src, m.Dst)
		}
		if m.TapType.String() == "unknown" {
			t.Fatalf("tap type %d", m.TapType)
		}
		if m.TapType != tap.TapMirror && m.TapType != tap.TapMPLS && (!m.OuterSrc.IsValid() || !m.OuterDst.IsValid()) {
			t.Fatalf("tunnel %s without outer addresses", m.TapType)
		}
		if m.Timestamp != 42 || m.WireLen != uint32(len(data)) {
			t.Fatalf("timestamp/wire length not kept")
		}
		if len(m.Payload) > 0 {
			start := uintptr(unsafe.Pointer(unsafe.SliceData(m.Payload)))
			base := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
			if start < base || start+uintptr(len(m.Payload)) > base+uintptr(len(data)) {
				t.Fatalf("payload [%#x,+%d) outside the frame [%#x,+%d)", start, len(m.Payload), base, len(data))
			}
		}
		if !m.Truncated && uint32(len(m.Payload)) > m.PayloadLen {
			t.Fatalf("payload %d bytes beyond the %d the IP header announces", len(m.Payload), m.PayloadLen)
		}
	}
}

func fuzzFamily(f *testing.F, family []uint32) {
	seedFromCaptures(f, family)
	f.Fuzz(func(t *testing.T, data []byte, sel uint8) { checkDecode(t, family, data, sel) })
}

func FuzzDecodeEthernet(f *testing.F) {
	for _, fr := range encapFrames(f) {
		if fr.link == tap.LinkEthernet {
			f.Add(fr.data, uint8(0))
		}
	}
	fuzzFamily(f, familyEthernet)
}

func FuzzDecodeRawIP(f *testing.F) {
	f.Add(build(f, ipOnly()...), uint8(0))
	fuzzFamily(f, familyRawIP)
}

func FuzzDecodeCooked(f *testing.F) {
	for _, fr := range encapFrames(f) {
		if fr.link == tap.LinkSLL2 {
			f.Add(fr.data, uint8(1))
		}
	}
	fuzzFamily(f, familyCooked)
}

func FuzzDecodePPP(f *testing.F) {
	f.Add(append([]byte{0xFF, 0x03, 0x00, 0x21}, build(f, ipOnly()...)...), uint8(0))
	fuzzFamily(f, familyPPP)
}

func FuzzDecodeLoopback(f *testing.F) {
	f.Add(append([]byte{2, 0, 0, 0}, build(f, ipOnly()...)...), uint8(0))
	fuzzFamily(f, familyLoopback)
}

func FuzzDecodePPI(f *testing.F) {
	f.Add(append([]byte{0, 0, 8, 0, 1, 0, 0, 0}, build(f, inner4(f)...)...), uint8(0))
	fuzzFamily(f, familyPPI)
}
