package mysql

import "github.com/tapflow/tapflow/dissectors"

// maxScan bounds how far into a statement the FROM of a SELECT/DELETE is
// looked for, so a huge statement costs a bounded scan.
const maxScan = 4096

// appendEndpoint sets r.Endpoint for a DML statement: the statement keyword
// in upper case and the first table, `SELECT users`, `INSERT orders`,
// `UPDATE t`, `DELETE t`, `REPLACE t` (the table as written, quotes
// removed, `db.t` kept). A DML statement whose table is not found (SELECT
// without FROM, a subquery after FROM) gets the keyword alone; any other
// statement gets no endpoint. Text is only scanned, never copied twice.
func appendEndpoint(r *dissectors.Record, sql []byte) {
	if len(sql) > maxScan {
		sql = sql[:maxScan]
	}
	i := skipSpace(sql, 0)
	for i < len(sql) && sql[i] == '(' {
		i = skipSpace(sql, i+1)
	}
	w, i := word(sql, i)
	var kw string
	switch {
	case equalFold(w, "SELECT"):
		kw = "SELECT"
		i = findWord(sql, i, "FROM")
	case equalFold(w, "DELETE"):
		kw = "DELETE"
		i = findWord(sql, i, "FROM")
	case equalFold(w, "INSERT"), equalFold(w, "REPLACE"):
		kw = "INSERT"
		if equalFold(w, "REPLACE") {
			kw = "REPLACE"
		}
		i = skipModifiers(sql, i, true)
	case equalFold(w, "UPDATE"):
		kw = "UPDATE"
		i = skipModifiers(sql, i, false)
	default:
		return
	}
	r.SetString(&r.Endpoint, kw)
	if i < 0 {
		return
	}
	name, ok := tableName(sql, i)
	if !ok {
		return
	}
	r.Append(&r.Endpoint, space)
	for len(name) > 0 {
		// Copy the name without its quote characters, run by run.
		j := 0
		for j < len(name) && name[j] != '`' && name[j] != '"' {
			j++
		}
		r.Append(&r.Endpoint, name[:j])
		if j < len(name) {
			j++
		}
		name = name[j:]
	}
}

var space = []byte{' '}

// skipModifiers skips INSERT/REPLACE/UPDATE modifiers (LOW_PRIORITY,
// DELAYED, HIGH_PRIORITY, IGNORE) and, for INSERT/REPLACE, INTO; it
// returns the offset of the table name.
func skipModifiers(sql []byte, i int, into bool) int {
	for {
		j := skipSpace(sql, i)
		w, k := word(sql, j)
		switch {
		case equalFold(w, "LOW_PRIORITY"), equalFold(w, "DELAYED"), equalFold(w, "HIGH_PRIORITY"), equalFold(w, "IGNORE"):
			i = k
		case into && equalFold(w, "INTO"):
			return skipSpace(sql, k)
		default:
			return j
		}
	}
}

// tableName returns the table reference at sql[i:]: identifiers, possibly
// quoted with backticks or double quotes, joined by dots. ok is false when
// there is none (a subquery, end of text).
func tableName(sql []byte, i int) (name []byte, ok bool) {
	i = skipSpace(sql, i)
	start := i
	for i < len(sql) {
		c := sql[i]
		switch {
		case c == '`' || c == '"':
			j := i + 1
			for j < len(sql) && sql[j] != c {
				j++
			}
			if j == len(sql) {
				return nil, false
			}
			i = j + 1
		case isIdentByte(c) || c == '.':
			i++
		default:
			return sql[start:i], i > start
		}
	}
	return sql[start:i], i > start
}

// findWord returns the offset after the first occurrence of keyword kw as
// a whole word at or after i, outside quotes and comments, or -1.
func findWord(sql []byte, i int, kw string) int {
	for i < len(sql) {
		c := sql[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			i++
			for i < len(sql) && sql[i] != c {
				if sql[i] == '\\' && c != '`' {
					i++
				}
				i++
			}
			i++
		case c == '/' || c == '-' || c == '#':
			if j := skipComment(sql, i); j > i {
				i = j
			} else {
				i++
			}
		case isIdentByte(c):
			w, j := word(sql, i)
			if equalFold(w, kw) {
				return j
			}
			i = j
		default:
			i++
		}
	}
	return -1
}

// skipSpace skips white space and comments from i.
func skipSpace(sql []byte, i int) int {
	for i < len(sql) {
		switch sql[i] {
		case ' ', '\t', '\r', '\n', '\f', '\v':
			i++
		default:
			j := skipComment(sql, i)
			if j == i {
				return i
			}
			i = j
		}
	}
	return i
}

// skipComment returns the offset after a comment starting at i (/* */,
// "-- " or #, to the end of the line), or i when none starts there.
func skipComment(sql []byte, i int) int {
	if i >= len(sql) {
		return i
	}
	switch {
	case sql[i] == '#' || (sql[i] == '-' && i+2 < len(sql) && sql[i+1] == '-' && (sql[i+2] == ' ' || sql[i+2] == '\t')):
		for i < len(sql) && sql[i] != '\n' {
			i++
		}
		return i
	case sql[i] == '/' && i+1 < len(sql) && sql[i+1] == '*':
		for j := i + 2; j+1 < len(sql); j++ {
			if sql[j] == '*' && sql[j+1] == '/' {
				return j + 2
			}
		}
		return len(sql)
	}
	return i
}

// word returns the identifier-like word at sql[i:] and the offset after it.
func word(sql []byte, i int) ([]byte, int) {
	j := i
	for j < len(sql) && isIdentByte(sql[j]) {
		j++
	}
	return sql[i:j], j
}

func isIdentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c >= 0x80
}

// equalFold compares an ASCII word with an upper-case keyword.
func equalFold(w []byte, kw string) bool {
	if len(w) != len(kw) {
		return false
	}
	for i := range len(w) {
		c := w[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != kw[i] {
			return false
		}
	}
	return true
}

// sqlKeywords are the statement keywords Check accepts at the start of a
// COM_QUERY / COM_STMT_PREPARE text.
var sqlKeywords = [...]string{
	"SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE", "SET", "SHOW", "CREATE", "DROP", "ALTER",
	"BEGIN", "COMMIT", "ROLLBACK", "START", "USE", "CALL", "EXPLAIN", "DESC", "DESCRIBE", "WITH",
	"TRUNCATE", "GRANT", "REVOKE", "LOCK", "UNLOCK", "PREPARE", "EXECUTE", "DEALLOCATE", "SAVEPOINT",
	"RELEASE", "HANDLER", "LOAD", "DO", "ANALYZE", "OPTIMIZE", "REPAIR", "CHECK", "FLUSH", "KILL",
	"RENAME", "XA", "VALUES", "TABLE", "RESET", "PURGE", "CHANGE", "INSTALL", "UNINSTALL", "HELP",
}

// startsWithSQLKeyword reports whether sql, after white space, comments
// and opening parentheses, starts with a statement keyword.
func startsWithSQLKeyword(sql []byte) bool {
	i := skipSpace(sql, 0)
	for i < len(sql) && sql[i] == '(' {
		i = skipSpace(sql, i+1)
	}
	w, j := word(sql, i)
	if len(w) < 2 || (j < len(sql) && sql[j] != ' ' && sql[j] != '\t' && sql[j] != '\r' && sql[j] != '\n' && sql[j] != '(' && sql[j] != '/' && sql[j] != ';') {
		return false
	}
	for _, kw := range sqlKeywords {
		if equalFold(w, kw) {
			return true
		}
	}
	return false
}
