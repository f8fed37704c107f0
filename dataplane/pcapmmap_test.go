package dataplane

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/internal/testserver"
)

// pcapRec is one record of a hand-built classic pcap file.
type pcapRec struct {
	sec, frac, wire uint32
	data            []byte
}

// pcapBytes builds a classic pcap file byte by byte, so that every variant
// the readers accept (byte order, µs/ns magic, 2.x version, FCS bits in the
// link type) and every kind of damage can be written.
func pcapBytes(order binary.AppendByteOrder, nanos bool, minor uint16, link uint32, recs []pcapRec) []byte {
	magic := uint32(0xA1B2C3D4)
	if nanos {
		magic = 0xA1B23C4D
	}
	b := order.AppendUint32(nil, magic)
	b = order.AppendUint16(b, 2)
	b = order.AppendUint16(b, minor)
	b = order.AppendUint32(b, 0)   // thiszone
	b = order.AppendUint32(b, 0)   // sigfigs
	b = order.AppendUint32(b, 128) // snaplen: some records below exceed it
	b = order.AppendUint32(b, link)
	for _, r := range recs {
		b = order.AppendUint32(b, r.sec)
		b = order.AppendUint32(b, r.frac)
		b = order.AppendUint32(b, uint32(len(r.data)))
		b = order.AppendUint32(b, r.wire)
		b = append(b, r.data...)
	}
	return b
}

func testRecords() []pcapRec {
	var recs []pcapRec
	for i := range 40 {
		data := bytes.Repeat([]byte{byte(i)}, 1+i*37%300) // some longer than the snaplen
		wire := uint32(len(data)) + uint32(i%3)*100       // cut by a snaplen…
		if i%7 == 0 {
			wire = uint32(len(data)) / 2 // …or claiming less than was captured
		}
		recs = append(recs, pcapRec{sec: 1_700_000_000 + uint32(i), frac: uint32(i) * 123_457, wire: wire, data: data})
	}
	recs = append(recs,
		pcapRec{sec: 5, frac: 999_999_999, wire: 60, data: make([]byte, 60)},   // a frac of a second or more
		pcapRec{sec: 6, frac: 4_294_967_295, wire: 60, data: make([]byte, 60)}, // the largest frac
		pcapRec{sec: 7, frac: 0, wire: 0, data: []byte{}},                      // an empty record
		pcapRec{sec: 8, frac: 1, wire: maxRecord, data: make([]byte, maxRecord)})
	return recs
}

// frameLog is everything a reader returned, frame by frame, and how it ended.
type frameLog struct {
	frames [][]byte
	infos  []FrameInfo
	end    string
	link   uint32
}

// readAll reads p to its end, keeping the frames as returned (no copy) when
// keep is set, else copies.
func readAll(t testing.TB, p *PcapFile, keep bool) frameLog {
	t.Helper()
	l := frameLog{link: p.LinkType()}
	for {
		data, ci, err := p.ReadFrame()
		if err != nil {
			if err != io.EOF {
				require.ErrorIs(t, err, ErrTruncated)
			}
			l.end = err.Error()
			return l
		}
		if !keep {
			data = bytes.Clone(data)
		}
		l.frames = append(l.frames, data)
		l.infos = append(l.infos, ci)
	}
}

