package dataplane

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
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

// keptFrame is a frame as ReadFrame returned it and a copy of it.
type keptFrame struct{ frame, copy []byte }

// readAll reads p to its end and keeps copies of the frames. On the way it
// requires every frame to stay as it was for the next p.FramesKept() calls.
func readAll(t testing.TB, p *PcapFile) frameLog {
	t.Helper()
	l := frameLog{link: p.LinkType()}
	var window []keptFrame // the frames that must still be valid, oldest first
	for {
		data, ci, err := p.ReadFrame()
		for i, k := range window {
			if !bytes.Equal(k.frame, k.copy) {
				t.Fatalf("frame %d changed %d calls later, FramesKept %d", len(l.frames)-len(window)+i, len(window)-i, p.FramesKept())
			}
		}
		if err != nil {
			if err != io.EOF {
				require.ErrorIs(t, err, ErrTruncated)
			}
			l.end = err.Error()
			return l
		}
		c := bytes.Clone(data)
		l.frames = append(l.frames, c)
		l.infos = append(l.infos, ci)
		if kept := p.FramesKept(); kept > 0 {
			if len(window) == kept {
				window = append(window[:0], window[1:]...)
			}
			window = append(window, keptFrame{data, c})
		}
	}
}

// openStream opens path with the streaming reader, as OpenPcap did before
// files were read through the buffers: the reference every buffered read is
// compared with.
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
// (word for word). It reports whether OpenPcap read the file through the
// buffers.
func requireSameAsStream(t testing.TB, path string) (buffered bool) {
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
	buffered = p.bp != nil
	require.Equal(t, buffered, p.FramesKept() >= readBatchFrames)
	got, want := readAll(t, p), readAll(t, ref)
	require.Equal(t, want.link, got.link)
	require.Equal(t, want.end, got.end)
	require.Equal(t, len(want.frames), len(got.frames))
	for i := range want.frames {
		require.Equal(t, want.infos[i], got.infos[i], "frame %d", i)
		require.Equal(t, want.frames[i], got.frames[i], "frame %d", i)
	}
	return buffered
}

func TestBufferedVariants(t *testing.T) {
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
			require.True(t, requireSameAsStream(t, path))

			// Spot checks against the records themselves.
			p, err := OpenPcap(path)
			require.NoError(t, err)
			defer p.Close()
			require.Equal(t, tc.link&0x0FFF_FFFF, p.LinkType())
			for i, r := range recs {
				data, ci, err := p.ReadFrame()
				require.NoError(t, err, "record %d", i)
				us := int64(r.sec)*1_000_000 + int64(r.frac)
				if tc.nanos {
					us = int64(r.sec)*1_000_000 + int64(r.frac)/1000
				}
				require.Equal(t, us, ci.Timestamp, "record %d", i)
				require.Equal(t, max(r.wire, uint32(len(r.data))), ci.WireLen, "record %d", i)
				require.Equal(t, tc.link&0x0FFF_FFFF, ci.LinkType)
				require.Equal(t, r.data, data, "record %d", i)
				require.Equal(t, len(data), cap(data), "a frame's capacity ends with it")
			}
			_, _, err = p.ReadFrame()
			require.Equal(t, io.EOF, err)
		})
	}
}

// TestBufferedDamage cuts and corrupts files every way a capture breaks and
// requires the buffered reader to end exactly like the streaming one.
func TestBufferedDamage(t *testing.T) {
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
		buffered := requireSameAsStream(t, path)
		require.Equal(t, n >= pcapHeaderLen, buffered, "cut at %d", n)
	}
	corrupt := pcapBytes(binary.BigEndian, true, 4, 1, append(recs[:2:2], pcapRec{data: []byte{1, 2, 3}}))
	binary.BigEndian.PutUint32(corrupt[len(corrupt)-3-8:], maxRecord+1) // the last record's incl_len
	path := write("corrupt.pcap", append(corrupt, make([]byte, 4096)...))
	requireSameAsStream(t, path)
	p, err := OpenPcap(path)
	require.NoError(t, err)
	defer p.Close()
	l := readAll(t, p)
	require.Len(t, l.frames, 2)
	require.Contains(t, l.end, "exceeds")
	_, _, err = p.ReadFrame()
	require.Equal(t, io.EOF, err, "a buffered file ends after its error")

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

