package clickhouse

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/flowtable"
)

// fuzzSpool feeds codec c's segment decoder segments with a valid CRC, so
// that the records themselves are parsed; seeds are encoded as the first
// inputs. Invariant: an error is ErrCorruptSegment and no rows; a decoded
// segment has the header's record count, and its rows encode again to a
// segment that decodes to the same rows (as same compares them; nil for
// require.Equal). A spool file is read back after a crash or a disk fault,
// so any bytes may be there.
func fuzzSpool[R any](f *testing.F, c rowCodec[R], same func(t *testing.T, a, b []R), seeds ...[]R) {
	if same == nil {
		same = func(t *testing.T, a, b []R) { require.Equal(t, a, b) }
	}
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
		require.Len(t, recs, int(binary.LittleEndian.Uint32(seg[12:])))
		again, err := decodeSegment(c, encodeSegment(c, recs))
		require.NoError(t, err)
		same(t, recs, again)
	})
}

func FuzzL4SpoolDecode(f *testing.F) {
	fuzzSpool(f, &l4Cols{}, nil, testRecords(1, 1), testRecords(9, 100), []flowtable.FlowRecord{{}})
}

func FuzzMetricSpoolDecode(f *testing.F) {
	fuzzSpool(f, newMetricCols(true), nil, testMetricRows(1, flowtable.NetworkMap1s, 1),
		testMetricRows(7, flowtable.Network1m, 50), []flowtable.MetricRow{{}})
}

func FuzzL7SpoolDecode(f *testing.F) {
	fuzzSpool(f, &l7Cols{}, func(t *testing.T, a, b []dissectors.Log) { require.Equal(t, viewsOf(a), viewsOf(b)) },
		testLogs(1, 1), testLogs(9, 100), []dissectors.Log{{}})
}
