package bench

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// corpusVersion changes whenever the generator's output for the same
// inputs changes; it is part of the stamp's fingerprint.
const corpusVersion = "tapflow-bench-corpus/2"

// corpusEpoch is where every capture's first packet lands on the common
// timeline: 2024-01-01T00:00:00Z, in µs.
const corpusEpoch = int64(1704067200) * 1_000_000

// maxGap is the longest pause kept between two packets of a capture (µs).
const maxGap = 60 * 1_000_000

// maxCopyOffset bounds the deterministic start offset of each copy of each
// capture on the timeline (µs), so copies interleave rather than repeat in
// lockstep.
const maxCopyOffset = 10 * 1_000_000

// CorpusConfig says how to build the benchmark corpus.
type CorpusConfig struct {
	// Sources are directories of captures (.pcap, .pcapng, .cap), read in
	// order, files sorted by name. Captures that are not Ethernet or hold
	// no IPv4/IPv6 TCP/UDP packet are skipped.
	Sources []string
	// Out is the pcap written; Out+".stamp" records what it was built from.
	Out string
	// Seed drives the per-copy address masks and time offsets.
	Seed uint64
	// MinPackets and MinFlows: copies are added until both are reached.
	MinPackets int64
	MinFlows   int64
	// Force rebuilds even when the stamp matches.
	Force bool
	// Logger reports progress; nil discards it.
	Logger *slog.Logger
}

// DefaultCorpusConfig is the corpus of `make bench-corpus`: the nDPI and
// tcpdump captures of the shared folder next to the repository at root.
func DefaultCorpusConfig(root string) CorpusConfig {
	shared := filepath.Join(root, "..", "shared", "pcaps")
	return CorpusConfig{
		Sources:    []string{filepath.Join(shared, "ndpi"), filepath.Join(shared, "tcpdump")},
		Out:        filepath.Join(root, "build", "bench", "corpus.pcap"),
		Seed:       0x7a9f1005,
		MinPackets: 6_000_000,
		MinFlows:   300_000,
	}
}

// CorpusInfo describes a built corpus. It is also the stamp's content.
type CorpusInfo struct {
	Path        string `json:"-"`
	Fingerprint string `json:"fingerprint"` // inputs, parameters and generator version
	SHA256      string `json:"sha256"`
	Packets     int64  `json:"packets"`
	Flows       int64  `json:"flows"` // distinct direction-independent 5-tuples
	Bytes       int64  `json:"bytes"` // file size
	Captures    int    `json:"captures"`
	Copies      int    `json:"copies"`
	Reused      bool   `json:"-"` // an existing file matched its stamp
}

// String is the one-line summary `make bench-corpus` prints.
func (c CorpusInfo) String() string {
	how := "built"
	if c.Reused {
		how = "up to date"
	}
	return fmt.Sprintf("corpus %s (%s): %d packets, %d flows, %d captures x %d copies, %.1f MB, sha256 %s",
		c.Path, how, c.Packets, c.Flows, c.Captures, c.Copies, float64(c.Bytes)/1e6, c.SHA256)
}

// capture is one source file's usable packets, sorted by time.
type capture struct {
	name  string
	arena []byte
	pkts  []srcPacket
}

type srcPacket struct {
	ts       int64 // µs after the capture's first packet
	off, n   uint32
	wire     uint32
	ip       ipPacket
	baseFlow uint32 // index into the distinct base flows
}

// baseFlow is a 5-tuple of the original captures, before any mask.
type baseFlow struct {
	a, b   [16]byte
	sp, dp uint16
	proto  uint8
	v4     bool
}

func (f *baseFlow) masked(mask uint32) flowKey {
	a, b := f.a, f.b
	if f.v4 {
		m := uint16(mask)
		binary.BigEndian.PutUint16(a[14:], binary.BigEndian.Uint16(a[14:])^m)
		binary.BigEndian.PutUint16(b[14:], binary.BigEndian.Uint16(b[14:])^m)
	} else {
		binary.BigEndian.PutUint32(a[12:], binary.BigEndian.Uint32(a[12:])^mask)
		binary.BigEndian.PutUint32(b[12:], binary.BigEndian.Uint32(b[12:])^mask)
	}
	k := flowKey{proto: f.proto}
	if less(a, b) || (a == b && f.sp <= f.dp) {
		k.lo, k.hi, k.loPort, k.hiPort = a, b, f.sp, f.dp
	} else {
		k.lo, k.hi, k.loPort, k.hiPort = b, a, f.dp, f.sp
	}
	return k
}

