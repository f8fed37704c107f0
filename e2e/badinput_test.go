package e2e

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// requireClean fails the test if the replay crashed, and logs what it did.
func requireClean(t *testing.T, name string, r replayResult) {
	t.Helper()
	require.Empty(t, r.crashed(), "%s: replay crashed; stderr:\n%s", name, r.stderrHead())
	t.Logf("%-40s exit %d, %d flows, stderr %q", name, r.ExitCode, countLines(r.Stdout), firstLine(r.Stderr))
}

func countLines(b []byte) int {
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(l) != "" {
			n++
		}
	}
	return n
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return s
}

// pcapOffsets returns interesting cut points of a classic pcap file: inside
// the global header, inside and after the first record header, inside the
// first packet, inside the second record header, and one byte short.
func pcapOffsets(t *testing.T, data []byte) map[string]int {
	t.Helper()
	require.Greater(t, len(data), 24+16, "pcap too short")
	order := binary.ByteOrder(binary.LittleEndian)
	if binary.LittleEndian.Uint32(data) != 0xa1b2c3d4 {
		order = binary.BigEndian
	}
	cap1 := int(order.Uint32(data[24+8:]))
	rec2 := 24 + 16 + cap1
	require.Greater(t, len(data), rec2+16, "pcap needs two packets")
	return map[string]int{
		"1 byte":                     1,
		"magic only":                 4,
		"mid global header":          13,
		"global header less 1":       23,
		"global header only":         24,
		"mid first record header":    24 + 7,
		"first record header only":   24 + 16,
		"mid first packet":           24 + 16 + cap1/2 + 1,
		"first packet only":          rec2,
		"mid second record header":   rec2 + 5,
		"mid second packet":          rec2 + 16 + 3,
		"odd offset two thirds":      len(data)*2/3 + 1,
		"one byte short":             len(data) - 1,
		"odd offset in the last 100": len(data) - 97,
	}
}

// pcapngOffsets returns cut points inside the section header block, the
// interface description block and the first two blocks after them.
func pcapngOffsets(t *testing.T, data []byte) map[string]int {
	t.Helper()
	require.Greater(t, len(data), 28, "pcapng too short")
	order := binary.ByteOrder(binary.LittleEndian)
	if binary.LittleEndian.Uint32(data[8:]) != 0x1a2b3c4d {
		order = binary.BigEndian
	}
	var blocks []int // start offsets
	for off := 0; off+12 <= len(data) && len(blocks) < 4; {
		blocks = append(blocks, off)
		size := int(order.Uint32(data[off+4:]))
		require.GreaterOrEqual(t, size, 12, "bad block length at %d", off)
		off += size
	}
	require.Len(t, blocks, 4, "pcapng needs four blocks")
	return map[string]int{
		"1 byte":                 1,
		"mid section header":     11,
		"section header less 3":  blocks[1] - 3,
		"mid interface block":    blocks[1] + 9,
		"interface block only":   blocks[2],
		"mid first packet block": blocks[2] + 13,
		"mid second block":       blocks[3] + (blocks[3]-blocks[2])/2 + 1,
		"one byte short":         len(data) - 1,
		"odd offset two thirds":  len(data)*2/3 + 1,
	}
}

// TestBadInputTruncated cuts real captures at awkward offsets. The replay may
// print what it read and succeed, or fail with exit 1, but must not crash.
func TestBadInputTruncated(t *testing.T) {
	dir := requireCorpus(t, "ndpi")
	bin := requireBinary(t)
	tmp := t.TempDir()

	for _, src := range []struct {
		file    string
		offsets func(*testing.T, []byte) map[string]int
	}{
		{"443-curl.pcap", pcapOffsets},
		{"http.pcapng", pcapngOffsets},
	} {
		t.Run(src.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, src.file))
			require.NoError(t, err)
			offsets := src.offsets(t, data)
			for _, name := range slices.Sorted(maps.Keys(offsets)) {
				off := offsets[name]
				require.Less(t, off, len(data), name)
				path := filepath.Join(tmp, fmt.Sprintf("%s-cut-%d", src.file, off))
				require.NoError(t, os.WriteFile(path, data[:off], 0o644))
				requireClean(t, fmt.Sprintf("%s at %d (%s)", src.file, off, name), replay(bin, path))
			}
		})
	}
}

