package clickhouse

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tapflow/tapflow/flowtable"
)

// fuzzSpool feeds codec c's segment decoder segments with a valid CRC, so
// that the records themselves are parsed; seeds are encoded as the first
// inputs. Invariant: an error is ErrCorruptSegment and no rows; rows that
// decode encode again to a segment that decodes to the same rows. A spool
// file is read back after a crash or a disk fault, so any bytes may be
// there.
func fuzzSpool[R any](f *testing.F, c rowCodec[R], seeds ...[]R) {
	for _, recs := range seeds {
		b := encodeSegment(c, recs)
		f.Add(b[:len(b)-4])
	}
	f.Fuzz(func(t *testing.T, seg []byte) {
		recs, err := decodeSegment(c, withCRC(seg))
		if err != nil {
			require.ErrorIs(t, err, ErrCorruptSegment)
			require.Nil(t, recs)
			return
		}
		again, err := decodeSegment(c, encodeSegment(c, recs))
		require.NoError(t, err)
		require.Equal(t, recs, again)
	})
}

func FuzzL4SpoolDecode(f *testing.F) {
	fuzzSpool(f, &l4Cols{}, testRecords(1, 1), testRecords(9, 100), []flowtable.FlowRecord{{}})
}

func FuzzMetricSpoolDecode(f *testing.F) {
	fuzzSpool(f, newMetricCols(true), testMetricRows(1, flowtable.NetworkMap1s, 1),
		testMetricRows(7, flowtable.Network1m, 50), []flowtable.MetricRow{{}})
}
