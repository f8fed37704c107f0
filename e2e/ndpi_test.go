package e2e

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// minPacketAccuracy is the share of nDPI's flows that tapflow must report with
// the same packet count in each direction.
const minPacketAccuracy = 0.95

// mismatch is one nDPI flow tapflow did not reproduce, or one tapflow flow
// nDPI does not list.
type mismatch struct {
	category string // what kind of difference; the report groups by it
	capture  string
	tuple    string
	want     string // nDPI's view
	got      string // tapflow's view
}

// captureResult is the comparison of one capture.
type captureResult struct {
	name     string
	linkType int
	exitCode int
	stderr   string
	crash    string // why the replay counts as a crash, "" if it exited cleanly
	outErr   error  // the .out file did not parse

	expected, found, packetsEqual, bytesEqual, extra int

	want  []NDPIFlow // nDPI's flows
	l7    []l7Log    // tapflow's l7_flow_log rows
	l7Err error

	mismatches []mismatch  // flows that differ, and tapflow-only flows
	notes      []mismatch  // flows that are equal in sum but were split
	violations []violation // broken l4 output contract
}

// violation is one record, or one stdout, that breaks the l4 contract.
type violation struct {
	kind    string
	example string
}

// ndpiRun holds the one replay of the nDPI corpus that the NDPI tests share.
var ndpiRun struct {
	once    sync.Once
	err     error
	results []captureResult
	orphans []string // .out files whose capture is not in the corpus
}

// runNDPICorpus replays every capture of the nDPI corpus once per test
// binary, on runtime.NumCPU() workers.
func runNDPICorpus(t *testing.T) ([]captureResult, []string) {
	t.Helper()
	dir := requireCorpus(t, "ndpi")
	bin := requireBinary(t)
	ndpiRun.once.Do(func() {
		entries, err := os.ReadDir(dir)
		if err != nil {
			ndpiRun.err = err
			return
		}
		var captures []string
		have := map[string]bool{}
		for _, e := range entries {
			if e.Type().IsRegular() && e.Name() != "LICENSE" && !strings.HasSuffix(e.Name(), ".txt") {
				captures = append(captures, e.Name())
				have[e.Name()] = true
			}
		}
		outs, _ := filepath.Glob(filepath.Join(dir, "expected", "*.out"))
		for _, o := range outs {
			if name := strings.TrimSuffix(filepath.Base(o), ".out"); !have[name] {
				ndpiRun.orphans = append(ndpiRun.orphans, filepath.Base(o))
			}
		}
		ndpiRun.results = make([]captureResult, len(captures))
		forEach(len(captures), func(i int) {
			ndpiRun.results[i] = compareCapture(bin, dir, captures[i])
		})
	})
	require.NoError(t, ndpiRun.err)
	require.NotEmpty(t, ndpiRun.results, "no captures in %s", dir)
	return ndpiRun.results, ndpiRun.orphans
}

