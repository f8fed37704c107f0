package bench

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket/pcapgo"
)

// captureReader reads classic pcap (any 2.x version, either byte order, µs
// or ns) and pcapng files. The bench keeps its own reader so building the
// corpus depends on nothing that is being measured.
type captureReader struct {
	f     *os.File
	br    *bufio.Reader
	ng    *pcapgo.NgReader
	order binary.ByteOrder
	nanos bool
	link  uint32
	hdr   [16]byte
	buf   []byte
}

var errNotCapture = errors.New("not a pcap or pcapng file")

func openCapture(path string) (*captureReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r := &captureReader{f: f, br: bufio.NewReaderSize(f, 1<<20)}
	magic, err := r.br.Peek(4)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, errNotCapture)
	}
	if bytes.Equal(magic, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		r.ng, err = pcapgo.NewNgReader(r.br, pcapgo.NgReaderOptions{SkipUnknownVersion: true})
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w: %v", path, errNotCapture, err)
		}
		return r, nil
	}
	var h [24]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, errNotCapture)
	}
	switch binary.LittleEndian.Uint32(h[:]) {
	case 0xA1B2C3D4:
		r.order = binary.LittleEndian
	case 0xA1B23C4D:
		r.order, r.nanos = binary.LittleEndian, true
	case 0xD4C3B2A1:
		r.order = binary.BigEndian
	case 0x4D3CB2A1:
		r.order, r.nanos = binary.BigEndian, true
	default:
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, errNotCapture)
	}
	if r.order.Uint16(h[4:]) != 2 {
		f.Close()
		return nil, fmt.Errorf("%s: %w: version %d", path, errNotCapture, r.order.Uint16(h[4:]))
	}
	r.link = r.order.Uint32(h[20:]) & 0x0FFFFFFF
	return r, nil
}

// read returns the next frame (valid until the next call), its timestamp in
// µs, its wire length and link type. A record cut short ends the file.
func (r *captureReader) read() (data []byte, tsUS int64, wire, link uint32, err error) {
	if r.ng != nil {
		d, ci, err := r.ng.ZeroCopyReadPacketData()
		if err != nil {
			return nil, 0, 0, 0, io.EOF
		}
		link := uint32(r.ng.LinkType())
		if ci.InterfaceIndex > 0 {
			if ifc, ierr := r.ng.Interface(ci.InterfaceIndex); ierr == nil {
				link = uint32(ifc.LinkType)
			}
		}
		return d, ci.Timestamp.UnixMicro(), uint32(max(ci.Length, len(d))), link, nil
	}
	if _, err := io.ReadFull(r.br, r.hdr[:]); err != nil {
		return nil, 0, 0, 0, io.EOF
	}
	sec := int64(r.order.Uint32(r.hdr[0:]))
	frac := int64(r.order.Uint32(r.hdr[4:]))
	caplen := r.order.Uint32(r.hdr[8:])
	wire = r.order.Uint32(r.hdr[12:])
	if caplen > pcapSnapLen {
		return nil, 0, 0, 0, io.EOF
	}
	if int(caplen) > cap(r.buf) {
		r.buf = make([]byte, caplen)
	}
	r.buf = r.buf[:caplen]
	if _, err := io.ReadFull(r.br, r.buf); err != nil {
		return nil, 0, 0, 0, io.EOF
	}
	if r.nanos {
		frac /= 1000
	}
	return r.buf, sec*1_000_000 + frac, max(wire, caplen), r.link, nil
}

func (r *captureReader) Close() error { return r.f.Close() }
