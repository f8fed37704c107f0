package dataplane

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"os"
	"sync/atomic"
)

// Reading a classic pcap file through two buffers.
//
// The streaming reader copies every byte twice (read(2) into a bufio
// buffer, then into the record buffer) and makes two io.ReadFull calls per
// record. A mapping of the file hands the frames out of the page cache as
// they are, but pays a page fault on the first touch of every page and a
// madvise to give the pages back. This reader pays one pread(2) per chunk
// and parses the records in place in its buffers, so a frame is neither
// faulted in nor copied out on its own. The file must be a regular file in
// classic pcap format, whose records are simply concatenated:
//
//	file header (24 bytes) | record header (16) | frame | record header | frame | …
//
// There are two buffers. The reader parses the current one and, when the
// next record is not all there, reads on into it, a chunk (pcapBufChunk)
// at a time beyond what that record needs. Before such a read it moves to
// the start of the other buffer (copying over the head of the record
// already read, less than a record) as soon as it may: once it has handed
// out pcapBufKept frames of the current buffer, so that every frame of the
// other one was handed out at least that many calls ago (FramesKept). With
// the frames of real traffic (a chunk holds hundreds) the two buffers take
// turns chunk by chunk, like dd's single buffer, and what the kernel copied
// in is still in the cache when the records are parsed and when the
// pipeline reads the frames. With large frames the reader fills the current
// buffer further; it must move when the next record would cross the
// buffer's end, and pcapBufSize is large enough that pcapBufKept records of
// the largest size fit before that (see pcapBufSize).
//
// Anything else (pcapng, a pipe, a device) is left to the streaming
// readers. This path returns the same frames, FrameInfo and errors as the
// streaming reader, message for message: pcapbuf_test.go compares the two
// over hand-made damaged files, the shared corpora and fuzzed bytes. A file
// that grows while it is read (a capture still being written) is read as
// far as it goes whenever a record is needed, as the streaming reader
// reads it.

const (
	// maxRecordLen is the most one record (header and frame) takes.
	maxRecordLen = pcapRecordHeaderLen + maxRecord
	// pcapBufKept is for how many further ReadFrame calls a frame of the
	// buffers stays valid (FramesKept): at least the pipeline's read
	// batch, readBatchFrames.
	pcapBufKept = 32
	// pcapBufSize is the size of each buffer: the smallest multiple of
	// 64 KiB with floor(pcapBufSize/maxRecordLen) ≥ pcapBufKept.
	//
	// Why that is enough: the reader moves into a buffer only after handing
	// out pcapBufKept frames of the other one since it moved there, or when
	// a record at some offset o of the other one would cross its end:
	// o + len(record) > pcapBufSize with len(record) ≤ maxRecordLen, so
	// o > pcapBufSize - maxRecordLen. The k records handed out of that
	// buffer fill those o bytes (the first starts at offset 0), each at
	// most maxRecordLen, so k·maxRecordLen ≥ o > pcapBufSize -
	// maxRecordLen, k > pcapBufSize/maxRecordLen - 1, that is k ≥
	// floor(pcapBufSize/maxRecordLen) ≥ pcapBufKept. Either way a buffer is
	// written again only after pcapBufKept frames handed out since its last
	// frame. A record longer than maxRecord ends the file with an error and
	// moves nothing. Memory the reader never gets to (beyond a chunk or two
	// with small frames) is never touched and costs no RSS.
	pcapBufSize = (pcapBufKept*maxRecordLen + 64<<10 - 1) &^ (64<<10 - 1)
	// pcapBufChunk is how much one pread asks for beyond what the next
	// record needs: small enough that the chunks of both buffers stay in
	// L2 (512 KiB here) next to the pipeline's own data, large enough that
	// the system calls do not count. Measured on the 2 GiB corpus, reader
	// alone, min CPU of 4 runs: 16 KiB 0.73 s, 32 KiB 0.67 s, 64 KiB 0.63 s,
	// 128 KiB 0.71 s, 256 KiB 0.74 s; without moving early (filling each
	// 4 MiB buffer to its end) 0.81 s; dd bs=1M 0.47 s.
	pcapBufChunk = 64 << 10
)

// bufPcap walks the records of a classic pcap file read into two buffers.
type bufPcap struct {
	f     *os.File
	bufs  [2][]byte // each pcapBufSize bytes
	cur   int       // the buffer being parsed
	data  []byte    // bufs[cur] as far as it is filled
	off   int       // next record header in data
	pos   int64     // file offset of the end of data
	moved uint64    // frames handed out before the reader moved into bufs[cur]
	swap  bool      // big-endian file: byte-swap the header fields
	nanos bool      // timestamps in ns rather than µs
	link  uint32
	err   error         // once set, every call returns it (io.EOF after an error)
	read  *atomic.Int64 // PcapFile.read: pos, for Progress
}

