package query

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// jsonValue converts a value scanned by storage/clickhouse into one that
// encodes to the JSON described in doc.go. chType is the column's
// ClickHouse type and picks formats that the Go type alone does not tell.
func jsonValue(v any, chType string) any {
	chType = unwrapType(chType, "Nullable", "LowCardinality")
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return stringValue(x, chType)
	case []byte: // also Array(UInt8)
		if !strings.HasPrefix(chType, "Array(") {
			return stringValue(string(x), chType)
		}
	case bool, int8, int16, int32, int64, int, uint8, uint16, uint32, uint64, uint:
		return x
	case float32:
		return floatValue(float64(x))
	case float64:
		return floatValue(x)
	case time.Time:
		switch {
		case strings.HasPrefix(chType, "DateTime64"):
			return x.Format(time.RFC3339Nano)
		case strings.HasPrefix(chType, "Date") && !strings.HasPrefix(chType, "DateTime"):
			return x.Format(time.DateOnly)
		}
		return x.Format(time.RFC3339)
	case netip.Addr:
		return x.String()
	case net.IP:
		return x.String()
	case decimal.Decimal:
		return json.Number(x.String())
	case big.Int:
		return json.Number(x.String())
	case *big.Int:
		if x == nil {
			return nil
		}
		return json.Number(x.String())
	case json.Marshaler, fmt.Stringer:
		if _, err := json.Marshal(x); err == nil {
			return x
		}
		return fmt.Sprint(x)
	}

	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil
		}
		return jsonValue(rv.Elem().Interface(), chType)
	case reflect.Slice, reflect.Array:
		elem := unwrapType(chType, "Array")
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = jsonValue(rv.Index(i).Interface(), elem)
		}
		return out
	case reflect.Map:
		valType := ""
		if args := typeArgs(chType, "Map"); len(args) == 2 {
			valType = args[1]
		}
		out := make(map[string]any, rv.Len())
		iter := rv.MapRange()
		for iter.Next() {
			out[fmt.Sprint(jsonValue(iter.Key().Interface(), ""))] = jsonValue(iter.Value().Interface(), valType)
		}
		return out
	}
	if _, err := json.Marshal(v); err == nil {
		return v
	}
	return fmt.Sprint(v)
}

func floatValue(f float64) any {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return f
}

// stringValue formats String and FixedString values. FixedString is padded
// with NULs by the server: they are trimmed. A FixedString(16) that is not
// printable text holds an IPv6 address in l4_flow_log on servers without
// the IPv6 type, and is shown as one.
func stringValue(s, chType string) any {
	if !strings.HasPrefix(chType, "FixedString(") {
		return s
	}
	if chType == "FixedString(16)" && len(s) == 16 && !printable(strings.TrimRight(s, "\x00")) {
		return netip.AddrFrom16([16]byte([]byte(s))).String()
	}
	if chType == "FixedString(16)" && s == strings.Repeat("\x00", 16) {
		return "::"
	}
	return strings.TrimRight(s, "\x00")
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) && r != '\t' && r != '\n' {
			return false
		}
	}
	return true
}

// unwrapType strips the named single-argument wrappers from a ClickHouse
// type: unwrapType("Nullable(UInt8)", "Nullable") is "UInt8".
func unwrapType(t string, wrappers ...string) string {
	for changed := true; changed; {
		changed = false
		for _, w := range wrappers {
			if args := typeArgs(t, w); len(args) == 1 {
				t, changed = args[0], true
			}
		}
	}
	return t
}

// typeArgs returns the top-level arguments of t when t is name(...).
func typeArgs(t, name string) []string {
	if !strings.HasPrefix(t, name+"(") || !strings.HasSuffix(t, ")") {
		return nil
	}
	inner := t[len(name)+1 : len(t)-1]
	var args []string
	depth, start := 0, 0
	for i := 0; i < len(inner); i++ {
		switch inner[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				args = append(args, strings.TrimSpace(inner[start:i]))
				start = i + 1
			}
		}
	}
	return append(args, strings.TrimSpace(inner[start:]))
}
