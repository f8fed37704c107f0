package dataplane

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"
)

// pcapReader reads classic pcap files. It accepts every 2.x version (as
// libpcap does; gopacket's reader refuses 2.0–2.3), both byte orders, µs and
// ns timestamps, and records longer than the snap length.
type pcapReader struct {
	r     io.Reader
	order binary.ByteOrder
	nanos bool
	link  uint32
	hdr   [pcapRecordHeaderLen]byte
	buf   []byte
}

// maxRecord bounds one record so a corrupt length cannot exhaust memory.
const maxRecord = 256 << 10

// pcapHeaderLen and pcapRecordHeaderLen are the sizes of the file header
// (magic, version, thiszone, sigfigs, snaplen, linktype) and of a record
// header (ts_sec, ts_frac, incl_len, orig_len).
const (
	pcapHeaderLen       = 24
	pcapRecordHeaderLen = 16
)

func newPcapReader(r io.Reader) (*pcapReader, error) {
	var h [pcapHeaderLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, fmt.Errorf("%w: file shorter than a pcap header", ErrNotCapture)
	}
	p := &pcapReader{r: r, buf: make([]byte, 0, 65536)}
	var err error
	if p.order, p.nanos, p.link, err = parsePcapHeader(&h); err != nil {
		return nil, err
	}
	return p, nil
}

// parsePcapHeader reads a classic pcap file header: the byte order and
// timestamp unit from the magic, and the link type.
func parsePcapHeader(h *[pcapHeaderLen]byte) (order binary.ByteOrder, nanos bool, link uint32, err error) {
	switch binary.LittleEndian.Uint32(h[:]) {
	case 0xA1B2C3D4:
		order = binary.LittleEndian
	case 0xA1B23C4D:
		order, nanos = binary.LittleEndian, true
	case 0xD4C3B2A1:
		order = binary.BigEndian
	case 0x4D3CB2A1:
		order, nanos = binary.BigEndian, true
	default:
		return nil, false, 0, fmt.Errorf("%w: unknown magic %x", ErrNotCapture, h[:4])
	}
	if v := order.Uint16(h[4:]); v != 2 {
		return nil, false, 0, fmt.Errorf("%w: pcap major version %d", ErrNotCapture, v)
	}
	// The upper bits of the link-type field carry FCS flags.
	return order, nanos, order.Uint32(h[20:]) & 0x0FFFFFFF, nil
}

// read returns the next record; the data is valid until the next call.
func (p *pcapReader) read() ([]byte, gopacket.CaptureInfo, error) {
	var ci gopacket.CaptureInfo
	if _, err := io.ReadFull(p.r, p.hdr[:]); err != nil {
		if err == io.EOF {
			return nil, ci, io.EOF
		}
		return nil, ci, fmt.Errorf("record header: %w", err)
	}
	sec := int64(p.order.Uint32(p.hdr[0:]))
	frac := int64(p.order.Uint32(p.hdr[4:]))
	caplen := p.order.Uint32(p.hdr[8:])
	wire := p.order.Uint32(p.hdr[12:])
	if caplen > maxRecord {
		return nil, ci, fmt.Errorf("record of %d bytes exceeds %d: %w", caplen, maxRecord, errCorrupt)
	}
	if int(caplen) > cap(p.buf) {
		p.buf = make([]byte, caplen)
	}
	p.buf = p.buf[:caplen]
	if _, err := io.ReadFull(p.r, p.buf); err != nil {
		return nil, ci, fmt.Errorf("record body: %w", err)
	}
	if !p.nanos {
		frac *= 1000
	}
	ci.Timestamp = time.Unix(sec, frac)
	ci.CaptureLength = int(caplen)
	ci.Length = int(wire)
	return p.buf, ci, nil
}

var errCorrupt = errors.New("corrupt capture")
