package dataplane_test

import (
	"cmp"
	"context"
	"fmt"
	"github.com/tapflow/tapflow/internal/testserver"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dataplane"
	"github.com/tapflow/tapflow/dataplane/internal/testframes"
	"github.com/tapflow/tapflow/flowtable"
	"github.com/tapflow/tapflow/tap"
)

// requireCorpus returns a shared capture directory (see testserver.Pcaps).
func requireCorpus(tb testing.TB, name string) string {
	tb.Helper()
	return testserver.Pcaps(tb, name)
}

// collectSink keeps every record; safe for concurrent use.
type collectSink struct {
	mu   sync.Mutex
	recs []flowtable.FlowRecord
}

func (s *collectSink) WriteFlows(recs []flowtable.FlowRecord) {
	s.mu.Lock()
	s.recs = append(s.recs, recs...)
	s.mu.Unlock()
}

func runPcap(t testing.TB, path string, cfg dataplane.Config) (dataplane.Stats, []flowtable.FlowRecord, error) {
	t.Helper()
	src, err := dataplane.OpenPcap(path)
	if err != nil {
		return dataplane.Stats{}, nil, err
	}
	defer src.Close()
	sink := &collectSink{}
	p, err := dataplane.New(cfg, sink, nil)
	require.NoError(t, err)
	runErr := p.Run(context.Background(), src)
	return p.Stats(), sink.recs, runErr
}

// TestDedupMirroredCopies replays a capture in which every packet of a TCP
// conversation arrives four times — mirrored plainly, in VXLAN, in GRE and
// in ERSPAN II, each copy a hop further (lower TTL) and up to 3ms later —
// and checks that each packet counts once.
func TestDedupMirroredCopies(t *testing.T) {
	cli, srv := netip.MustParseAddr("10.1.1.1"), netip.MustParseAddr("10.2.2.2")
	var conv []testframes.Packet
	conv = append(conv,
		testframes.Packet{Src: cli, Dst: srv, SrcPort: 43210, DstPort: 80, ID: 1, Seq: 100, Flags: 0x02},
		testframes.Packet{Src: srv, Dst: cli, SrcPort: 80, DstPort: 43210, ID: 9000, Seq: 700, Ack: 101, Flags: 0x12},
		testframes.Packet{Src: cli, Dst: srv, SrcPort: 43210, DstPort: 80, ID: 2, Seq: 101, Ack: 701, Flags: 0x10})
	for i := range 20 {
		conv = append(conv,
			testframes.Packet{Src: cli, Dst: srv, SrcPort: 43210, DstPort: 80, ID: uint16(3 + i), Seq: 101 + uint32(i)*10, Ack: 701, Flags: 0x18,
				Payload: fmt.Appendf(nil, "req %06d", i)},
			testframes.Packet{Src: srv, Dst: cli, SrcPort: 80, DstPort: 43210, ID: uint16(9001 + i), Seq: 701, Ack: 111 + uint32(i)*10, Flags: 0x10})
	}
	// A packet sent twice by the host 50ms apart (e.g. a retransmission
	// without a new IP id) is two packets, not a mirror copy.
	again := testframes.Packet{Src: cli, Dst: srv, SrcPort: 5353, DstPort: 53, UDP: true, ID: 77, Payload: []byte("query")}

	encaps := []testframes.Encap{testframes.Plain, testframes.VXLAN, testframes.GRE, testframes.ERSPAN2}
	t0 := time.Unix(1_700_000_000, 0)
	var recs []testframes.Record
	for i, p := range conv {
		at := t0.Add(time.Duration(i) * 5 * time.Millisecond)
		for j, e := range encaps {
			q := p
			q.TTL = uint8(64 - 2*j)
			recs = append(recs, testframes.Record{Time: at.Add(time.Duration(j) * time.Millisecond), Data: q.Frame(e)})
		}
	}
	end := t0.Add(time.Second)
	recs = append(recs, testframes.Record{Time: end, Data: again.Frame(testframes.Plain)},
		testframes.Record{Time: end.Add(50 * time.Millisecond), Data: again.Frame(testframes.VXLAN)})
	path := filepath.Join(t.TempDir(), "mirrored-copies.pcap")
	require.NoError(t, testframes.WritePcap(path, recs))

	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			cfg := dataplane.DefaultConfig()
			cfg.Workers = workers
			cfg.RecoverPanics = false
			s, flows, err := runPcap(t, path, cfg)
			require.NoError(t, err)
			n := uint64(len(conv))
			require.Equal(t, uint64(len(recs)), s.Received)
			require.Equal(t, uint64(len(recs)), s.Decoded)
			require.Equal(t, 3*n, s.DedupDropped, "dedup dropped")
			require.Equal(t, n+2, s.Flows.Packets, "packets counted once")
			var tcp []flowtable.FlowRecord
			for _, f := range flows {
				if f.Proto == tap.ProtoTCP {
					tcp = append(tcp, f)
				}
			}
			require.Len(t, tcp, 1, "one TCP flow: the first copies were plain")
			require.Equal(t, uint64(n), tcp[0].PacketsTx+tcp[0].PacketsRx)

			cfg.Dedup.Enabled = false
			s, _, err = runPcap(t, path, cfg)
			require.NoError(t, err)
			require.Zero(t, s.DedupDropped)
			require.Equal(t, uint64(len(recs)), s.Flows.Packets, "with dedup off every copy counts")
		})
	}
}

