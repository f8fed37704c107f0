package clickhouse

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The spool is a directory of segment files, one per batch, named by a
// sequence number so that replay follows write order:
//
//	00000000000000000042.seg       a batch never sent to ClickHouse
//	00000000000000000042.inflight  a batch whose INSERT may have happened
//	00000000000000000042.bad       set aside: undecodable or refused too often
//	*.tmp                          a segment being written (removed at open)
//
// A segment is written to a .tmp file, fsynced, renamed and the directory
// fsynced, so a listed segment is always complete. Its layout:
//
//	magic   8 bytes naming the row type: "TFSPOOL1" flow records,
//	        "TFSPMET1" aggregate rows, "TFSPL7R1" L7 request logs
//	u32     record format version (the row codec's)
//	u32     record count
//	records little-endian: fixed-size, the codec's recordSize each; or, for
//	        a format whose records vary in size (recordSize varRecordSize),
//	        each record preceded by its size as a u32
//	u32     CRC-32C of everything above
//
// A codec keeps decoding the record formats it wrote before, so a spool
// left by an older tapflow replays after an upgrade.
const (
	spoolHeaderSize = 8 + 4 + 4

	// varRecordSize is what a codec's recordSize returns for a format
	// whose records vary in size (they carry text).
	varRecordSize = -1

	extSeg      = ".seg"
	extInflight = ".inflight"
	extBad      = ".bad"
	extTmp      = ".tmp"
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// segment is one spooled batch.
type segment struct {
	seq      uint64
	rows     int
	bytes    int64
	inflight bool // its INSERT may have reached ClickHouse
	failures int  // consecutive server refusals in this process
}

type spool struct {
	dir   string
	segs  []*segment // oldest first
	next  uint64
	bytes int64
}

// openSpool scans dir (creating it), drops unfinished .tmp files and lists
// the segments in order.
func openSpool(dir string) (*spool, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create spool dir: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read spool dir: %w", err)
	}
	s := &spool{dir: dir, next: 1}
	for _, e := range ents {
		name := e.Name()
		ext := filepath.Ext(name)
		if ext == extTmp {
			_ = os.Remove(filepath.Join(dir, name))
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(name, ext), 10, 64)
		if err != nil {
			continue
		}
		s.next = max(s.next, seq+1)
		if ext != extSeg && ext != extInflight {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("stat spool segment %s: %w", name, err)
		}
		rows := segmentRows(filepath.Join(dir, name))
		s.segs = append(s.segs, &segment{seq: seq, rows: rows, bytes: info.Size(), inflight: ext == extInflight})
		s.bytes += info.Size()
	}
	slices.SortFunc(s.segs, func(a, b *segment) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	return s, nil
}

func (s *spool) path(seq uint64, ext string) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d%s", seq, ext))
}

func (s *spool) segPath(g *segment) string {
	if g.inflight {
		return s.path(g.seq, extInflight)
	}
	return s.path(g.seq, extSeg)
}

func (s *spool) len() int { return len(s.segs) }

func (s *spool) head() *segment {
	if len(s.segs) == 0 {
		return nil
	}
	return s.segs[0]
}

// segmentRows reads the record count in a segment's header; 0 when the
// header cannot be read (the segment is found corrupt when replayed).
func segmentRows(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	var h [spoolHeaderSize]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return 0
	}
	return int(binary.LittleEndian.Uint32(h[12:]))
}

// append writes buf, an encoded segment of rows rows, as a new last
// segment, durably.
func (s *spool) append(buf []byte, rows int, inflight bool) error {
	g := &segment{seq: s.next, rows: rows, bytes: int64(len(buf)), inflight: inflight}
	tmp := s.path(g.seq, extTmp)
	if err := writeFileSync(tmp, buf); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write spool segment: %w", err)
	}
	if err := os.Rename(tmp, s.segPath(g)); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write spool segment: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("write spool segment: %w", err)
	}
	s.next++
	s.segs = append(s.segs, g)
	s.bytes += g.bytes
	return nil
}

// loadSegment reads and decodes g.
func loadSegment[R any](s *spool, g *segment, c rowCodec[R]) ([]R, error) {
	b, err := os.ReadFile(s.segPath(g))
	if err != nil {
		return nil, fmt.Errorf("read spool segment: %w", err)
	}
	recs, err := decodeSegment(c, b)
	if err != nil {
		return nil, fmt.Errorf("spool segment %s: %w", s.segPath(g), err)
	}
	return recs, nil
}

// setInflight renames g to record whether its INSERT may have happened.
func (s *spool) setInflight(g *segment, inflight bool) error {
	if g.inflight == inflight {
		return nil
	}
	from := s.segPath(g)
	g.inflight = inflight
	if err := os.Rename(from, s.segPath(g)); err != nil {
		g.inflight = !inflight
		return fmt.Errorf("mark spool segment: %w", err)
	}
	return syncDir(s.dir)
}

// removeHead deletes the oldest segment (after its INSERT succeeded), or
// renames it to .bad when setAside.
func (s *spool) removeHead(setAside bool) error {
	g := s.segs[0]
	var err error
	if setAside {
		err = os.Rename(s.segPath(g), s.path(g.seq, extBad))
	} else {
		err = os.Remove(s.segPath(g))
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove spool segment: %w", err)
	}
	s.segs[0] = nil
	s.segs = s.segs[1:]
	s.bytes -= g.bytes
	return syncDir(s.dir)
}

func writeFileSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// zeroTime encodes time.Time{} in the spool.
const zeroTime = math.MinInt64

// varSizeHint is the record size encodeSegment reserves room for when the
// records vary in size.
const varSizeHint = 4 + 192

// encodeSegment returns recs as a segment in c's current record format.
func encodeSegment[R any](c rowCodec[R], recs []R) []byte {
	v := c.version()
	size := c.recordSize(v)
	hint := size
	if size == varRecordSize {
		hint = varSizeHint
	}
	b := make([]byte, 0, spoolHeaderSize+len(recs)*hint+4)
	b = append(b, c.magic()...)
	b = binary.LittleEndian.AppendUint32(b, v)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(recs)))
	for i := range recs {
		if size != varRecordSize {
			b = c.encode(b, &recs[i])
			continue
		}
		at := len(b)
		b = append(b, 0, 0, 0, 0)
		b = c.encode(b, &recs[i])
		binary.LittleEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
}

// decodeSegment decodes a segment c wrote, in any of c's record formats.
func decodeSegment[R any](c rowCodec[R], b []byte) ([]R, error) {
	if len(b) < spoolHeaderSize+4 || string(b[:8]) != c.magic() {
		return nil, fmt.Errorf("%w: bad header", ErrCorruptSegment)
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, crcTable) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorruptSegment)
	}
	v := binary.LittleEndian.Uint32(b[8:])
	size := c.recordSize(v)
	if size == 0 {
		return nil, fmt.Errorf("%w: format version %d", ErrCorruptSegment, v)
	}
	n := int(binary.LittleEndian.Uint32(b[12:]))
	body = body[spoolHeaderSize:]
	if size != varRecordSize {
		if len(body) != n*size {
			return nil, fmt.Errorf("%w: %d bytes for %d records", ErrCorruptSegment, len(body), n)
		}
		recs := make([]R, n)
		for i := range recs {
			if err := c.decode(body[i*size:(i+1)*size], v, &recs[i]); err != nil {
				return nil, fmt.Errorf("%w: record %d: %w", ErrCorruptSegment, i, err)
			}
		}
		return recs, nil
	}
	if n > len(body)/4 {
		return nil, fmt.Errorf("%w: %d bytes for %d records", ErrCorruptSegment, len(body), n)
	}
	// Grown as records decode, so a bad count cannot make a huge slice.
	recs := make([]R, 0, min(n, 1024))
	for i := range n {
		if len(body) < 4 {
			return nil, fmt.Errorf("%w: record %d overruns the segment", ErrCorruptSegment, i)
		}
		m := uint64(binary.LittleEndian.Uint32(body)) // this record's size
		if body = body[4:]; m > uint64(len(body)) {
			return nil, fmt.Errorf("%w: record %d overruns the segment", ErrCorruptSegment, i)
		}
		recs = append(recs, *new(R))
		if err := c.decode(body[:m], v, &recs[i]); err != nil {
			return nil, fmt.Errorf("%w: record %d: %w", ErrCorruptSegment, i, err)
		}
		body = body[m:]
	}
	if len(body) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last record", ErrCorruptSegment, len(body))
	}
	return recs, nil
}

// dec reads a fixed-size record.
type dec struct{ b []byte }

func (d *dec) u8() uint8   { v := d.b[0]; d.b = d.b[1:]; return v }
func (d *dec) u16() uint16 { v := binary.LittleEndian.Uint16(d.b); d.b = d.b[2:]; return v }
func (d *dec) u32() uint32 { v := binary.LittleEndian.Uint32(d.b); d.b = d.b[4:]; return v }
func (d *dec) u64() uint64 { v := binary.LittleEndian.Uint64(d.b); d.b = d.b[8:]; return v }
func (d *dec) time() time.Time {
	return decTime(int64(d.u64()))
}
func (d *dec) addr() netip.Addr {
	fam := d.u8()
	a16 := [16]byte(d.b[:16])
	d.b = d.b[16:]
	switch fam {
	case 4:
		return netip.AddrFrom4([4]byte(a16[:4]))
	case 6:
		return netip.AddrFrom16(a16)
	}
	return netip.Addr{}
}

func encTime(t time.Time) int64 {
	if t.IsZero() {
		return zeroTime
	}
	return t.UnixNano()
}

func decTime(ns int64) time.Time {
	if ns == zeroTime {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// encAddr writes a family byte (0 invalid, 4, 6) and 16 address bytes.
func encAddr(b []byte, a netip.Addr) []byte {
	var fam uint8
	switch {
	case a.Is4():
		fam = 4
	case a.Is6():
		fam = 6
	}
	b = append(b, fam)
	if fam == 0 {
		var zero [16]byte
		return append(b, zero[:]...)
	}
	a16 := a.As16()
	if fam == 4 {
		a4 := a.As4()
		a16 = [16]byte{}
		copy(a16[:], a4[:])
	}
	return append(b, a16[:]...)
}
