package flowtable

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// runCase checks c both ways a flow can end: by the clock moving past every
// timeout, and by Flush (the end of a replay), which must give the same
// records.
func runCase(t *testing.T, c Case) {
	for _, flush := range []bool{false, true} {
		recs, st := Replay(t, c.Pkts, flush)
		got := make([]Metrics, len(recs))
		for i := range recs {
			got[i] = MetricsOf(&recs[i])
		}
		require.Equal(t, c.Want, got, "flush=%v", flush)
		require.Equal(t, c.TapGaps, st.TapGaps, "tap gaps, flush=%v", flush)
	}
}

func TestCloseTypes(t *testing.T) {
	for _, c := range CloseCases {
		t.Run(c.Name, func(t *testing.T) { runCase(t, c) })
	}
}

func TestMetrics(t *testing.T) {
	for _, c := range MetricCases {
		t.Run(c.Name, func(t *testing.T) { runCase(t, c) })
	}
}