// TestBadInputGarbage replays files that are not captures, or are captures
// with lying headers. None may crash or hang.
func TestBadInputGarbage(t *testing.T) {
	bin := requireBinary(t)
	tmp := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	le := binary.LittleEndian
	pcapHeader := func(snaplen uint32) []byte {
		h := le.AppendUint32(nil, 0xa1b2c3d4)
		h = le.AppendUint16(h, 2)
		h = le.AppendUint16(h, 4)
		h = le.AppendUint32(h, 0)
		h = le.AppendUint32(h, 0)
		h = le.AppendUint32(h, snaplen)
		return le.AppendUint32(h, 1) // Ethernet
	}
	record := func(caplen, origlen uint32, payload []byte) []byte {
		r := le.AppendUint32(nil, 1700000000)
		r = le.AppendUint32(r, 0)
		r = le.AppendUint32(r, caplen)
		r = le.AppendUint32(r, origlen)
		return append(r, payload...)
	}
	shb := func(blockLen uint32) []byte {
		b := le.AppendUint32(nil, 0x0a0d0d0a)
		b = le.AppendUint32(b, blockLen)
		b = le.AppendUint32(b, 0x1a2b3c4d)
		b = le.AppendUint16(b, 1)
		b = le.AppendUint16(b, 0)
		b = le.AppendUint64(b, ^uint64(0))
		return le.AppendUint32(b, blockLen)
	}

	files := map[string][]byte{
		"empty":                          {},
		"random 4 KiB":                   random(4096),
		"random 1 MiB":                   random(1 << 20),
		"text":                           []byte("this is not a capture\nbut a text file\n"),
		"pcap magic then random":         append(le.AppendUint32(nil, 0xa1b2c3d4), random(4096)...),
		"pcapng magic then random":       append(le.AppendUint32(nil, 0x0a0d0d0a), random(4096)...),
		"pcap header, no packets":        pcapHeader(65535),
		"pcap caplen 4 GiB":              append(pcapHeader(65535), record(0xfffffff0, 0xfffffff0, random(64))...),
		"pcap caplen above snaplen":      append(pcapHeader(64), record(1000, 1000, random(1000))...),
		"pcap caplen above origlen":      append(pcapHeader(65535), record(100, 60, random(100))...),
		"pcap snaplen 0":                 append(pcapHeader(0), record(60, 60, random(60))...),
		"pcap zero-length packets":       slices.Concat(pcapHeader(65535), record(0, 0, nil), record(0, 0, nil)),
		"pcap random ethernet frames":    slices.Concat(pcapHeader(65535), record(60, 60, random(60)), record(1514, 1514, random(1514))),
		"pcapng block length 0":          slices.Concat(shb(28), le.AppendUint32(le.AppendUint32(nil, 6), 0), make([]byte, 16)),
		"pcapng block length 4 GiB":      shb(0xfffffffc),
		"pcapng section only":            shb(28),
		"pcapng section then random":     append(shb(28), random(4096)...),
		"pcapng packet before interface": slices.Concat(shb(28), le.AppendUint32(le.AppendUint32(nil, 6), 32), make([]byte, 20), le.AppendUint32(nil, 32)),
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		path := filepath.Join(tmp, strings.ReplaceAll(name, " ", "_"))
		require.NoError(t, os.WriteFile(path, files[name], 0o644))
		requireClean(t, name, replay(bin, path))
	}
}