// TestBufferedCorpora compares the buffered and the streaming reader over
// every classic pcap of the shared corpora, cut-off files included.
func TestBufferedCorpora(t *testing.T) {
	var n, buffered int
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
				buffered++
			}
		}
	}
	t.Logf("%d files, %d buffered", n, buffered)
	require.Positive(t, buffered)
}

// bigRecords returns n records whose sizes come from size(i), each filled
// with bytes that tell it from every other record.
func bigRecords(n int, size func(i int) int) []pcapRec {
	recs := make([]pcapRec, n)
	for i := range recs {
		data := make([]byte, size(i))
		for j := range data {
			data[j] = byte(i*7 + j*13)
		}
		if len(data) >= 4 {
			binary.LittleEndian.PutUint32(data, uint32(i))
		}
		recs[i] = pcapRec{sec: uint32(i), frac: uint32(i), wire: uint32(len(data)), data: data}
	}
	return recs
}

// TestBufferedFramesKept: over files that make the reader move between its
// buffers many times, every frame stays as returned for FramesKept() more
// calls, and FramesKept() is at least the read batch. Records all of the
// largest size are the worst case; small ones make the reader move as soon
// as the bound lets it.
func TestBufferedFramesKept(t *testing.T) {
	require.GreaterOrEqual(t, pcapBufKept, readBatchFrames)
	require.GreaterOrEqual(t, pcapBufSize/maxRecordLen, pcapBufKept, "a buffer holds pcapBufKept records of any size")
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		n    int
		size func(i int) int
	}{
		{"largest", 6 * pcapBufKept, func(int) int { return maxRecord }},
		{"mixed", 6 * pcapBufKept, func(int) int {
			switch rng.IntN(4) {
			case 0:
				return maxRecord - rng.IntN(64)
			case 1:
				return rng.IntN(100)
			default:
				return rng.IntN(maxRecord + 1)
			}
		}},
		{"small", 3 * pcapBufSize / 600, func(i int) int { return []int{60, 66, 1514, 590, 0, 1514, 140, 54}[i%8] }},
		{"jumbo", 3 * pcapBufSize / 9000, func(i int) int { return 9000 + i%2 }},
		{"one-chunk", 3 * pcapBufSize / 4096, func(i int) int { return pcapBufChunk/pcapBufKept - 16 + i%3 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := bigRecords(tc.n, tc.size)
			path := filepath.Join(t.TempDir(), "big.pcap")
			require.NoError(t, os.WriteFile(path, pcapBytes(binary.LittleEndian, false, 4, 1, recs), 0o644))
			require.True(t, requireSameAsStream(t, path)) // checks every frame for FramesKept calls
			p, err := OpenPcap(path)
			require.NoError(t, err)
			defer p.Close()
			require.Equal(t, pcapBufKept, p.FramesKept())
			require.GreaterOrEqual(t, p.FramesKept(), readBatchFrames)
			// How many calls later are frames really overwritten? Never
			// sooner than FramesKept says.
			type held struct {
				keptFrame
				call int
			}
			var window []held
			minAge := -1
			for call := range recs {
				data, _, err := p.ReadFrame()
				require.NoError(t, err)
				kept := window[:0]
				for _, h := range window {
					if bytes.Equal(h.frame, h.copy) {
						kept = append(kept, h)
					} else if age := call - h.call; minAge < 0 || age < minAge {
						minAge = age
					}
				}
				window = append(kept, held{keptFrame{data, bytes.Clone(data)}, call})
			}
			require.Positive(t, minAge, "no frame was ever overwritten: the test does not see the buffers move")
			require.Greater(t, minAge, pcapBufKept)
			t.Logf("FramesKept %d, first overwrite %d calls later", pcapBufKept, minAge)
		})
	}
}

