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

// PcapFile reads a pcap or pcapng file with gopacket's pure-Go readers.
type PcapFile struct {
	f    *os.File
	pcap *pcapReader
	ng   *pcapgo.NgReader
	link uint32
	n    uint64
}

// OpenPcap opens path and sniffs whether it is pcap or pcapng.
func OpenPcap(path string) (*PcapFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	p, err := newPcap(f)
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
func (p *PcapFile) ReadFrame() ([]byte, FrameInfo, error) {
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

// Close closes the file.
func (p *PcapFile) Close() error { return p.f.Close() }