// openStream opens path with the streaming reader, as OpenPcap did before
// files were mapped: the reference every mapped read is compared with.
func openStream(t testing.TB, path string) (*PcapFile, error) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	p, err := newPcap(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// requireSameAsStream reads path through OpenPcap and through the streaming
// reader and requires the same frames, frame infos, link type and errors
// (word for word). It reports whether OpenPcap mapped the file.
func requireSameAsStream(t *testing.T, path string) (mapped bool) {
	t.Helper()
	p, err := OpenPcap(path)
	ref, refErr := openStream(t, path)
	if refErr != nil {
		require.Error(t, err)
		require.Equal(t, refErr.Error(), err.Error())
		require.ErrorIs(t, err, ErrNotCapture)
		return false
	}
	require.NoError(t, err)
	defer p.Close()
	defer ref.Close()
	mapped = p.mapped != nil
	got, want := readAll(t, p, mapped), readAll(t, ref, false) // keep mapped frames as returned: they must stay valid
	require.Equal(t, want.link, got.link)
	require.Equal(t, want.end, got.end)
	require.Equal(t, len(want.frames), len(got.frames))
	for i := range want.frames {
		require.Equal(t, want.infos[i], got.infos[i], "frame %d", i)
		require.Equal(t, want.frames[i], got.frames[i], "frame %d", i)
	}
	return mapped
}

func TestMappedVariants(t *testing.T) {
	recs := testRecords()
	for _, tc := range []struct {
		name  string
		order binary.AppendByteOrder
		nanos bool
		minor uint16
		link  uint32
	}{
		{"le-us-2.4", binary.LittleEndian, false, 4, 1},
		{"le-ns-2.4", binary.LittleEndian, true, 4, 1},
		{"be-us-2.4", binary.BigEndian, false, 4, 1},
		{"be-ns-2.4", binary.BigEndian, true, 4, 1},
		{"le-us-2.0", binary.LittleEndian, false, 0, 1},
		{"be-ns-2.3", binary.BigEndian, true, 3, 101},
		{"fcs-bits", binary.LittleEndian, false, 4, 0x1000_0001},
		{"fcs-bits-be", binary.BigEndian, false, 4, 0xF000_0071},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.pcap")
			require.NoError(t, os.WriteFile(path, pcapBytes(tc.order, tc.nanos, tc.minor, tc.link, recs), 0o644))
			mapped := requireSameAsStream(t, path)
			require.Equal(t, runtime.GOOS == "linux", mapped)

			// Spot checks against the records themselves.
			p, err := OpenPcap(path)
			require.NoError(t, err)
			defer p.Close()
			require.Equal(t, tc.link&0x0FFF_FFFF, p.LinkType())
			l := readAll(t, p, true)
			require.Equal(t, "EOF", l.end)
			require.Len(t, l.frames, len(recs))
			for i, r := range recs {
				us := int64(r.sec)*1_000_000 + int64(r.frac)
				if tc.nanos {
					us = int64(r.sec)*1_000_000 + int64(r.frac)/1000
				}
				require.Equal(t, us, l.infos[i].Timestamp, "record %d", i)
				require.Equal(t, max(r.wire, uint32(len(r.data))), l.infos[i].WireLen, "record %d", i)
				require.Equal(t, tc.link&0x0FFF_FFFF, l.infos[i].LinkType)
				require.Equal(t, len(r.data), len(l.frames[i]))
				require.Equal(t, len(l.frames[i]), cap(l.frames[i]), "a frame's capacity ends with it")
			}
		})
	}
}

// TestMappedDamage cuts and corrupts files every way a capture breaks and
// requires the mapped reader to end exactly like the streaming one.
func TestMappedDamage(t *testing.T) {
	dir := t.TempDir()
	recs := testRecords()[:3]
	whole := pcapBytes(binary.LittleEndian, false, 4, 1, recs)
	write := func(name string, b []byte) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, b, 0o644))
		return path
	}
	// Every cut: inside the file header, inside a record header, inside a
	// record body, exactly between records.
	for n := 0; n <= len(whole); n++ {
		path := write(fmt.Sprintf("cut-%d.pcap", n), whole[:n])
		mapped := requireSameAsStream(t, path)
		if runtime.GOOS == "linux" {
			require.Equal(t, n >= pcapHeaderLen, mapped, "cut at %d", n)
		}
	}
	corrupt := pcapBytes(binary.BigEndian, true, 4, 1, append(recs[:2:2], pcapRec{data: []byte{1, 2, 3}}))
	binary.BigEndian.PutUint32(corrupt[len(corrupt)-3-8:], maxRecord+1) // the last record's incl_len
	path := write("corrupt.pcap", append(corrupt, make([]byte, 4096)...))
	requireSameAsStream(t, path)
	p, err := OpenPcap(path)
	require.NoError(t, err)
	defer p.Close()
	l := readAll(t, p, true)
	require.Len(t, l.frames, 2)
	require.Contains(t, l.end, "exceeds")
	_, _, err = p.ReadFrame()
	require.Equal(t, io.EOF, err, "a mapped file ends after its error")

	for name, b := range map[string][]byte{
		"empty.pcap":   nil,
		"magic.pcap":   whole[:4],
		"unknown.pcap": append([]byte("NOTAPCAPFILE"), whole[12:]...),
		"v1.pcap":      append(append(whole[:4:4], 1, 0), whole[6:]...),
	} {
		path := write(name, b)
		require.False(t, requireSameAsStream(t, path), name)
		_, err := OpenPcap(path)
		require.ErrorIs(t, err, ErrNotCapture, name)
	}
}

// TestMappedCorpora compares the mapped and the streaming reader over every
// classic pcap of the shared corpora, cut-off files included.
func TestMappedCorpora(t *testing.T) {
	var n, mapped int
	for _, corpus := range []string{"tcpdump", "ndpi"} {
		dir := testserver.Pcaps(t, corpus)
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			n++
			if requireSameAsStream(t, filepath.Join(dir, e.Name())) {
				mapped++
			}
		}
	}
	t.Logf("%d files, %d mapped", n, mapped)
	if runtime.GOOS == "linux" {
		require.Positive(t, mapped)
	}
}