// TestBadInputUnreadable: a file that cannot be read gives exactly one line
// on stderr and exit code 1. Tests run as root here, so a mode 000 file is
// readable; a directory and a missing path stand in for it.
func TestBadInputUnreadable(t *testing.T) {
	bin := requireBinary(t)
	tmp := t.TempDir()
	paths := map[string]string{
		"nonexistent path": filepath.Join(tmp, "no-such-file.pcap"),
		"directory":        tmp,
	}
	if os.Geteuid() != 0 {
		p := filepath.Join(tmp, "mode000.pcap")
		require.NoError(t, os.WriteFile(p, []byte("x"), 0o000))
		paths["mode 000 file"] = p
	}
	for _, name := range slices.Sorted(maps.Keys(paths)) {
		t.Run(name, func(t *testing.T) {
			r := replay(bin, paths[name])
			require.Empty(t, r.crashed(), "stderr:\n%s", r.stderrHead())
			require.Equal(t, 1, r.ExitCode, "stderr:\n%s", r.stderrHead())
			require.Len(t, r.stderrLines(), 1, "want exactly one line on stderr, got:\n%s", r.Stderr)
			require.Zero(t, countLines(r.Stdout), "stdout: %s", r.Stdout)
			t.Logf("stderr: %s", firstLine(r.Stderr))
		})
	}
}

// TestBadInputTCPDumpCorpus replays every file under the tcpdump corpus:
// its captures (many of them deliberately malformed, for tcpdump's printers)
// and also its expected/*.out text files and TESTLIST, which are non-pcap
// input for free. None may crash; a successful replay must print valid l4
// lines.
func TestBadInputTCPDumpCorpus(t *testing.T) {
	dir := requireCorpus(t, "tcpdump")
	bin := requireBinary(t)

	var files []string
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, path)
		}
		return nil
	}))
	require.NotEmpty(t, files)

	type outcome struct {
		exitCode int
		crash    string
		stderr   string
		flows    int
		badJSON  error
	}
	outcomes := make([]outcome, len(files))
	forEach(len(files), func(i int) {
		r := replay(bin, files[i])
		o := outcome{exitCode: r.ExitCode, crash: r.crashed(), stderr: r.stderrHead()}
		l4out, l7out := splitL7(r.Stdout)
		flows, err := parseL4(l4out)
		if _, l7err := parseL7(l7out); err == nil {
			err = l7err
		}
		o.flows, o.badJSON = len(flows), err
		outcomes[i] = o
	})

	var captures, others, ok, failed, flows int
	errorsByMsg := map[string]int{}
	for i, o := range outcomes {
		rel, _ := filepath.Rel(dir, files[i])
		if isCaptureName(rel) {
			captures++
		} else {
			others++
		}
		if o.crash != "" {
			t.Errorf("%s: %s\n%s", rel, o.crash, o.stderr)
			continue
		}
		if o.badJSON != nil {
			t.Errorf("%s: exit %d but stdout is not l4 JSON lines: %v", rel, o.exitCode, o.badJSON)
		}
		flows += o.flows
		if o.exitCode == 0 {
			ok++
			continue
		}
		failed++
		msg, _, _ := strings.Cut(o.stderr, "\n")
		errorsByMsg[normalizeError(msg, files[i])]++
	}

	summary := fmt.Sprintf("tcpdump corpus: replayed %d files (%d captures, %d other files): %d exit 0, %d exit 1 with an error, %d flows printed",
		len(files), captures, others, ok, failed, flows)
	fmt.Println(summary)
	t.Log(summary)
	msgs := slices.SortedFunc(maps.Keys(errorsByMsg), func(a, b string) int {
		return cmp.Or(cmp.Compare(errorsByMsg[b], errorsByMsg[a]), cmp.Compare(a, b))
	})
	for _, m := range msgs {
		t.Logf("  %5d × %s", errorsByMsg[m], m)
	}
}

func isCaptureName(rel string) bool {
	ext := filepath.Ext(rel)
	return !strings.Contains(rel, string(filepath.Separator)) && (ext == ".pcap" || ext == ".pcapng" || ext == ".cap")
}

// normalizeError replaces the file's path in an error message so equal
// errors group together.
func normalizeError(msg, path string) string {
	msg = strings.ReplaceAll(msg, path, "FILE")
	msg = strings.ReplaceAll(msg, filepath.Base(path), "FILE")
	if len(msg) > 160 {
		msg = msg[:160] + "…"
	}
	return msg
}