// TestNDPIFlowAccuracy replays every capture of the nDPI corpus and compares
// tapflow's flows with the ones ndpiReader lists in expected/<capture>.out.
//
// Flows are matched by the unordered 5-tuple and the VLAN id, as ndpiReader
// keys them: ports are 0 for everything but TCP and UDP, so all ICMP between
// two hosts is one flow. ndpiReader's source is the first packet's sender, so
// each direction is aligned by address and port before comparing, and
// several tapflow records with one key (per-minute reports of one flow, or a
// flow split by a timeout or a reused port) are summed, since ndpiReader
// keeps one flow per key for the whole capture.
//
// No capture is left out. nDPI lists only IP flows, so every expected flow is
// in scope; flows nDPI saw inside GTP, CAPWAP, VXLAN or GRE and captures
// whose link type is not Ethernet are reported as their own categories so
// that a decoder gap shows as one line, not as noise. The only flows not
// counted are those of .out files whose capture is absent from the corpus.
func TestNDPIFlowAccuracy(t *testing.T) {
	results, orphans := runNDPICorpus(t)

	var total captureResult
	withExpected := 0
	categories := map[string]int{}
	for _, r := range results {
		require.NoError(t, r.outErr, "parsing the .out of %s", r.name)
		if r.crash != "" {
			t.Errorf("%s: %s\n%s", r.name, r.crash, r.stderr)
		}
		if r.expected > 0 {
			withExpected++
		}
		total.expected += r.expected
		total.found += r.found
		total.packetsEqual += r.packetsEqual
		total.bytesEqual += r.bytesEqual
		total.extra += r.extra
		for _, m := range slices.Concat(r.mismatches, r.notes) {
			categories[m.category]++
		}
		if r.expected != r.packetsEqual || r.exitCode != 0 {
			t.Logf("%s", r.summary())
		}
	}
	require.NotZero(t, total.expected, "no flows parsed from the .out files")

	pct := func(n int) float64 { return 100 * float64(n) / float64(total.expected) }
	headline := fmt.Sprintf("ndpi flow accuracy: %d/%d flows (%.2f%%) equal packets; bytes equal %.2f%%; found %.2f%%; "+
		"%d captures (%d with nDPI flows); %d tapflow-only flows",
		total.packetsEqual, total.expected, pct(total.packetsEqual), pct(total.bytesEqual), pct(total.found),
		len(results), withExpected, total.extra)
	var orphanNote string
	if len(orphans) > 0 {
		orphanNote = fmt.Sprintf("not counted: %d .out files without their capture in the corpus: %s",
			len(orphans), strings.Join(orphans, ", "))
	}

	report := renderReport(headline, orphanNote, categories, results)
	reportPath := filepath.Join(os.TempDir(), "tapflow-e2e-ndpi-mismatches.txt")
	if *update {
		reportPath = filepath.Join("testdata", "ndpi-mismatches.txt")
		require.NoError(t, os.MkdirAll("testdata", 0o755))
	}
	require.NoError(t, os.WriteFile(reportPath, []byte(report), 0o644))

	fmt.Println(headline)
	if orphanNote != "" {
		fmt.Println(orphanNote)
	}
	fmt.Printf("ndpi mismatch categories (flows):\n%s", renderCategories(categories))
	fmt.Printf("ndpi per-capture report and every mismatching flow: %s\n", reportPath)
	t.Log(headline)
	if orphanNote != "" {
		t.Log(orphanNote)
	}
	t.Logf("mismatch report: %s", reportPath)

	got := float64(total.packetsEqual) / float64(total.expected)
	require.GreaterOrEqual(t, got, minPacketAccuracy,
		"only %.2f%% of nDPI's flows have equal packet counts, want ≥ %.0f%%; see %s",
		100*got, 100*minPacketAccuracy, reportPath)
}

// TestNDPIL4Contract checks every record tapflow printed for the nDPI corpus
// against the l4 contract: valid JSON lines with both addresses, at least one
// packet, no more packets than bytes, and end_time not before start_time.
func TestNDPIL4Contract(t *testing.T) {
	results, _ := runNDPICorpus(t)
	type kindStats struct {
		records  int
		captures map[string]bool
		examples []string
	}
	kinds := map[string]*kindStats{}
	records := 0
	for _, r := range results {
		for _, v := range r.violations {
			k := kinds[v.kind]
			if k == nil {
				k = &kindStats{captures: map[string]bool{}}
				kinds[v.kind] = k
			}
			k.records++
			k.captures[r.name] = true
			if len(k.examples) < 3 {
				k.examples = append(k.examples, r.name+": "+v.example)
			}
		}
		records += r.found + r.extra
	}
	for _, kind := range slices.Sorted(maps.Keys(kinds)) {
		k := kinds[kind]
		t.Errorf("%s: %d records in %d captures, e.g.\n\t%s",
			kind, k.records, len(k.captures), strings.Join(k.examples, "\n\t"))
	}
}