// TestReplayCorpora replays every capture of the tcpdump and nDPI corpora
// through the pipeline with panic recovery off, so a panic fails the test,
// and reports frames decoded and dropped by reason.
func TestReplayCorpora(t *testing.T) {
	for _, corpus := range []string{"tcpdump", "ndpi"} {
		t.Run(corpus, func(t *testing.T) {
			dir := requireCorpus(t, corpus)
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			var total dataplane.Stats
			var files, notCapture, cut int
			for _, e := range entries {
				if !e.Type().IsRegular() || e.Name() == "LICENSE" || e.Name() == "TESTLIST" || strings.HasSuffix(e.Name(), ".txt") {
					continue
				}
				files++
				cfg := dataplane.DefaultConfig()
				cfg.Workers = 1 + files%2 // alternate the inline and the sharded path
				cfg.RecoverPanics = false
				cfg.Flow.Capacity = 1 << 14
				s, _, err := runPcap(t, filepath.Join(dir, e.Name()), cfg)
				switch {
				case err == nil:
				case strings.Contains(err.Error(), dataplane.ErrNotCapture.Error()):
					notCapture++
					continue
				default:
					cut++ // analyzed up to the cut, like replay does
				}
				require.Zero(t, s.Panics, e.Name())
				var dropped uint64
				for _, d := range s.Dropped {
					dropped += d
				}
				require.Equal(t, s.Received, s.Decoded+dropped, "%s: every frame is decoded or dropped by reason", e.Name())
				total.Received += s.Received
				total.Decoded += s.Decoded
				total.DedupDropped += s.DedupDropped
				total.Flows.Packets += s.Flows.Packets
				for i := range s.Dropped {
					total.Dropped[i] += s.Dropped[i]
				}
			}
			var b strings.Builder
			fmt.Fprintf(&b, "%s: %d files (%d not a capture, %d cut short): received %d, decoded %d (dedup dropped %d, into flows %d)",
				corpus, files, notCapture, cut, total.Received, total.Decoded, total.DedupDropped, total.Flows.Packets)
			for i, n := range total.Dropped {
				if n > 0 {
					fmt.Fprintf(&b, ", dropped %s %d", tap.ReasonNames[i], n)
				}
			}
			t.Log(b.String())
			require.Positive(t, total.Decoded)
		})
	}
}

// flowLine is a flow record without what legitimately differs between
// worker counts (the flow id carries the worker number).
func flowLine(f flowtable.FlowRecord) string {
	f.FlowID = 0
	return string(f.AppendJSON(nil))
}

// TestWorkersSameFlows checks that sharding over N workers reports exactly
// the flows one worker reports.
func TestWorkersSameFlows(t *testing.T) {
	dir := requireCorpus(t, "ndpi")
	captures := []string{"1kxun.pcap", "opera-vpn.pcapng", "alexa-app.pcapng", "netflix.pcap", "gnutella.pcap", "rtsp.pcap", "4in6tunnel.pcap", "vxlan.pcap"}
	for _, name := range captures {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err != nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			var want []string
			for _, workers := range []int{1, 2, 3, 8} {
				cfg := dataplane.DefaultConfig()
				cfg.Workers = workers
				cfg.RecoverPanics = false
				cfg.Flow.Capacity = 1 << 16
				s, recs, err := runPcap(t, path, cfg)
				require.NoError(t, err)
				got := make([]string, len(recs))
				for i, r := range recs {
					got[i] = flowLine(r)
				}
				slices.SortFunc(got, cmp.Compare)
				if workers == 1 {
					want = got
					require.NotEmpty(t, want)
					t.Logf("%s: %d packets, %d flow records", name, s.Received, len(recs))
					continue
				}
				require.Equal(t, want, got, "workers=%d", workers)
			}
		})
	}
}
