package dataplane

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/flowtable"
)

// linesSink keeps flow records and l7_flow_log rows as JSON lines.
type linesSink struct{ flows, logs []string }

func (s *linesSink) WriteFlows(recs []flowtable.FlowRecord) {
	for i := range recs {
		s.flows = append(s.flows, string(recs[i].AppendJSON(nil)))
	}
}

func (s *linesSink) WriteL7(logs []dissectors.Log) {
	for i := range logs {
		s.logs = append(s.logs, string(logs[i].AppendJSON(nil)))
	}
}

// TestReadBatchFull: when the payloads a source does not keep no longer
// fit beside the read batch's, the batch is accounted first and the frame
// starts the next one. A payload buffer far too small for a batch forces
// that on nearly every frame; the result must not change.
func TestReadBatchFull(t *testing.T) {
	run := func(bufCap int) *linesSink {
		src := loadFrames(t, "../../shared/pcaps/ndpi/1kxun.pcap")
		src.n = len(src.frames)
		sink := &linesSink{}
		cfg := DefaultConfig()
		cfg.Workers, cfg.RecoverPanics = 1, false
		cfg.Flow.Capacity = 1 << 14
		p, err := New(cfg, sink, nil)
		require.NoError(t, err)
		if bufCap > 0 {
			p.rb.buf = make([]byte, 0, bufCap)
		}
		require.NoError(t, p.Run(context.Background(), src))
		return sink
	}
	want, got := run(0), run(1500)
	require.NotEmpty(t, want.flows)
	require.NotEmpty(t, want.logs)
	require.Equal(t, want.flows, got.flows)
	require.Equal(t, want.logs, got.logs)
}