// compareCapture replays one capture and compares it with its .out file, if
// it has one. A capture without one is still replayed to catch crashes.
func compareCapture(bin, dir, name string) captureResult {
	path := filepath.Join(dir, name)
	r := captureResult{name: name, linkType: linkType(path)}

	var want []NDPIFlow
	outPath := filepath.Join(dir, "expected", name+".out")
	if fh, err := os.Open(outPath); err == nil {
		want, r.outErr = ParseNDPIOut(fh)
		fh.Close()
	}

	res := replay(bin, path)
	r.exitCode, r.crash = res.ExitCode, res.crashed()
	if lines := res.stderrLines(); len(lines) > 0 {
		r.stderr = lines[0]
	}
	l4out, l7out := splitL7(res.Stdout)
	r.want = want
	r.l7, r.l7Err = parseL7(l7out)
	got, err := parseL4(l4out)
	if err != nil {
		r.violations = append(r.violations, violation{"stdout is not l4 JSON lines", err.Error()})
	}
	for _, f := range got {
		for _, v := range f.check() {
			r.violations = append(r.violations, violation{v, f.String()})
		}
	}

	wantByKey, order := mergeNDPI(want)
	gotByKey := map[flowKey][]l4Flow{}
	vlansByKey := map[flowKey][]uint16{} // key without VLAN -> tapflow VLANs
	for _, f := range got {
		k := f.key()
		gotByKey[k] = append(gotByKey[k], f)
		k.vlan = 0
		vlansByKey[k] = append(vlansByKey[k], f.VLAN)
	}

	for _, k := range order {
		e := wantByKey[k]
		r.expected++
		if e.SrcAlts != nil || e.DstAlts != nil {
			k, e = resolveAmbiguous(k, e, gotByKey)
		}
		recs := gotByKey[k]
		if len(recs) == 0 {
			r.mismatches = append(r.mismatches, mismatch{
				category: r.missingCategory(e, k, vlansByKey, len(got)),
				capture:  name, tuple: k.String(), want: ndpiString(e), got: "none",
			})
			continue
		}
		r.found++
		gotFlow := align(e, recs)
		wantFlow := counts{e.PacketsSrcToDst, e.PacketsDstToSrc, e.BytesSrcToDst, e.BytesDstToSrc}
		if gotFlow.packets() != wantFlow.packets() && e.Src.Addr() == e.Dst.Addr() {
			// A host talking to itself: no address tells the directions
			// apart, so either orientation is right.
			gotFlow = gotFlow.swapped()
		}
		m := mismatch{capture: name, tuple: k.String(), want: ndpiString(e), got: gotString(gotFlow, recs)}
		if gotFlow.packets() != wantFlow.packets() {
			m.category = packetsCategory(e, wantFlow, gotFlow, len(recs))
			r.mismatches = append(r.mismatches, m)
			continue
		}
		r.packetsEqual++
		if len(recs) > 1 {
			m.category = splitCategory(recs)
			r.notes = append(r.notes, m)
		}
		if gotFlow.bytes() == wantFlow.bytes() {
			r.bytesEqual++
			continue
		}
		m.category = bytesCategory(wantFlow, gotFlow)
		r.mismatches = append(r.mismatches, m)
	}

	if len(want) > 0 {
		for k, recs := range gotByKey {
			if _, ok := wantByKey[k]; ok {
				continue
			}
			for _, f := range recs {
				if f.PacketsTx+f.PacketsRx == 0 {
					continue // a contract violation, reported by TestNDPIL4Contract
				}
				r.extra++
				r.mismatches = append(r.mismatches, mismatch{
					category: extraCategory(f), capture: name, tuple: k.String(), want: "none", got: f.String(),
				})
			}
		}
	}
	slices.SortStableFunc(r.mismatches, func(a, b mismatch) int {
		return cmp.Or(cmp.Compare(a.category, b.category), cmp.Compare(a.tuple, b.tuple))
	})
	return r
}

// mergeNDPI indexes nDPI's flows by key. The corpus lists no key twice
// (TestParseNDPIOutCorpus), but should a future .out do so, for instance a
// flow in both the detected and the undetected list, the counts are added,
// aligned to the first one's direction, rather than counted twice.
func mergeNDPI(flows []NDPIFlow) (map[flowKey]NDPIFlow, []flowKey) {
	byKey := make(map[flowKey]NDPIFlow, len(flows))
	var order []flowKey
	for _, f := range flows {
		k := ndpiKey(f)
		prev, dup := byKey[k]
		if !dup {
			byKey[k] = f
			order = append(order, k)
			continue
		}
		class := k.class
		if endpoint(class, f.Src) == endpoint(class, prev.Src) {
			prev.PacketsSrcToDst += f.PacketsSrcToDst
			prev.PacketsDstToSrc += f.PacketsDstToSrc
			prev.BytesSrcToDst += f.BytesSrcToDst
			prev.BytesDstToSrc += f.BytesDstToSrc
		} else {
			prev.PacketsSrcToDst += f.PacketsDstToSrc
			prev.PacketsDstToSrc += f.PacketsSrcToDst
			prev.BytesSrcToDst += f.BytesDstToSrc
			prev.BytesDstToSrc += f.BytesSrcToDst
		}
		prev.Proto += "+" + f.Proto
		byKey[k] = prev
	}
	return byKey, order
}

// resolveAmbiguous picks the reading of an address ndpiReader printed with
// several "::" that tapflow has a flow for, or keeps the first reading.
func resolveAmbiguous(k flowKey, e NDPIFlow, gotByKey map[flowKey][]l4Flow) (flowKey, NDPIFlow) {
	srcs, dsts := e.SrcAlts, e.DstAlts
	if srcs == nil {
		srcs = []netip.Addr{e.Src.Addr()}
	}
	if dsts == nil {
		dsts = []netip.Addr{e.Dst.Addr()}
	}
	for _, s := range srcs {
		for _, d := range dsts {
			src, dst := netip.AddrPortFrom(s, e.Src.Port()), netip.AddrPortFrom(d, e.Dst.Port())
			cand := makeKey(k.class, src, dst, k.vlan)
			if _, ok := gotByKey[cand]; ok {
				e.Src, e.Dst = src, dst
				return cand, e
			}
		}
	}
	return k, e
}

