package query

import (
	"fmt"
	"strings"
)

// readKeywords are the statements CheckReadOnly admits as first word.
var readKeywords = map[string]bool{
	"SELECT": true, "SHOW": true, "DESCRIBE": true, "DESC": true, "EXISTS": true, "WITH": true,
}

// writeKeywords start statements that are not reads. After WITH, the first
// top-level one of these or SELECT says what the statement is.
var writeKeywords = map[string]bool{
	"INSERT": true, "ALTER": true, "CREATE": true, "DROP": true, "DELETE": true, "UPDATE": true,
	"TRUNCATE": true, "OPTIMIZE": true, "RENAME": true, "SYSTEM": true, "KILL": true, "SET": true,
	"USE": true, "ATTACH": true, "DETACH": true, "GRANT": true, "REVOKE": true, "EXCHANGE": true,
}

// CheckReadOnly returns nil when sql is exactly one read statement: it
// starts (after comments and opening parentheses) with SELECT, SHOW,
// DESCRIBE, DESC, EXISTS, or WITH followed by a top-level SELECT; nothing
// but comments and `;` follows a `;` outside strings, quoted identifiers
// and comments; and it has no INTO OUTFILE. The server is the real guard
// (readonly=2): this check exists to give a clear 400.
func CheckReadOnly(sql string) error {
	var (
		first       string
		firstParen  bool // first word came after '('
		depth       int
		endAt       = -1 // offset of the first top-level ';'
		prevWord    string
		withSelect  bool // the statement after WITH is a SELECT
		withDecided bool
		words       int
		afterSemiAt = -1
	)
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
			continue
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			if j := strings.IndexByte(sql[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(sql)
			}
			continue
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			j := strings.Index(sql[i+2:], "*/")
			if j < 0 {
				return fmt.Errorf("%w comment starting at offset %d", ErrUnterminated, i)
			}
			i += j + 4
			continue
		}
		if endAt >= 0 {
			if c == ';' {
				i++
				continue
			}
			afterSemiAt = i
			break
		}
		switch {
		case c == '\'' || c == '"' || c == '`':
			j, ok := skipQuoted(sql, i)
			if !ok {
				return fmt.Errorf("%w quoted text starting at offset %d", ErrUnterminated, i)
			}
			i = j
			prevWord = ""
		case c == ';':
			endAt = i
			i++
		case c == '(':
			depth++
			i++
		case c == ')':
			depth--
			i++
		case isWordStart(c):
			j := i + 1
			for j < len(sql) && isWordByte(sql[j]) {
				j++
			}
			w := strings.ToUpper(sql[i:j])
			words++
			if words == 1 {
				first, firstParen = w, depth > 0
			}
			if first == "WITH" && depth == 0 && !withDecided && (w == "SELECT" || writeKeywords[w]) {
				withDecided, withSelect = true, w == "SELECT"
			}
			if w == "OUTFILE" && prevWord == "INTO" {
				return fmt.Errorf("%w: INTO OUTFILE", ErrNotReadOnly)
			}
			prevWord = w
			i = j
		default:
			prevWord = ""
			i++
		}
	}
	if afterSemiAt >= 0 {
		return fmt.Errorf("%w: another statement follows ';' at offset %d", ErrMultiStatement, endAt)
	}
	switch {
	case words == 0:
		return ErrEmptyQuery
	case !readKeywords[first]:
		return fmt.Errorf("%w; got %s", ErrNotReadOnly, first)
	case firstParen && first != "SELECT" && first != "WITH":
		return fmt.Errorf("%w; got (%s", ErrNotReadOnly, first)
	case first == "WITH" && !withSelect:
		return fmt.Errorf("%w; WITH must be followed by SELECT", ErrNotReadOnly)
	}
	return nil
}

// skipQuoted returns the offset after the quoted text starting at sql[i],
// which ends with the same quote; a backslash escapes the next byte and a
// doubled quote stands for itself.
func skipQuoted(sql string, i int) (int, bool) {
	q := sql[i]
	for j := i + 1; j < len(sql); j++ {
		switch sql[j] {
		case '\\':
			j++
		case q:
			if j+1 < len(sql) && sql[j+1] == q {
				j++
				continue
			}
			return j + 1, true
		}
	}
	return 0, false
}

func isWordStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isWordByte(c byte) bool { return isWordStart(c) || c >= '0' && c <= '9' || c == '$' }
