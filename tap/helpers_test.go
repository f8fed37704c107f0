package tap_test

import (
	"bufio"
	"bytes"
	"errors"
	"github.com/tapflow/tapflow/internal/testserver"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
	"github.com/stretchr/testify/require"
)

// requireCorpus returns a shared capture directory (see testserver.Pcaps).
func requireCorpus(tb testing.TB, name string) string {
	tb.Helper()
	return testserver.Pcaps(tb, name)
}

// frame is one captured frame with its link type.
type frame struct {
	data []byte
	link uint32
	ts   int64
	wire uint32
}

// readCapture reads every frame of a pcap or pcapng file. A file cut short
// keeps the frames before the cut.
func readCapture(tb testing.TB, path string) []frame {
	tb.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(tb, err)
	br := bufio.NewReader(bytes.NewReader(raw))
	var (
		out  []frame
		next func() ([]byte, uint32, int64, int, error)
	)
	if bytes.HasPrefix(raw, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		r, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{SkipUnknownVersion: true})
		if err != nil {
			return nil
		}
		next = func() ([]byte, uint32, int64, int, error) {
			d, ci, err := r.ReadPacketData()
			link := uint32(r.LinkType())
			if err == nil && ci.InterfaceIndex > 0 {
				if ifc, ierr := r.Interface(ci.InterfaceIndex); ierr == nil {
					link = uint32(ifc.LinkType)
				}
			}
			return d, link, ci.Timestamp.UnixMicro(), ci.Length, err
		}
	} else {
		r, err := pcapgo.NewReader(br)
		if err != nil {
			return nil
		}
		next = func() ([]byte, uint32, int64, int, error) {
			d, ci, err := r.ReadPacketData()
			return d, uint32(r.LinkType()), ci.Timestamp.UnixMicro(), ci.Length, err
		}
	}
	for {
		d, link, ts, wire, err := next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				tb.Logf("%s: stopped after %d frames: %v", filepath.Base(path), len(out), err)
			}
			return out
		}
		out = append(out, frame{data: d, link: link, ts: ts, wire: uint32(max(wire, len(d)))})
	}
}