// TestBufferedLifetime: after Close, ReadFrame fails.
func TestBufferedLifetime(t *testing.T) {
	recs := testRecords()
	path := filepath.Join(t.TempDir(), "x.pcap")
	require.NoError(t, os.WriteFile(path, pcapBytes(binary.LittleEndian, false, 4, 1, recs), 0o644))
	p, err := OpenPcap(path)
	require.NoError(t, err)
	require.NotNil(t, p.bp)
	l := readAll(t, p)
	for i, r := range recs {
		require.Equal(t, r.data, l.frames[i], "record %d", i)
	}
	require.NoError(t, p.Close())
	_, _, err = p.ReadFrame()
	require.ErrorIs(t, err, os.ErrClosed)
	require.Error(t, p.Close(), "closed twice")
}

// TestBufferedGrowingFile: records appended after OpenPcap (a capture still
// being written) are read as the streaming reader reads them: those
// appended before the reader gets there, and those appended after it
// reported io.EOF between records.
func TestBufferedGrowingFile(t *testing.T) {
	recs := testRecords()
	all := pcapBytes(binary.BigEndian, false, 4, 1, recs)
	first := pcapBytes(binary.BigEndian, false, 4, 1, recs[:10])
	path := filepath.Join(t.TempDir(), "growing.pcap")
	cut := len(first) + 7 // the first 10 records and the start of the 11th
	require.NoError(t, os.WriteFile(path, all[:cut], 0o644))
	appendFile := func(b []byte) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		require.NoError(t, err)
		_, err = f.Write(b)
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}

	p, err := OpenPcap(path)
	require.NoError(t, err)
	defer p.Close()
	var frames [][]byte
	for range 10 {
		data, _, err := p.ReadFrame()
		require.NoError(t, err)
		frames = append(frames, data)
	}
	appendFile(all[cut : len(all)-5]) // all but the end of the last record

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
		require.Equal(t, recs[i].data, data, "record %d after the file grew", i)
	}
}

// TestBufferedFollow: a file that grows by whole records while it is read,
// across several moves between the buffers, is read to each of its ends;
// io.EOF between records is not final.
func TestBufferedFollow(t *testing.T) {
	recs := bigRecords(3*pcapBufSize/(40<<10), func(i int) int { return (i * 7919) % (80 << 10) })
	all := pcapBytes(binary.LittleEndian, true, 4, 1, recs)
	path := filepath.Join(t.TempDir(), "follow.pcap")
	require.NoError(t, os.WriteFile(path, all[:pcapHeaderLen], 0o644))
	p, err := OpenPcap(path)
	require.NoError(t, err)
	defer p.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	defer f.Close()
	off, next := pcapHeaderLen, 0
	for step := 0; next < len(recs); step++ {
		// Append the next few records whole, then read them and find the end.
		last := min(next+1+step%5, len(recs))
		end := off
		for i := next; i < last; i++ {
			end += pcapRecordHeaderLen + len(recs[i].data)
		}
		_, err := f.Write(all[off:end])
		require.NoError(t, err)
		off = end
		for ; next < last; next++ {
			data, ci, err := p.ReadFrame()
			require.NoError(t, err, "record %d", next)
			require.Equal(t, recs[next].data, data, "record %d", next)
			require.Equal(t, int64(recs[next].sec)*1_000_000, ci.Timestamp)
		}
		_, _, err = p.ReadFrame()
		require.Equal(t, io.EOF, err, "after record %d", next)
	}
	require.Greater(t, p.bp.pos, int64(2*pcapBufSize), "the reader moved between its buffers")
}

// TestBufferedReadFrameAllocs: reading frames allocates nothing, the moves
// between buffers and the reads included.
func TestBufferedReadFrameAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	path := filepath.Join(t.TempDir(), "x.pcap")
	recs := bigRecords(3*pcapBufSize/700, func(i int) int { return []int{60, 66, 1514, 590, 1514, 140, 54, 1514}[i%8] })
	require.NoError(t, os.WriteFile(path, pcapBytes(binary.LittleEndian, true, 4, 1, recs), 0o644))
	p, err := OpenPcap(path)
	require.NoError(t, err)
	defer p.Close()
	// testing.AllocsPerRun rounds down, which would hide an allocation made
	// once per read or per move; count every malloc over all frames.
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range recs {
		if _, _, err := p.ReadFrame(); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	require.Equal(t, p.bp.pos, int64(len(pcapBytes(binary.LittleEndian, true, 4, 1, recs))), "the whole file was read")
	if allocs := after.Mallocs - before.Mallocs; allocs != 0 {
		t.Fatalf("ReadFrame allocated %d times over %d frames, want 0", allocs, len(recs))
	}
}

