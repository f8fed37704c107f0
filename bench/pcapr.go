package bench

import (
	"io"

	"github.com/tapflow/tapflow/dataplane"
)

// captureReader reads the pcap and pcapng files the corpus is built from,
// through tapflow's own file reader (any 2.x pcap version, either byte
// order, µs or ns, pcapng with per-interface link types).
type captureReader struct{ f *dataplane.PcapFile }

func openCapture(path string) (*captureReader, error) {
	f, err := dataplane.OpenPcap(path)
	if err != nil {
		return nil, err
	}
	return &captureReader{f: f}, nil
}

// read returns the next frame (valid until the next call), its timestamp in
// µs, its wire length and link type. A record cut short ends the file.
func (r *captureReader) read() (data []byte, tsUS int64, wire, link uint32, err error) {
	data, ci, err := r.f.ReadFrame()
	if err != nil {
		return nil, 0, 0, 0, io.EOF
	}
	return data, ci.Timestamp, ci.WireLen, ci.LinkType, nil
}

func (r *captureReader) Close() error { return r.f.Close() }
