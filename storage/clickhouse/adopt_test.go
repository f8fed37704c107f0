package clickhouse

import (
	"testing"
	"time"

	"github.com/ClickHouse/ch-go/proto"
	chcol "github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/stretchr/testify/require"
)

// TestAdoptLayout fails when the pinned clickhouse-go no longer keeps a
// column's buffer where adopt looks for it: inserts would still work,
// through Append, but at the old cost.
func TestAdoptLayout(t *testing.T) {
	for name, f := range map[string]colField{
		"UInt8": fieldU8, "UInt16": fieldU16, "UInt32": fieldU32, "UInt64": fieldU64,
		"DateTime": fieldDT, "FixedString": fieldFS, "String": fieldStr,
	} {
		require.True(t, f.ok, "clickhouse-go's %s column has no field col of the ch-go type", name)
	}
}

// TestAdoptEncodesAsAppend encodes each adoptable column type both ways,
// through Append and adopted, and requires the same bytes on the wire;
// after release the library column no longer holds the codec's buffer.
func TestAdoptEncodesAsAppend(t *testing.T) {
	ts := []time.Time{time.Unix(1_700_000_000, 0).UTC(), {}, time.Unix(4_000_000_000, 0).UTC()}
	ip := [][16]byte{{15: 1}, {0: 0x20, 1: 0x01, 15: 2}, {}}
	texts := new(strCol)
	for _, v := range []string{"GET", "", "/a\x00\xff", "10.0.0.1"} {
		appendText(texts, v)
	}
	cases := []struct {
		typ string
		v   any
	}{
		{"UInt8", []uint8{0, 1, 255}},
		{"UInt16", []uint16{0, 1, 65535}},
		{"UInt32", []uint32{0, 7, 1<<32 - 1}},
		{"UInt64", []uint64{0, 9, 1<<64 - 1}},
		{"DateTime", ts},
		{"FixedString(16)", ip},
		{"String", texts},
	}
	sc := &chcol.ServerContext{Revision: 54412, VersionMajor: 18, VersionMinor: 16, Timezone: time.UTC}
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			appended, err := chcol.Type(c.typ).Column("c", sc)
			require.NoError(t, err)
			_, err = appended.Append(appendable(c.v))
			require.NoError(t, err)
			adoptedCol, err := chcol.Type(c.typ).Column("c", sc)
			require.NoError(t, err)
			var a adopter
			require.True(t, a.adopt(3, adoptedCol, c.v))
			require.Equal(t, appended.Rows(), adoptedCol.Rows())
			want, got := new(proto.Buffer), new(proto.Buffer)
			appended.Encode(want)
			adoptedCol.Encode(got)
			require.Equal(t, want.Buf, got.Buf)
			a.release()
			require.Zero(t, adoptedCol.Rows(), "release left the codec's buffer in the library column")
		})
	}
	// A value of another type is left to Append.
	col, err := chcol.Type("UInt32").Column("c", nil)
	require.NoError(t, err)
	var a adopter
	require.False(t, a.adopt(0, col, []uint64{1}))
	require.False(t, a.adopt(0, col, []string{"x"}))
	// A String column of another type (LowCardinality on newer servers)
	// takes the texts as strings.
	lc, err := chcol.Type("LowCardinality(String)").Column("c", sc)
	require.NoError(t, err)
	require.False(t, a.adopt(0, lc, texts))
	_, err = lc.Append(appendable(texts))
	require.NoError(t, err)
	require.Equal(t, 4, lc.Rows())
	texts.reset()
	require.Empty(t, appendable(texts))
}
