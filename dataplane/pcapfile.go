package dataplane

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"
)

// ErrNotCapture is returned when a file is neither pcap nor pcapng.
var ErrNotCapture = errors.New("not a pcap or pcapng file")

// ErrTruncated wraps the error of a capture file that ends mid-record.
var ErrTruncated = errors.New("capture file truncated")

// PcapFile reads a pcap or pcapng file. A classic pcap in a regular file is
// mapped into memory and its frames are returned in place (pcapmmap.go);
// pcapng, pipes and other non-regular files, and files that cannot be
// mapped, are streamed (pcapreader.go, gopacket's pcapng reader).
type PcapFile struct {
	f      *os.File
	mm     *mappedPcap // records left in the mapping; nil when streaming
	mapped []byte      // the whole mapping, unmapped by Close; nil if none
	pcap   *pcapReader
	ng     *pcapgo.NgReader
	link   uint32
	n      uint64
}

// OpenPcap opens path and sniffs whether it is pcap or pcapng.
func OpenPcap(path string) (*PcapFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	p := openMapped(f)
	if p == nil {
		p, err = newPcap(f)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

func newPcap(f *os.File) (*PcapFile, error) {
	br := bufio.NewReaderSize(f, 1<<20)
	magic, err := br.Peek(4)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty or shorter than a header", ErrNotCapture)
		}
		return nil, err
	}
	p := &PcapFile{f: f}
	switch {
	case bytes.Equal(magic, []byte{0x0a, 0x0d, 0x0d, 0x0a}):
		p.ng, err = pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{SkipUnknownVersion: true})
		if err != nil {
			return nil, fmt.Errorf("%w: pcapng: %v", ErrNotCapture, err)
		}
		p.link = uint32(p.ng.LinkType())
	default:
		p.pcap, err = newPcapReader(br)
		if err != nil {
			return nil, err
		}
		p.link = p.pcap.link
	}
	return p, nil
}

// LinkType is the link type of the file (of its first interface for pcapng).
func (p *PcapFile) LinkType() uint32 { return p.link }

// ReadFrame returns the next frame. A file cut mid-record ends with an
// error wrapping ErrTruncated after the complete frames before the cut.
//
// Lifetime: a frame of a mapped classic pcap is a read-only slice of the
// mapping, valid until Close (writing to it faults); a streamed frame (pcapng,
// a pipe, a file that could not be mapped, or records a file gained after it
// was opened) is valid until the next call, as Source promises.
func (p *PcapFile) ReadFrame() ([]byte, FrameInfo, error) {
	if p.mm != nil {
		if data, ci, ok := p.mm.next(); ok {
			p.n++
			return data, ci, nil
		}
		return p.mappedEnd()
	}
	var (
		data []byte
		ci   gopacket.CaptureInfo
		err  error
	)
	link := p.link
	if p.ng != nil {
		data, ci, err = p.ng.ZeroCopyReadPacketData()
		if err == nil && ci.InterfaceIndex > 0 {
			if ifc, ierr := p.ng.Interface(ci.InterfaceIndex); ierr == nil {
				link = uint32(ifc.LinkType)
			}
		}
	} else {
		data, ci, err = p.pcap.read()
	}
	if err != nil {
		if err == io.EOF {
			return nil, FrameInfo{}, io.EOF
		}
		return nil, FrameInfo{}, fmt.Errorf("%w after %d frames: %v", ErrTruncated, p.n, err)
	}
	p.n++
	wire := ci.Length
	if wire < len(data) {
		wire = len(data)
	}
	return data, FrameInfo{Timestamp: ci.Timestamp.UnixMicro(), WireLen: uint32(wire), LinkType: link}, nil
}

// FramesStable reports whether the frame ReadFrame returned last stays
// valid after the next call: true for a frame of the mapping (valid until
// Close), so the pipeline batches such frames without copying them.
func (p *PcapFile) FramesStable() bool { return p.mm != nil }

// Close unmaps and closes the file. Frames returned before are invalid
// after it, mapped ones included.
func (p *PcapFile) Close() error {
	if p.mapped == nil {
		return p.f.Close()
	}
	uerr := unmapFile(p.mapped)
	p.mapped = nil
	p.mm = &mappedPcap{err: os.ErrClosed} // a later ReadFrame fails instead of faulting
	return errors.Join(uerr, p.f.Close())
}
