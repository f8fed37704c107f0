package dataplane

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"os"
)

// Reading a classic pcap file in place.
//
// The streaming reader copies every byte twice (read(2) into a bufio
// buffer, then into the record buffer) and makes two io.ReadFull calls per
// record. Mapping the file hands the frames out of the page cache as they
// are; what remains is the kernel mapping each page on first touch, which
// MADV_SEQUENTIAL keeps on read-ahead. The file must be a regular file (its
// size is known) in classic pcap format, whose records are simply
// concatenated:
//
//	file header (24 bytes) | record header (16) | frame | record header | frame | …
//
// Anything else (pcapng, a pipe, a device, a mapping that fails) is left to
// the streaming readers. This path returns the same frames, FrameInfo and
// errors as the streaming reader, message for message: pcapmmap_test.go
// compares the two over hand-made damaged files and the shared corpora.
//
// Caveat of any mapping: a file truncated by another process while it is
// mapped makes reading the lost pages fault (SIGBUS), which the Go runtime
// does not recover from. A file that only grows is fine: records appended
// after OpenPcap are read by the streaming reader once the mapping is used
// up (streamGrowth).

// mappedPcap walks the records of a mapped classic pcap file.
type mappedPcap struct {
	data  []byte // file header and records, as mapped
	off   int    // next record header
	swap  bool   // big-endian file: byte-swap the header fields
	nanos bool   // timestamps in ns rather than µs
	link  uint32
	err   error // once set, every call returns it (io.EOF after an error)
	// released is where the mapping's resident pages start: the pages
	// behind the reader are given back (releaseBehind).
	released int
}

// releaseChunk is how far behind the reader pages are given back, and how
// often: a replay of a file larger than memory then holds a window of the
// file instead of all of it.
const releaseChunk = 64 << 20

// releaseBehind drops the page mappings more than releaseChunk behind the
// reader. The mapping is shared and read-only, so a frame handed out
// earlier stays valid: touching it faults its page back in from the page
// cache (or the file). Only resident memory changes.
func (m *mappedPcap) releaseBehind() {
	if m.off-m.released < 2*releaseChunk {
		return
	}
	end := m.off - releaseChunk
	end -= end % pageSize
	releaseMapped(m.data[m.released:end])
	m.released = end
}

// openMapped maps f if it is a regular file holding a classic pcap and
// returns nil otherwise, leaving the file to the streaming readers, which
// also report the errors of a file that is not a capture.
func openMapped(f *os.File) *PcapFile {
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() < pcapHeaderLen || int64(int(fi.Size())) != fi.Size() {
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
	data, err := mapFile(f, int(fi.Size()))
	if err != nil {
		return nil // no mmap on this platform or file system: stream it
	}
	m := &mappedPcap{data: data, off: pcapHeaderLen, swap: order == binary.BigEndian, nanos: nanos, link: link}
	return &PcapFile{f: f, mm: m, mapped: data, link: link}
}

// next returns the next complete record, or ok false at the end of the
// mapping or at a record that does not fit in it (mappedEnd says which). The
// frame's capacity ends with it, so an append copies instead of running into
// the next record.
func (m *mappedPcap) next() (frame []byte, ci FrameInfo, ok bool) {
	off := m.off
	if len(m.data)-off < pcapRecordHeaderLen {
		return nil, ci, false
	}
	h := (*[pcapRecordHeaderLen]byte)(m.data[off:])
	sec := binary.LittleEndian.Uint32(h[0:])
	frac := binary.LittleEndian.Uint32(h[4:])
	caplen := binary.LittleEndian.Uint32(h[8:])
	wire := binary.LittleEndian.Uint32(h[12:])
	if m.swap {
		sec, frac = bits.ReverseBytes32(sec), bits.ReverseBytes32(frac)
		caplen, wire = bits.ReverseBytes32(caplen), bits.ReverseBytes32(wire)
	}
	start := off + pcapRecordHeaderLen
	if caplen > maxRecord || int(caplen) > len(m.data)-start {
		return nil, ci, false
	}
	end := start + int(caplen)
	m.off = end
	m.releaseBehind()
	if m.nanos {
		frac /= 1000
	}
	// µs since the epoch exactly as the streaming path computes it through
	// time.Unix(sec, frac).UnixMicro(), for any frac (even ≥ 1s).
	ci.Timestamp = int64(sec)*1_000_000 + int64(frac)
	ci.WireLen = max(wire, caplen)
	ci.LinkType = m.link
	return m.data[start:end:end], ci, true
}

// mappedEnd handles what next could not: the end of the file, records the
// file gained since it was mapped, a record cut short or a corrupt length.
// It words its errors as the streaming reader does.
func (p *PcapFile) mappedEnd() ([]byte, FrameInfo, error) {
	m := p.mm
	if m.err != nil {
		return nil, FrameInfo{}, m.err
	}
	rest := m.data[m.off:]
	var caplen uint32
	if len(rest) >= pcapRecordHeaderLen {
		caplen = binary.LittleEndian.Uint32(rest[8:])
		if m.swap {
			caplen = bits.ReverseBytes32(caplen)
		}
	}
	if caplen <= maxRecord && p.streamGrowth() {
		return p.ReadFrame()
	}
	var err error
	switch {
	case len(rest) == 0:
		m.err = io.EOF
		return nil, FrameInfo{}, io.EOF
	case len(rest) < pcapRecordHeaderLen:
		err = fmt.Errorf("record header: %w", io.ErrUnexpectedEOF)
	case caplen > maxRecord:
		err = fmt.Errorf("record of %d bytes exceeds %d: %w", caplen, maxRecord, errCorrupt)
	case len(rest) == pcapRecordHeaderLen:
		err = fmt.Errorf("record body: %w", io.EOF) // io.ReadFull of nothing at all
	default:
		err = fmt.Errorf("record body: %w", io.ErrUnexpectedEOF)
	}
	m.err = io.EOF
	return nil, FrameInfo{}, fmt.Errorf("%w after %d frames: %v", ErrTruncated, p.n, err)
}

// streamGrowth switches to the streaming reader at the current record if
// the file has grown since it was mapped (a capture still being written), so
// the mapped path reads as far as the streaming one would. The mapping stays
// until Close: the frames handed out so far remain valid.
func (p *PcapFile) streamGrowth() bool {
	m := p.mm
	fi, err := p.f.Stat()
	if err != nil || fi.Size() <= int64(len(m.data)) {
		return false
	}
	if _, err := p.f.Seek(int64(m.off), io.SeekStart); err != nil {
		return false
	}
	order := binary.ByteOrder(binary.LittleEndian)
	if m.swap {
		order = binary.BigEndian
	}
	p.pcap = &pcapReader{r: bufio.NewReaderSize(p.f, 1<<20), order: order, nanos: m.nanos, link: m.link, buf: make([]byte, 0, 65536)}
	p.mm = nil
	return true
}
