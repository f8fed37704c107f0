package bench

import (
	"bufio"
	"encoding/binary"
	"io"
)

// pcapWriter writes a classic little-endian pcap with µs timestamps and
// Ethernet link type, the format every peer tool reads.
type pcapWriter struct {
	w   *bufio.Writer
	hdr [16]byte
}

const pcapSnapLen = 262144

func newPcapWriter(w io.Writer) (*pcapWriter, error) {
	pw := &pcapWriter{w: bufio.NewWriterSize(w, 1<<20)}
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], 0xA1B2C3D4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], pcapSnapLen)
	binary.LittleEndian.PutUint32(h[20:], 1) // LINKTYPE_ETHERNET
	_, err := pw.w.Write(h[:])
	return pw, err
}

// write appends one record; tsUS is µs since the Unix epoch.
func (pw *pcapWriter) write(tsUS int64, wireLen uint32, data []byte) error {
	binary.LittleEndian.PutUint32(pw.hdr[0:], uint32(tsUS/1_000_000))
	binary.LittleEndian.PutUint32(pw.hdr[4:], uint32(tsUS%1_000_000))
	binary.LittleEndian.PutUint32(pw.hdr[8:], uint32(len(data)))
	binary.LittleEndian.PutUint32(pw.hdr[12:], max(wireLen, uint32(len(data))))
	if _, err := pw.w.Write(pw.hdr[:]); err != nil {
		return err
	}
	_, err := pw.w.Write(data)
	return err
}

func (pw *pcapWriter) flush() error { return pw.w.Flush() }
