package query

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckReadOnly(t *testing.T) {
	tests := []struct {
		name    string
		sql     string
		wantErr error
	}{
		{"select", "SELECT 1", nil},
		{"lower case", "select count() from l4_flow_log", nil},
		{"trailing semicolons and comment", "SELECT 1;; -- done\n ; /* end */", nil},
		{"leading comments", "-- top talkers\n/* c */ SELECT 1", nil},
		{"show", "SHOW TABLES", nil},
		{"show databases", "show databases", nil},
		{"describe", "DESCRIBE TABLE l4_flow_log", nil},
		{"desc", "DESC l4_flow_log", nil},
		{"exists", "EXISTS TABLE l4_flow_log", nil},
		{"with alias", "WITH 1 AS x SELECT x", nil},
		{"with cte", "WITH t AS (SELECT 1 AS a) SELECT a FROM t", nil},
		{"parenthesised union", "(SELECT 1) UNION ALL (SELECT 2)", nil},
		{"semicolon in string", "SELECT 'a;b; DROP TABLE x'", nil},
		{"semicolon in identifier", "SELECT 1 AS `x;y`, 2 AS \"p;q\"", nil},
		{"escaped quote", `SELECT 'it\'s; fine', 'doubled '' ; quote'`, nil},
		{"semicolon in comment", "SELECT 1 /* ; DROP TABLE x */", nil},
		{"semicolon in line comment", "SELECT 1 -- ; DROP TABLE x\n", nil},
		{"keyword in string", "SELECT 'INSERT INTO x'", nil},

		{"empty", "", ErrEmptyQuery},
		{"only comments", "-- nothing\n/* here */ ;", ErrEmptyQuery},
		{"insert", "INSERT INTO t (a) VALUES (1)", ErrNotReadOnly},
		{"insert select", "INSERT INTO t (a) SELECT 1", ErrNotReadOnly},
		{"drop", "DROP TABLE flow_log.l4_flow_log", ErrNotReadOnly},
		{"alter", "ALTER TABLE t DELETE WHERE 1", ErrNotReadOnly},
		{"create", "CREATE TABLE t (a UInt8) ENGINE = Memory", ErrNotReadOnly},
		{"truncate", "TRUNCATE TABLE t", ErrNotReadOnly},
		{"optimize", "OPTIMIZE TABLE t", ErrNotReadOnly},
		{"set", "SET readonly = 0", ErrNotReadOnly},
		{"system", "SYSTEM SHUTDOWN", ErrNotReadOnly},
		{"kill", "KILL QUERY WHERE 1", ErrNotReadOnly},
		{"rename", "RENAME TABLE a TO b", ErrNotReadOnly},
		{"use", "USE system", ErrNotReadOnly},
		{"parenthesised insert", "(INSERT INTO t SELECT 1)", ErrNotReadOnly},
		{"with without select", "WITH 1 AS x INSERT INTO t SELECT x", ErrNotReadOnly},
		{"with select only inside parens", "WITH t AS (SELECT 1) INSERT INTO x SELECT * FROM t", ErrNotReadOnly},
		{"into outfile", "SELECT 1 INTO OUTFILE '/tmp/x'", ErrNotReadOnly},
		{"comment hides keyword", "/* SELECT */ DROP TABLE t", ErrNotReadOnly},
		{"two statements", "SELECT 1; SELECT 2", ErrMultiStatement},
		{"select then drop", "SELECT 1; DROP TABLE t", ErrMultiStatement},
		{"select then drop after comment", "SELECT 1; -- x\nDROP TABLE t", ErrMultiStatement},
		{"quote closes before semicolon", "SELECT 'a'; DROP TABLE t", ErrMultiStatement},
		{"unterminated string", "SELECT 'abc", ErrUnterminated},
		{"unterminated identifier", "SELECT `abc", ErrUnterminated},
		{"unterminated comment", "SELECT 1 /* abc", ErrUnterminated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckReadOnly(tc.sql)
			if tc.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
		})
	}
}

func FuzzCheckReadOnly(f *testing.F) {
	for _, s := range []string{"SELECT 1", "SELECT 'a;b'; DROP", "WITH x AS (SELECT 1) SELECT", "/* ", "`a\\`"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		_ = CheckReadOnly(sql) // must not panic
	})
}
