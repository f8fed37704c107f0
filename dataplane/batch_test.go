package dataplane_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dataplane"
	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/flowtable"
)

// l7Sink keeps flow records and l7_flow_log rows as JSON lines.
type l7Sink struct {
	mu    sync.Mutex
	flows []string
	logs  []string
}

func (s *l7Sink) WriteFlows(recs []flowtable.FlowRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range recs {
		s.flows = append(s.flows, flowLine(recs[i]))
	}
}

func (s *l7Sink) WriteL7(logs []dissectors.Log) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range logs {
		l := logs[i]
		l.FlowID = 0
		s.logs = append(s.logs, string(l.AppendJSON(nil)))
	}
}

// runL7 runs src through one worker with every dissector, then closes it.
func runL7(t *testing.T, src dataplane.Source) *l7Sink {
	t.Helper()
	defer src.Close()
	sink := &l7Sink{}
	cfg := dataplane.DefaultConfig()
	cfg.Workers, cfg.RecoverPanics = 1, false
	cfg.Flow.Capacity = 1 << 14
	p, err := dataplane.New(cfg, sink, nil)
	require.NoError(t, err)
	require.NoError(t, p.Run(context.Background(), src))
	return sink
}

// reusingSource hands out each frame in one buffer that the next read
// overwrites, as a capture ring does, and does not offer FramesKept.
type reusingSource struct {
	src *dataplane.PcapFile
	buf []byte
}

func (r *reusingSource) ReadFrame() ([]byte, dataplane.FrameInfo, error) {
	data, ci, err := r.src.ReadFrame()
	if err != nil {
		return nil, ci, err
	}
	clear(r.buf[:cap(r.buf)]) // what the previous frame said is gone
	r.buf = append(r.buf[:0], data...)
	return r.buf, ci, nil
}

func (r *reusingSource) Close() error { return r.src.Close() }

// TestReadBatchOutlivesFrames: the reader decodes frames in batches before
// dedup, the flow table and the dissectors look at them. A source that
// reuses its frame memory must give the same flows and L7 rows as a pcap
// file, whose frames stay valid for 16 reads: the batch copies the payloads
// it needs.
func TestReadBatchOutlivesFrames(t *testing.T) {
	dir := requireCorpus(t, "ndpi")
	for _, name := range []string{"http-lines-split.pcap", "dns_ambiguous_names.pcap", "tls_verylong_certificate.pcap", "1kxun.pcap"} {
		t.Run(name, func(t *testing.T) {
			run := func(reuse bool) *l7Sink {
				src, err := dataplane.OpenPcap(filepath.Join(dir, name))
				require.NoError(t, err)
				if reuse {
					return runL7(t, &reusingSource{src: src, buf: make([]byte, 0, 1<<18)})
				}
				return runL7(t, src)
			}
			want, got := run(false), run(true)
			require.NotEmpty(t, want.flows)
			require.NotEmpty(t, want.logs)
			require.Equal(t, want.flows, got.flows)
			require.Equal(t, want.logs, got.logs)
		})
	}
}

// keepingSource keeps each frame for exactly kept further reads, then
// overwrites it, and puts an undecodable frame between every two real ones.
type keepingSource struct {
	src   *dataplane.PcapFile
	ring  [][]byte
	calls int
	odd   bool
}

func (k *keepingSource) FramesKept() int { return len(k.ring) - 1 }

func (k *keepingSource) ReadFrame() ([]byte, dataplane.FrameInfo, error) {
	slot := &k.ring[k.calls%len(k.ring)]
	k.calls++
	clear((*slot)[:cap(*slot)])
	if k.odd = !k.odd; k.odd {
		*slot = append((*slot)[:0], 0xde, 0xad) // too short for Ethernet
		return *slot, dataplane.FrameInfo{LinkType: 1, WireLen: 2}, nil
	}
	data, ci, err := k.src.ReadFrame()
	if err != nil {
		return nil, ci, err
	}
	*slot = append((*slot)[:0], data...)
	return *slot, ci, nil
}

func (k *keepingSource) Close() error { return k.src.Close() }

// TestReadBatchKeptFrames: a source that keeps frames for a read batch (32
// reads) lets the reader batch them uncopied, but undecodable frames in
// between stretch a batch over more reads than that; the batch is accounted
// before its first frame can be overwritten.
func TestReadBatchKeptFrames(t *testing.T) {
	path := filepath.Join(requireCorpus(t, "ndpi"), "1kxun.pcap")
	run := func(keep bool) *l7Sink {
		src, err := dataplane.OpenPcap(path)
		require.NoError(t, err)
		if !keep {
			return runL7(t, src)
		}
		ks := &keepingSource{src: src, ring: make([][]byte, dataplane.ReadBatchFrames+1)}
		for i := range ks.ring {
			ks.ring[i] = make([]byte, 0, 1<<18)
		}
		return runL7(t, ks)
	}
	want, got := run(false), run(true)
	require.NotEmpty(t, want.logs)
	require.Equal(t, want.flows, got.flows)
	require.Equal(t, want.logs, got.logs)
}
