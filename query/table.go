package query

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// WriteTable prints r as an aligned text table: a header, a rule, one line
// per row (numbers right-aligned, NULL for null, arrays and maps as JSON)
// and a row count, noting truncation.
func (r *Result) WriteTable(w io.Writer) error {
	cells := make([][]string, 0, len(r.Values)+1)
	cells = append(cells, r.Columns)
	for _, row := range r.Values {
		line := make([]string, len(r.Columns))
		for i := range line {
			if i < len(row) {
				line[i] = cellText(row[i])
			}
		}
		cells = append(cells, line)
	}
	widths := make([]int, len(r.Columns))
	for _, line := range cells {
		for i, c := range line {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	right := make([]bool, len(r.Columns))
	for i := range right {
		right[i] = i < len(r.Types) && numericType(r.Types[i])
	}

	var b strings.Builder
	for n, line := range cells {
		for i, c := range line {
			if i > 0 {
				b.WriteString("  ")
			}
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			switch {
			case right[i]:
				b.WriteString(pad + c)
			case i == len(line)-1:
				b.WriteString(c) // no trailing blanks
			default:
				b.WriteString(c + pad)
			}
		}
		b.WriteByte('\n')
		if n == 0 {
			for i, wd := range widths {
				if i > 0 {
					b.WriteString("  ")
				}
				b.WriteString(strings.Repeat("-", wd))
			}
			b.WriteByte('\n')
		}
	}
	rows := "rows"
	if len(r.Values) == 1 {
		rows = "row"
	}
	fmt.Fprintf(&b, "(%d %s", len(r.Values), rows)
	if r.Truncated {
		b.WriteString(", truncated: the server's row limit was reached")
	}
	b.WriteString(")\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// cellText renders one value of a decoded result.
func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		return strings.NewReplacer("\n", `\n`, "\t", `\t`, "\r", `\r`).Replace(x)
	case json.Number:
		return x.String()
	case bool, float64, int, int64, uint64:
		return fmt.Sprint(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// numericType reports whether a ClickHouse type is a number.
func numericType(t string) bool {
	t = unwrapType(t, "Nullable", "LowCardinality")
	for _, p := range []string{"UInt", "Int", "Float", "Decimal"} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}