// counts are per-direction totals in nDPI's orientation (s2d is from nDPI's
// source to its destination).
type counts struct {
	pktS2D, pktD2S, byteS2D, byteD2S uint64
}

func (c counts) packets() [2]uint64 { return [2]uint64{c.pktS2D, c.pktD2S} }
func (c counts) bytes() [2]uint64   { return [2]uint64{c.byteS2D, c.byteD2S} }
func (c counts) swapped() counts    { return counts{c.pktD2S, c.pktS2D, c.byteD2S, c.byteS2D} }

// align sums tapflow records into nDPI's orientation: tx counts toward nDPI's
// source→destination when tapflow's client is nDPI's source.
func align(e NDPIFlow, recs []l4Flow) counts {
	var c counts
	for _, f := range recs {
		class := f.class()
		client := endpoint(class, netip.AddrPortFrom(f.ClientIP, f.ClientPort))
		if client == endpoint(class, e.Src) {
			c.pktS2D += f.PacketsTx
			c.pktD2S += f.PacketsRx
			c.byteS2D += f.BytesTx
			c.byteD2S += f.BytesRx
		} else {
			c.pktS2D += f.PacketsRx
			c.pktD2S += f.PacketsTx
			c.byteS2D += f.BytesRx
			c.byteD2S += f.BytesTx
		}
	}
	return c
}

// missingCategory says why nDPI's flow has no tapflow record with its key.
func (r *captureResult) missingCategory(e NDPIFlow, k flowKey, vlansByKey map[flowKey][]uint16, gotFlows int) string {
	if gotFlows == 0 {
		lt := linkTypeName(r.linkType)
		if r.exitCode != 0 {
			return fmt.Sprintf("missing: capture not replayed (exit %d, link type %s)", r.exitCode, lt)
		}
		return fmt.Sprintf("missing: tapflow printed no flows for the capture (link type %s)", lt)
	}
	if e.Tunnel != "" {
		return "missing: nDPI saw it inside a " + e.Tunnel + " tunnel"
	}
	nk := k
	nk.vlan = 0
	if vlans, ok := vlansByKey[nk]; ok {
		return fmt.Sprintf("missing: same tuple on another vlan (nDPI %d, tapflow %v)", k.vlan, vlans)
	}
	if r.linkType != 1 {
		return "missing: link type " + linkTypeName(r.linkType)
	}
	if !hasPorts(k.class) && k.class != "icmp" && k.class != "icmpv6" {
		return "missing: IP protocol " + e.Proto
	}
	return "missing: no tapflow flow with this tuple"
}

// splitCategory tells per-interval reports of one flow (one flow_id) from
// separate flows on one tuple. Separate flows one after the other come from
// a timeout or a port reused after FIN; separate flows that overlap in time
// should not exist, since one tuple is one flow at a time.
func splitCategory(recs []l4Flow) string {
	type span struct{ start, end time.Time }
	spans := map[uint64]span{}
	for _, f := range recs {
		if f.FlowID == nil {
			return "info: equal in sum over several tapflow records"
		}
		sp, ok := spans[*f.FlowID]
		if !ok || f.StartTime.Before(sp.start) {
			sp.start = f.StartTime
		}
		if f.EndTime.After(sp.end) {
			sp.end = f.EndTime
		}
		spans[*f.FlowID] = sp
	}
	if len(spans) == 1 {
		return "info: equal in sum over several reports of one flow_id"
	}
	sorted := slices.SortedFunc(maps.Values(spans), func(a, b span) int { return a.start.Compare(b.start) })
	for i := 1; i < len(sorted); i++ {
		if sorted[i].start.Before(sorted[i-1].end) {
			return "split: equal in sum, but over flow_ids that overlap in time (one flow per direction?)"
		}
	}
	return "info: equal in sum over flow_ids one after another (timeout or port reuse)"
}

func packetsCategory(e NDPIFlow, want, got counts, records int) string {
	var what string
	wantSum, gotSum := want.pktS2D+want.pktD2S, got.pktS2D+got.pktD2S
	switch {
	case got.packets() == want.swapped().packets():
		what = "directions swapped"
	case gotSum == wantSum:
		what = "same total, split differently between directions"
	case gotSum < wantSum:
		what = "tapflow has fewer"
	default:
		what = "tapflow has more"
	}
	if records > 1 {
		what += ", over several tapflow records"
	}
	if e.Tunnel != "" {
		what += ", nDPI saw it inside " + e.Tunnel
	}
	return "packets differ: " + what
}