// FuzzBufferedReader: any bytes, read as a file, give the same frames and
// errors through the buffers as through the streaming reader, and no panic.
// A header byte picks a valid file header to put before the bytes (or none),
// so that most inputs get past it; sizes > 0 appends records of that many
// KiB-ish sizes so that the reader moves between its buffers.
func FuzzBufferedReader(f *testing.F) {
	whole := pcapBytes(binary.LittleEndian, false, 4, 1, testRecords()[:5])
	f.Add(byte(0), whole, []byte{})
	f.Add(byte(1), whole[pcapHeaderLen:], []byte{})
	f.Add(byte(2), pcapBytes(binary.BigEndian, true, 4, 1, testRecords()[:5])[pcapHeaderLen:len(whole)-9], []byte{})
	f.Add(byte(3), []byte{1, 2, 3}, []byte{255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255})
	f.Add(byte(4), []byte{}, []byte{3, 200, 17, 255, 0, 255, 128, 64, 255, 255, 1, 255, 255, 255, 255, 255, 255, 255, 255, 2})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, header byte, data, sizes []byte) {
		var b []byte
		if h := header % 5; h > 0 {
			order := []binary.AppendByteOrder{binary.LittleEndian, binary.BigEndian}[h%2]
			b = pcapBytes(order, h > 2, 4, 1, nil)
			if len(sizes) > 40 {
				sizes = sizes[:40] // at most 10 MiB
			}
			var recs []pcapRec
			for i, s := range sizes {
				n := int(s) * 1031
				if s == 255 {
					n = maxRecord
				}
				recs = append(recs, pcapRec{sec: uint32(i), wire: uint32(n), data: make([]byte, n)})
			}
			b = append(pcapBytes(order, h > 2, 4, 1, recs), data...)
		} else {
			b = data
		}
		path := filepath.Join(dir, "fuzz.pcap")
		require.NoError(t, os.WriteFile(path, b, 0o644))
		requireSameAsStream(t, path)
	})
}

// BenchmarkReadFrame reads a 64 MiB capture of frames of mixed sizes (the
// sizes of the corpus: many ACKs, many MTU-sized segments), buffered and
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
		{"reader=buf", func(_ testing.TB, path string) (*PcapFile, error) { return OpenPcap(path) }},
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

// TestProgress: Progress counts the bytes read, never more than the file
// holds, up to its size at the end; a pipe has no size, and its bytes are
// counted as they are read.
func TestProgress(t *testing.T) {
	b := pcapBytes(binary.LittleEndian, false, 4, 1, testRecords())
	readAll := func(t *testing.T, p *PcapFile) {
		var last int64
		for {
			_, _, err := p.ReadFrame()
			read, size := p.Progress()
			require.GreaterOrEqual(t, read, last, "progress went backwards")
			if size > 0 {
				require.LessOrEqual(t, read, size)
			}
			last = read
			if err == io.EOF {
				return
			}
			require.NoError(t, err)
		}
	}
	t.Run("file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "x.pcap")
		require.NoError(t, os.WriteFile(path, b, 0o644))
		p, err := OpenPcap(path)
		require.NoError(t, err)
		defer p.Close()
		read, size := p.Progress()
		require.Equal(t, int64(len(b)), size)
		require.Less(t, read, size, "nothing past the header is read before the first frame")
		readAll(t, p)
		read, _ = p.Progress()
		require.Equal(t, size, read)
	})
	t.Run("pipe", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "fifo")
		require.NoError(t, syscall.Mkfifo(path, 0o600))
		go func() {
			w, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				return
			}
			w.Write(b)
			w.Close()
		}()
		p, err := OpenPcap(path)
		require.NoError(t, err)
		defer p.Close()
		readAll(t, p)
		read, size := p.Progress()
		require.Zero(t, size)
		require.Equal(t, int64(len(b)), read)
	})
}
