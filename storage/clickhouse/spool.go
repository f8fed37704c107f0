package clickhouse

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tapflow/tapflow/flowtable"
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
//	magic   "TFSPOOL1"
//	u32     format version (1)
//	u32     record count
//	records fixed-size little-endian encoding, spoolRecordSize bytes each
//	u32     CRC-32C of everything above
const (
	spoolMagic      = "TFSPOOL1"
	spoolVersion    = 1
	spoolHeaderSize = 8 + 4 + 4
	spoolRecordSize = 8 + 8 + 8 + 1 + 1 + 4 + 2 + 17 + 17 + 1 + 17 + 17 + 2 + 2 +
		4*8 + 3*4 + 3*(8+4+8) + 11*4

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
		rows := int((info.Size() - spoolHeaderSize - 4) / spoolRecordSize)
		s.segs = append(s.segs, &segment{seq: seq, rows: max(rows, 0), bytes: info.Size(), inflight: ext == extInflight})
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

// append writes recs as a new last segment, durably.
func (s *spool) append(recs []flowtable.FlowRecord, inflight bool) error {
	buf := encodeSegment(recs)
	g := &segment{seq: s.next, rows: len(recs), bytes: int64(len(buf)), inflight: inflight}
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

// load reads and decodes g.
func (s *spool) load(g *segment) ([]flowtable.FlowRecord, error) {
	b, err := os.ReadFile(s.segPath(g))
	if err != nil {
		return nil, fmt.Errorf("read spool segment: %w", err)
	}
	recs, err := decodeSegment(b)
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

func encodeSegment(recs []flowtable.FlowRecord) []byte {
	b := make([]byte, 0, spoolHeaderSize+len(recs)*spoolRecordSize+4)
	b = append(b, spoolMagic...)
	b = binary.LittleEndian.AppendUint32(b, spoolVersion)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(recs)))
	for i := range recs {
		b = encodeRecord(b, &recs[i])
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
}

func decodeSegment(b []byte) ([]flowtable.FlowRecord, error) {
	if len(b) < spoolHeaderSize+4 || string(b[:8]) != spoolMagic {
		return nil, fmt.Errorf("%w: bad header", ErrCorruptSegment)
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, crcTable) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorruptSegment)
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != spoolVersion {
		return nil, fmt.Errorf("%w: format version %d", ErrCorruptSegment, v)
	}
	n := int(binary.LittleEndian.Uint32(b[12:]))
	body = body[spoolHeaderSize:]
	if len(body) != n*spoolRecordSize {
		return nil, fmt.Errorf("%w: %d bytes for %d records", ErrCorruptSegment, len(body), n)
	}
	recs := make([]flowtable.FlowRecord, n)
	for i := range recs {
		decodeRecord(body[i*spoolRecordSize:(i+1)*spoolRecordSize], &recs[i])
	}
	return recs, nil
}

func encodeRecord(b []byte, r *flowtable.FlowRecord) []byte {
	le := binary.LittleEndian
	b = le.AppendUint64(b, r.FlowID)
	b = le.AppendUint64(b, uint64(encTime(r.StartTime)))
	b = le.AppendUint64(b, uint64(encTime(r.EndTime)))
	b = append(b, uint8(r.CloseType), r.TapType)
	b = le.AppendUint32(b, r.TapPort)
	b = le.AppendUint16(b, r.VLAN)
	b = encAddr(b, r.OuterSrc)
	b = encAddr(b, r.OuterDst)
	b = append(b, r.Proto)
	b = encAddr(b, r.ClientIP)
	b = encAddr(b, r.ServerIP)
	b = le.AppendUint16(b, r.ClientPort)
	b = le.AppendUint16(b, r.ServerPort)
	for _, v := range []uint64{r.PacketsTx, r.PacketsRx, r.BytesTx, r.BytesRx} {
		b = le.AppendUint64(b, v)
	}
	for _, v := range []uint32{r.RTT, r.RTTClient, r.RTTServer} {
		b = le.AppendUint32(b, v)
	}
	for _, m := range [][3]uint64{
		{r.SRTSum, uint64(r.SRTCount), r.SRTMax},
		{r.ARTSum, uint64(r.ARTCount), r.ARTMax},
		{r.CITSum, uint64(r.CITCount), r.CITMax},
	} {
		b = le.AppendUint64(b, m[0])
		b = le.AppendUint32(b, uint32(m[1]))
		b = le.AppendUint64(b, m[2])
	}
	for _, v := range []uint32{r.RetransTx, r.RetransRx, r.ZeroWinTx, r.ZeroWinRx,
		r.OOOTx, r.OOORx, r.LostTx, r.LostRx, r.SYNCount, r.SYNACKCount, r.FINCount} {
		b = le.AppendUint32(b, v)
	}
	return b
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

func decodeRecord(b []byte, r *flowtable.FlowRecord) {
	d := dec{b}
	r.FlowID = d.u64()
	r.StartTime = d.time()
	r.EndTime = d.time()
	r.CloseType = flowtable.CloseType(d.u8())
	r.TapType = d.u8()
	r.TapPort = d.u32()
	r.VLAN = d.u16()
	r.OuterSrc = d.addr()
	r.OuterDst = d.addr()
	r.Proto = d.u8()
	r.ClientIP = d.addr()
	r.ServerIP = d.addr()
	r.ClientPort = d.u16()
	r.ServerPort = d.u16()
	r.PacketsTx, r.PacketsRx, r.BytesTx, r.BytesRx = d.u64(), d.u64(), d.u64(), d.u64()
	r.RTT, r.RTTClient, r.RTTServer = d.u32(), d.u32(), d.u32()
	r.SRTSum, r.SRTCount, r.SRTMax = d.u64(), d.u32(), d.u64()
	r.ARTSum, r.ARTCount, r.ARTMax = d.u64(), d.u32(), d.u64()
	r.CITSum, r.CITCount, r.CITMax = d.u64(), d.u32(), d.u64()
	r.RetransTx, r.RetransRx = d.u32(), d.u32()
	r.ZeroWinTx, r.ZeroWinRx = d.u32(), d.u32()
	r.OOOTx, r.OOORx = d.u32(), d.u32()
	r.LostTx, r.LostRx = d.u32(), d.u32()
	r.SYNCount, r.SYNACKCount, r.FINCount = d.u32(), d.u32(), d.u32()
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
		return append(b, make([]byte, 16)...)
	}
	a16 := a.As16()
	if fam == 4 {
		a4 := a.As4()
		a16 = [16]byte{}
		copy(a16[:], a4[:])
	}
	return append(b, a16[:]...)
}