// BuildCorpus builds (or reuses) the corpus described by cfg: the usable
// captures rebased onto one timeline starting at 2024-01-01, merged in time
// order and multiplied with address rewriting until it holds cfg.MinPackets
// packets and cfg.MinFlows flows. The output depends only on the inputs and
// cfg, so its sha256 is reproducible.
func BuildCorpus(cfg CorpusConfig) (CorpusInfo, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	files, err := listCaptures(cfg.Sources)
	if err != nil {
		return CorpusInfo{}, err
	}
	if len(files) == 0 {
		return CorpusInfo{}, fmt.Errorf("no captures under %s", strings.Join(cfg.Sources, ", "))
	}
	fp, err := fingerprint(cfg, files)
	if err != nil {
		return CorpusInfo{}, err
	}
	if !cfg.Force {
		if info, ok := reuseCorpus(cfg.Out, fp); ok {
			return info, nil
		}
	}

	caps, flows, err := loadCaptures(files, log)
	if err != nil {
		return CorpusInfo{}, err
	}
	if len(caps) == 0 {
		return CorpusInfo{}, errors.New("no capture holds Ethernet IPv4/IPv6 TCP/UDP packets")
	}
	var perCopy int64
	for _, c := range caps {
		perCopy += int64(len(c.pkts))
	}

	// Copies: masks from one seeded stream, each distinct in its low 16
	// bits (all an IPv4 address gets) and never zero but for copy 0.
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x6265_6e63_6820_636f))
	masks := []uint32{0}
	used := map[uint16]bool{0: true}
	seen := make(map[flowKey]struct{}, len(flows)*64)
	addCopy := func(mask uint32) {
		for i := range flows {
			seen[flows[i].masked(mask)] = struct{}{}
		}
	}
	addCopy(0)
	for int64(len(masks))*perCopy < cfg.MinPackets || int64(len(seen)) < cfg.MinFlows {
		if len(masks) >= 1<<15 {
			return CorpusInfo{}, fmt.Errorf("corpus: %d copies still give only %d flows", len(masks), len(seen))
		}
		m := rng.Uint32()
		if used[uint16(m)] {
			continue
		}
		used[uint16(m)] = true
		masks = append(masks, m)
		addCopy(m)
	}
	info := CorpusInfo{Path: cfg.Out, Fingerprint: fp, Flows: int64(len(seen)),
		Packets: int64(len(masks)) * perCopy, Captures: len(caps), Copies: len(masks)}
	seen = nil
	log.Info("writing corpus", "captures", len(caps), "packets_per_copy", perCopy, "copies", len(masks), "flows", info.Flows)

	if err := writeCorpus(cfg.Out, caps, masks, rng, &info); err != nil {
		return CorpusInfo{}, err
	}
	st, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return CorpusInfo{}, err
	}
	if err := os.WriteFile(cfg.Out+".stamp", append(st, '\n'), 0o644); err != nil {
		return CorpusInfo{}, fmt.Errorf("write stamp: %w", err)
	}
	return info, nil
}

// listCaptures returns the capture files of dirs, each dir's sorted by name.
func listCaptures(dirs []string) ([]string, error) {
	var out []string
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			return nil, fmt.Errorf("read captures: %w", err)
		}
		for _, e := range ents {
			switch strings.ToLower(filepath.Ext(e.Name())) {
			case ".pcap", ".pcapng", ".cap":
				if e.Type().IsRegular() {
					out = append(out, filepath.Join(d, e.Name()))
				}
			}
		}
	}
	return out, nil
}

// fingerprint hashes the generator version, the parameters and every
// candidate capture's name and content.
func fingerprint(cfg CorpusConfig, files []string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s seed=%d packets=%d flows=%d\n", corpusVersion, cfg.Seed, cfg.MinPackets, cfg.MinFlows)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("fingerprint: %w", err)
		}
		fmt.Fprintf(h, "%s/%s %d %x\n", filepath.Base(filepath.Dir(f)), filepath.Base(f), len(b), sha256.Sum256(b))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// reuseCorpus reports an existing corpus whose stamp has fingerprint fp and
// whose content still has the stamped sha256.
func reuseCorpus(out, fp string) (CorpusInfo, bool) {
	b, err := os.ReadFile(out + ".stamp")
	if err != nil {
		return CorpusInfo{}, false
	}
	var info CorpusInfo
	if json.Unmarshal(b, &info) != nil || info.Fingerprint != fp {
		return CorpusInfo{}, false
	}
	sum, size, err := fileSHA256(out)
	if err != nil || sum != info.SHA256 || size != info.Bytes {
		return CorpusInfo{}, false
	}
	info.Path, info.Reused = out, true
	return info, true
}

// ReadCorpusInfo returns the stamp of the corpus at path without checking
// its content.
func ReadCorpusInfo(path string) (CorpusInfo, error) {
	path, err := filepath.Abs(path)
	if err != nil {
		return CorpusInfo{}, err
	}
	b, err := os.ReadFile(path + ".stamp")
	if err != nil {
		return CorpusInfo{}, fmt.Errorf("corpus stamp (run make bench-corpus): %w", err)
	}
	var info CorpusInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return CorpusInfo{}, fmt.Errorf("corpus stamp %s: %w", path+".stamp", err)
	}
	info.Path = path
	return info, nil
}

func fileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// loadCaptures reads the usable packets of every file and the distinct base
// flows they belong to.
func loadCaptures(files []string, log *slog.Logger) ([]*capture, []baseFlow, error) {
	var caps []*capture
	var flows []baseFlow
	index := map[flowKey]uint32{}
	for _, path := range files {
		c, err := loadCapture(path)
		if err != nil {
			log.Debug("capture skipped", "file", path, "err", err)
			continue
		}
		if c == nil {
			continue
		}
		for i := range c.pkts {
			p := &c.pkts[i]
			frame := c.arena[p.off : p.off+p.n]
			k := p.ip.key(frame, 0)
			id, ok := index[k]
			if !ok {
				id = uint32(len(flows))
				index[k] = id
				bf := baseFlow{a: k.lo, b: k.hi, sp: k.loPort, dp: k.hiPort, proto: k.proto, v4: p.ip.version == 4}
				flows = append(flows, bf)
			}
			p.baseFlow = id
		}
		caps = append(caps, c)
	}
	return caps, flows, nil
}

// loadCapture returns the Ethernet IPv4/IPv6 TCP/UDP packets of path sorted
// by time (stable), or nil if it has none. A file cut mid-record keeps the
// packets before the cut.
func loadCapture(path string) (*capture, error) {
	src, err := openCapture(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	c := &capture{name: filepath.Base(path)}
	for {
		data, ts, wire, link, err := src.read()
		if err != nil {
			break
		}
		if link != 1 {
			return nil, nil // not Ethernet: skip the whole capture
		}
		ip, ok := parseIP(data)
		if !ok {
			continue
		}
		// Some captures carry bogus wire lengths (GBs); keep them plausible.
		wire = min(wire, max(uint32(len(data)), 65535+18))
		c.pkts = append(c.pkts, srcPacket{ts: ts, off: uint32(len(c.arena)), n: uint32(len(data)), wire: wire, ip: ip})
		c.arena = append(c.arena, data...)
	}
	if len(c.pkts) == 0 {
		return nil, nil
	}
	slices.SortStableFunc(c.pkts, func(a, b srcPacket) int {
		switch {
		case a.ts < b.ts:
			return -1
		case a.ts > b.ts:
			return 1
		}
		return 0
	})
	// Rebase onto 0 and close gaps longer than maxGap: some captures hold
	// a stray packet years away from the rest, which would stretch the
	// merged timeline over decades.
	prev, rel := c.pkts[0].ts, int64(0)
	for i := range c.pkts {
		rel += min(c.pkts[i].ts-prev, maxGap)
		prev = c.pkts[i].ts
		c.pkts[i].ts = rel
	}
	return c, nil
}

// stream is one copy of one capture being merged.
type stream struct {
	c      *capture
	ci     int // capture index, for deterministic tie-breaks
	copy   int
	mask   uint32
	offset int64 // µs, start on the common timeline
	pos    int
}

func (s *stream) next() int64 { return s.offset + s.c.pkts[s.pos].ts }

func streamLess(a, b *stream) bool {
	ta, tb := a.next(), b.next()
	if ta != tb {
		return ta < tb
	}
	if a.ci != b.ci {
		return a.ci < b.ci
	}
	return a.copy < b.copy
}

// writeCorpus merges every copy of every capture in time order into out.
func writeCorpus(out string, caps []*capture, masks []uint32, rng *rand.Rand, info *CorpusInfo) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	pw, err := newPcapWriter(cw)
	if err != nil {
		f.Close()
		return err
	}
	heap := make([]*stream, 0, len(caps)*len(masks))
	for k, m := range masks {
		for ci, c := range caps {
			s := &stream{c: c, ci: ci, copy: k, mask: m, offset: corpusEpoch + rng.Int64N(maxCopyOffset)}
			heap = append(heap, s)
		}
	}
	for i := len(heap)/2 - 1; i >= 0; i-- {
		down(heap, i)
	}
	buf := make([]byte, 0, 65536)
	var n int64
	for len(heap) > 0 {
		s := heap[0]
		p := &s.c.pkts[s.pos]
		buf = append(buf[:0], s.c.arena[p.off:p.off+p.n]...)
		p.ip.rewrite(buf, s.mask)
		if err := pw.write(s.next(), p.wire, buf); err != nil {
			f.Close()
			return fmt.Errorf("write corpus: %w", err)
		}
		n++
		s.pos++
		if s.pos == len(s.c.pkts) {
			heap[0] = heap[len(heap)-1]
			heap = heap[:len(heap)-1]
		}
		if len(heap) > 0 {
			down(heap, 0)
		}
	}
	if err := pw.flush(); err != nil {
		f.Close()
		return fmt.Errorf("write corpus: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if n != info.Packets {
		return fmt.Errorf("BUG: wrote %d packets, planned %d", n, info.Packets)
	}
	info.SHA256 = hex.EncodeToString(h.Sum(nil))
	info.Bytes = cw.n
	return os.Rename(tmp, out)
}

func down(h []*stream, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && streamLess(h[r], h[l]) {
			m = r
		}
		if !streamLess(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