func bytesCategory(want, got counts) string {
	pk := want.pktS2D + want.pktD2S
	diff := int64(got.byteS2D+got.byteD2S) - int64(want.byteS2D+want.byteD2S)
	if pk > 0 && diff%int64(pk) == 0 {
		return fmt.Sprintf("bytes differ: by %+d per packet", diff/int64(pk))
	}
	if diff < 0 {
		return "bytes differ: tapflow has fewer (not a per-packet constant)"
	}
	return "bytes differ: tapflow has more (not a per-packet constant)"
}

// extraCategory guesses what a tapflow flow that nDPI does not list is.
func extraCategory(f l4Flow) string {
	class := f.class()
	if hasPorts(class) && f.ClientPort == 0 && f.ServerPort == 0 {
		return "tapflow only: " + class + " with both ports 0 (non-first IP fragments?)"
	}
	if class == "udp" {
		for _, p := range []uint16{f.ServerPort, f.ClientPort} {
			switch p {
			case 4789:
				return "tapflow only: VXLAN outer flow (udp/4789)"
			case 2152:
				return "tapflow only: GTP-U outer flow (udp/2152)"
			case 5246, 5247:
				return "tapflow only: CAPWAP outer flow (udp/5246-5247)"
			case 37008:
				return "tapflow only: TZSP outer flow (udp/37008)"
			}
		}
	}
	switch class {
	case "gre":
		return "tapflow only: GRE outer flow"
	case "ip/4", "ip/41":
		return "tapflow only: IP-in-IP outer flow (" + class + ")"
	}
	return "tapflow only: " + class + " flow nDPI does not list"
}

func ndpiString(e NDPIFlow) string {
	s := fmt.Sprintf("%s %s -> %s [%d pkts/%d bytes <-> %d pkts/%d bytes] (.out line %d)",
		e.Proto, e.Src, e.Dst, e.PacketsSrcToDst, e.BytesSrcToDst, e.PacketsDstToSrc, e.BytesDstToSrc, e.Line)
	if e.Tunnel != "" {
		s += " in " + e.Tunnel
	}
	return s
}

func gotString(c counts, recs []l4Flow) string {
	s := fmt.Sprintf("[%d pkts/%d bytes <-> %d pkts/%d bytes] in nDPI's direction", c.pktS2D, c.byteS2D, c.pktD2S, c.byteD2S)
	if len(recs) > 1 {
		s += fmt.Sprintf(", from %d records", len(recs))
	}
	if len(recs) == 1 {
		s += "; tapflow client " + netip.AddrPortFrom(recs[0].ClientIP, recs[0].ClientPort).String()
	}
	return s
}

func (r captureResult) summary() string {
	s := fmt.Sprintf("%-52s link %-10s expected %5d found %5d pkts-equal %5d bytes-equal %5d tapflow-only %4d",
		r.name, linkTypeName(r.linkType), r.expected, r.found, r.packetsEqual, r.bytesEqual, r.extra)
	if r.exitCode != 0 {
		s += fmt.Sprintf(" exit %d: %s", r.exitCode, r.stderr)
	}
	return s
}

func renderCategories(categories map[string]int) string {
	var b strings.Builder
	keys := slices.SortedFunc(maps.Keys(categories), func(a, b string) int {
		return cmp.Or(cmp.Compare(categories[b], categories[a]), cmp.Compare(a, b))
	})
	for _, k := range keys {
		fmt.Fprintf(&b, "  %6d  %s\n", categories[k], k)
	}
	return b.String()
}

func renderReport(headline, orphanNote string, categories map[string]int, results []captureResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", headline)
	if orphanNote != "" {
		fmt.Fprintf(&b, "%s\n", orphanNote)
	}
	fmt.Fprintln(&b)
	fmt.Fprintf(&b, "Categories (nDPI flows, plus tapflow-only flows):\n%s\n", renderCategories(categories))
	fmt.Fprintf(&b, "Per capture:\n")
	for _, r := range results {
		fmt.Fprintf(&b, "  %s\n", r.summary())
	}
	fmt.Fprintf(&b, "\nFlows (category | capture | tuple | nDPI | tapflow):\n")
	for _, r := range results {
		for _, m := range slices.Concat(r.mismatches, r.notes) {
			fmt.Fprintf(&b, "%s | %s | %s | %s | %s\n", m.category, m.capture, m.tuple, m.want, m.got)
		}
	}
	return b.String()
}
