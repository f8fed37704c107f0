package dataplane

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"
)

// ErrNotCapture is returned when a file is neither pcap nor pcapng.
var ErrNotCapture = errors.New("not a pcap or pcapng file")

// ErrTruncated wraps the error of a capture file that ends mid-record.
var ErrTruncated = errors.New("capture file truncated")

// PcapFile reads a pcap or pcapng file. A classic pcap in a regular file is
// read in chunks into two buffers and its frames are returned in place
// (pcapbuf.go); pcapng, pipes and other non-regular files are
// streamed (pcapreader.go, gopacket's pcapng reader).
type PcapFile struct {
	f    *os.File
	bp   *bufPcap // the buffered reader of a classic pcap; nil when streaming
	pcap *pcapReader
	ng   *pcapgo.NgReader
	link uint32
	n    uint64

	// read is how many bytes of the file have been read so far (ahead of
	// the frames handed out by at most a buffer), size the file's size, 0
	// when unknown (a pipe): Progress, from any goroutine.
	read atomic.Int64
	size int64
}

// Progress returns the bytes of the file read so far and its size (0 when
// it has none, as a pipe). It may be called from any goroutine while
// another reads frames.
func (p *PcapFile) Progress() (read, size int64) { return p.read.Load(), p.size }

// countReader counts the bytes read through it into n.
type countReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countReader) Read(b []byte) (int, error) {
	k, err := c.r.Read(b)
	c.n.Add(int64(k))
	return k, err
}

// OpenPcap opens path and sniffs whether it is pcap or pcapng.
func OpenPcap(path string) (*PcapFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	p := openBuffered(f)
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
	p := &PcapFile{f: f}
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		p.size = fi.Size()
	}
	br := bufio.NewReaderSize(countReader{r: f, n: &p.read}, 1<<20)
	magic, err := br.Peek(4)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty or shorter than a header", ErrNotCapture)
		}
		return nil, err
	}
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
// Lifetime: the frame stays valid (unchanged) during the next FramesKept()
// calls; the call after those may overwrite it. A frame of a classic pcap in
// a regular file lies in one of the reader's two buffers and is kept for 16
// further calls; a streamed frame (pcapng, a pipe) only until the next call,
// as Source promises. No frame is valid after Close.
func (p *PcapFile) ReadFrame() ([]byte, FrameInfo, error) {
	if p.bp != nil {
		if data, ci, ok := p.bp.next(); ok {
			p.n++
			return data, ci, nil
		}
		return p.bufEnd()
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

// FramesKept reports for how many further ReadFrame calls the frame
// ReadFrame returned last stays valid: 32 (pcapBufKept) for a classic pcap
// read through the buffers, a lower bound whatever the record sizes; 0 for
// a streamed frame, which the next call overwrites.
func (p *PcapFile) FramesKept() int {
	if p.bp != nil {
		return pcapBufKept
	}
	return 0
}

// Close closes the file. Frames returned before are invalid after it.
func (p *PcapFile) Close() error {
	if p.bp != nil {
		p.bp = &bufPcap{err: os.ErrClosed} // a later ReadFrame fails; the buffers go to the collector
	}
	return p.f.Close()
}
