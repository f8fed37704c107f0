package query

import (
	"encoding/json"
	"math"
	"math/big"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

func TestJSONValue(t *testing.T) {
	u8 := uint8(7)
	var nilU8 *uint8
	ts := time.Date(2026, 3, 1, 12, 30, 5, 123456789, time.UTC)
	v6 := netip.MustParseAddr("2001:db8::1").As16()

	tests := []struct {
		name   string
		v      any
		chType string
		want   string // JSON
	}{
		{"uint64 max", uint64(math.MaxUint64), "UInt64", `18446744073709551615`},
		{"int8", int8(-3), "Int8", `-3`},
		{"float", 1.5, "Float64", `1.5`},
		{"nan", math.NaN(), "Float64", `"nan"`},
		{"inf", math.Inf(1), "Float32", `"inf"`},
		{"-inf", float32(math.Inf(-1)), "Float32", `"-inf"`},
		{"string", "héllo", "String", `"héllo"`},
		{"datetime", ts.Truncate(time.Second), "DateTime", `"2026-03-01T12:30:05Z"`},
		{"datetime with tz", ts.Truncate(time.Second), "DateTime('UTC')", `"2026-03-01T12:30:05Z"`},
		{"datetime64", ts, "DateTime64(9)", `"2026-03-01T12:30:05.123456789Z"`},
		{"date", ts, "Date", `"2026-03-01"`},
		{"nullable set", &u8, "Nullable(UInt8)", `7`},
		{"nullable null", nilU8, "Nullable(UInt8)", `null`},
		{"nil", nil, "Nothing", `null`},
		{"fixedstring ipv6", string(v6[:]), "FixedString(16)", `"2001:db8::1"`},
		{"fixedstring zero ipv6", string(make([]byte, 16)), "FixedString(16)", `"::"`},
		{"fixedstring text", "abcdefghijklmnop", "FixedString(16)", `"abcdefghijklmnop"`},
		{"fixedstring padded", "ab\x00\x00", "FixedString(4)", `"ab"`},
		{"nullable fixedstring ipv6", ptr(string(v6[:])), "Nullable(FixedString(16))", `"2001:db8::1"`},
		{"netip", netip.MustParseAddr("10.0.0.1"), "IPv4", `"10.0.0.1"`},
		{"net.IP", net.ParseIP("::1"), "IPv6", `"::1"`},
		{"decimal", decimal.RequireFromString("12.50"), "Decimal(18, 2)", `12.5`},
		{"big int", big.NewInt(-5), "Int128", `-5`},
		{"array uint8", []uint8{1, 2}, "Array(UInt8)", `[1,2]`},
		{"array of nullable", []*uint8{&u8, nil}, "Array(Nullable(UInt8))", `[7,null]`},
		{"nested array of dates", [][]time.Time{{ts}}, "Array(Array(Date))", `[["2026-03-01"]]`},
		{"map", map[string]float64{"a": math.NaN()}, "Map(String, Float64)", `{"a":"nan"}`},
		{"map of fixedstring", map[uint8]string{1: string(v6[:])}, "Map(UInt8, FixedString(16))", `{"1":"2001:db8::1"}`},
		{"tuple as slice", []any{uint8(1), "x"}, "Tuple(UInt8, String)", `[1,"x"]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(jsonValue(tc.v, tc.chType))
			require.NoError(t, err)
			require.JSONEq(t, tc.want, string(b))
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestTypeArgs(t *testing.T) {
	require.Equal(t, []string{"String", "Array(Tuple(UInt8, String))"}, typeArgs("Map(String, Array(Tuple(UInt8, String)))", "Map"))
	require.Nil(t, typeArgs("String", "Map"))
	require.Equal(t, "FixedString(16)", unwrapType("LowCardinality(Nullable(FixedString(16)))", "Nullable", "LowCardinality"))
}