// openBuffered returns a reader of f if it is a regular file holding a
// classic pcap and nil otherwise, leaving the file to the streaming
// readers, which also report the errors of a file that is not a capture.
func openBuffered(f *os.File) *PcapFile {
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	var h [pcapHeaderLen]byte
	if _, err := f.ReadAt(h[:], 0); err != nil {
		return nil
	}
	order, nanos, link, err := parsePcapHeader(&h)
	if err != nil {
		return nil // pcapng, or not a capture at all
	}
	adviseSequential(f)
	p := &PcapFile{f: f, link: link, size: fi.Size()}
	b := &bufPcap{f: f, pos: pcapHeaderLen, swap: order == binary.BigEndian, nanos: nanos, link: link, read: &p.read}
	b.bufs[0] = make([]byte, pcapBufSize)
	b.bufs[1] = make([]byte, pcapBufSize)
	b.data = b.bufs[0][:0]
	p.bp = b
	p.read.Store(pcapHeaderLen)
	return p
}

// next returns the next record if it is complete in the buffer, or ok
// false (bufEnd then reads on). The frame's capacity ends with it, so an
// append copies instead of running into the next record.
func (b *bufPcap) next() (frame []byte, ci FrameInfo, ok bool) {
	off := b.off
	if len(b.data)-off < pcapRecordHeaderLen {
		return nil, ci, false
	}
	h := (*[pcapRecordHeaderLen]byte)(b.data[off:])
	sec := binary.LittleEndian.Uint32(h[0:])
	frac := binary.LittleEndian.Uint32(h[4:])
	caplen := binary.LittleEndian.Uint32(h[8:])
	wire := binary.LittleEndian.Uint32(h[12:])
	if b.swap {
		sec, frac = bits.ReverseBytes32(sec), bits.ReverseBytes32(frac)
		caplen, wire = bits.ReverseBytes32(caplen), bits.ReverseBytes32(wire)
	}
	start := off + pcapRecordHeaderLen
	if caplen > maxRecord || int(caplen) > len(b.data)-start {
		return nil, ci, false
	}
	end := start + int(caplen)
	b.off = end
	if b.nanos {
		frac /= 1000
	}
	// µs since the epoch exactly as the streaming path computes it through
	// time.Unix(sec, frac).UnixMicro(), for any frac (even ≥ 1s).
	ci.Timestamp = int64(sec)*1_000_000 + int64(frac)
	ci.WireLen = max(wire, caplen)
	ci.LinkType = b.link
	return b.data[start:end:end], ci, true
}

// fill reads until need bytes from off are in the buffer, moving to the
// other buffer first if it may (n frames have been handed out so far) or
// must. It reads a chunk beyond that if the file has it. The error is
// io.EOF if the file ends first.
func (b *bufPcap) fill(need int, n uint64) error {
	if b.off+need > pcapBufSize || n-b.moved >= pcapBufKept {
		other := b.bufs[1-b.cur]
		k := copy(other, b.data[b.off:])
		b.cur, b.data, b.off, b.moved = 1-b.cur, other[:k], 0, n
	}
	buf := b.bufs[b.cur]
	for len(b.data)-b.off < need {
		end := min(max(b.off+need, len(b.data)+pcapBufChunk), len(buf))
		k, err := b.f.ReadAt(buf[len(b.data):end], b.pos)
		b.data = buf[:len(b.data)+k]
		b.pos += int64(k)
		b.read.Store(b.pos)
		if err != nil && len(b.data)-b.off < need {
			return err
		}
	}
	return nil
}

// bufEnd handles what next could not: a record not (wholly) read yet, the
// end of the file, a record cut short or a corrupt length. It words its
// errors as the streaming reader does.
func (p *PcapFile) bufEnd() ([]byte, FrameInfo, error) {
	b := p.bp
	if b.err != nil {
		return nil, FrameInfo{}, b.err
	}
	for {
		rest := b.data[b.off:]
		need := pcapRecordHeaderLen
		if len(rest) >= pcapRecordHeaderLen {
			caplen := binary.LittleEndian.Uint32(rest[8:])
			if b.swap {
				caplen = bits.ReverseBytes32(caplen)
			}
			if caplen > maxRecord {
				return p.bufFail(fmt.Errorf("record of %d bytes exceeds %d: %w", caplen, maxRecord, errCorrupt))
			}
			need += int(caplen)
		}
		if len(rest) >= need {
			data, ci, _ := b.next()
			p.n++
			return data, ci, nil
		}
		err := b.fill(need, p.n)
		if err == nil {
			continue // the header is in: now the frame, or the whole record is
		}
		rest = b.data[b.off:]
		switch {
		case err != io.EOF && len(rest) < pcapRecordHeaderLen:
			err = fmt.Errorf("record header: %w", err)
		case err != io.EOF:
			err = fmt.Errorf("record body: %w", err)
		case len(rest) == 0:
			// The end of the file, between records. Not sticky: a file
			// still being written may have more on the next call, as the
			// streaming reader would find.
			return nil, FrameInfo{}, io.EOF
		case len(rest) < pcapRecordHeaderLen:
			err = fmt.Errorf("record header: %w", io.ErrUnexpectedEOF)
		case len(rest) == pcapRecordHeaderLen:
			err = fmt.Errorf("record body: %w", io.EOF) // io.ReadFull of nothing at all
		default:
			err = fmt.Errorf("record body: %w", io.ErrUnexpectedEOF)
		}
		return p.bufFail(err)
	}
}

// bufFail ends the file with err: later calls return io.EOF.
func (p *PcapFile) bufFail(err error) ([]byte, FrameInfo, error) {
	p.bp.err = io.EOF
	return nil, FrameInfo{}, fmt.Errorf("%w after %d frames: %v", ErrTruncated, p.n, err)
}