// TestMappedLifetime: mapped frames stay valid until Close, past later
// ReadFrame calls; after Close, ReadFrame fails rather than faulting.
func TestMappedLifetime(t *testing.T) {
	recs := testRecords()
	path := filepath.Join(t.TempDir(), "x.pcap")
	require.NoError(t, os.WriteFile(path, pcapBytes(binary.LittleEndian, false, 4, 1, recs), 0o644))
	p, err := OpenPcap(path)
	require.NoError(t, err)
	if p.mapped == nil {
		p.Close()
		t.Skip("files are mapped on Linux only")
	}
	l := readAll(t, p, true)
	for i, r := range recs {
		require.Equal(t, r.data, l.frames[i], "record %d", i)
	}
	require.NoError(t, p.Close())
	_, _, err = p.ReadFrame()
	require.ErrorIs(t, err, os.ErrClosed)
	require.Error(t, p.Close(), "closed twice")
}

// TestMappedGrowingFile: records appended after OpenPcap (a capture still
// being written) are read once the mapping is used up, as the streaming
// reader reads them, and the mapped frames handed out before stay valid.
func TestMappedGrowingFile(t *testing.T) {
	recs := testRecords()
	all := pcapBytes(binary.BigEndian, false, 4, 1, recs)
	first := pcapBytes(binary.BigEndian, false, 4, 1, recs[:10])
	path := filepath.Join(t.TempDir(), "growing.pcap")
	cut := len(first) + 7 // the first 10 records and the start of the 11th
	require.NoError(t, os.WriteFile(path, all[:cut], 0o644))

	p, err := OpenPcap(path)
	require.NoError(t, err)
	defer p.Close()
	var frames [][]byte
	for range 10 {
		data, _, err := p.ReadFrame()
		require.NoError(t, err)
		frames = append(frames, data)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write(all[cut : len(all)-5]) // all but the end of the last record
	require.NoError(t, err)
	require.NoError(t, f.Close())

	for i := 10; i < len(recs)-1; i++ {
		data, ci, err := p.ReadFrame()
		require.NoError(t, err, "record %d", i)
		require.Equal(t, recs[i].data, data, "record %d", i)
		require.Equal(t, int64(recs[i].sec)*1_000_000+int64(recs[i].frac), ci.Timestamp)
	}
	_, _, err = p.ReadFrame()
	require.ErrorIs(t, err, ErrTruncated)
	require.Contains(t, err.Error(), fmt.Sprintf("after %d frames: record body: unexpected EOF", len(recs)-1))
	for i, data := range frames {
		require.Equal(t, recs[i].data, data, "mapped record %d after the switch", i)
	}
}

func TestMappedReadFrameAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	path := filepath.Join(t.TempDir(), "x.pcap")
	recs := testRecords()
	var many []pcapRec
	for range 100 {
		many = append(many, recs...)
	}
	require.NoError(t, os.WriteFile(path, pcapBytes(binary.LittleEndian, true, 4, 1, many), 0o644))
	p, err := OpenPcap(path)
	require.NoError(t, err)
	defer p.Close()
	require.Zero(t, testing.AllocsPerRun(len(many)-1, func() {
		if _, _, err := p.ReadFrame(); err != nil {
			t.Fatal(err)
		}
	}))
}

// BenchmarkReadFrame reads a 64 MiB capture of frames of mixed sizes (the
// sizes of the corpus: many ACKs, many MTU-sized segments), mapped and
// streamed. It must show 0 allocs/op.
func BenchmarkReadFrame(b *testing.B) {
	var recs []pcapRec
	var size int
	for i := 0; size < 64<<20; i++ {
		n := []int{60, 66, 1514, 590, 1514, 140, 54, 1514}[i%8]
		recs = append(recs, pcapRec{sec: uint32(i / 1000), frac: uint32(i%1000) * 1000, wire: uint32(n), data: make([]byte, n)})
		size += 16 + n
	}
	path := filepath.Join(b.TempDir(), "bench.pcap")
	if err := os.WriteFile(path, pcapBytes(binary.LittleEndian, false, 4, 1, recs), 0o644); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		open func(testing.TB, string) (*PcapFile, error)
	}{
		{"reader=mmap", func(_ testing.TB, path string) (*PcapFile, error) { return OpenPcap(path) }},
		{"reader=stream", openStream},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p, err := tc.open(b, path)
			if err != nil {
				b.Fatal(err)
			}
			var bytes int64
			b.ReportAllocs()
			for b.Loop() {
				data, _, err := p.ReadFrame()
				if errors.Is(err, io.EOF) {
					p.Close() // a new lap: rare enough not to show per frame
					if p, err = tc.open(b, path); err != nil {
						b.Fatal(err)
					}
					data, _, err = p.ReadFrame()
				}
				if err != nil {
					b.Fatal(err)
				}
				bytes += int64(len(data)) + 16
			}
			p.Close()
			b.SetBytes(bytes / int64(max(b.N, 1)))
		})
	}
}
