package mysql

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dissectors"
)

func TestEndpoint(t *testing.T) {
	for _, tc := range []struct{ sql, want string }{
		{"SELECT id, name FROM users WHERE id < 3", "SELECT users"},
		{"select * from `shop`.`users` u join t2 on 1", "SELECT shop.users"},
		{"  /* hint */ SELECT a FROM\n\tt", "SELECT t"},
		{"SELECT 'from x' AS s, `from` FROM real_t", "SELECT real_t"},
		{"SELECT \"a\\\"from b\" FROM c", "SELECT c"},
		{"select @@version_comment limit 1", "SELECT"},
		{"SELECT * FROM (SELECT 1) AS d", "SELECT"},
		{"(SELECT a FROM t1) UNION (SELECT a FROM t2)", "SELECT t1"},
		{"insert into orders values (1)", "INSERT orders"},
		{"INSERT IGNORE INTO orders(id) VALUES (1)", "INSERT orders"},
		{"INSERT LOW_PRIORITY orders VALUES (1)", "INSERT orders"},
		{"REPLACE INTO kv VALUES (1, 2)", "REPLACE kv"},
		{"UPDATE LOW_PRIORITY IGNORE t SET a = 1", "UPDATE t"},
		{"update `my table` set a=1", "UPDATE my table"},
		{"DELETE FROM t WHERE id = 1", "DELETE t"},
		{"DELETE LOW_PRIORITY QUICK FROM db.t", "DELETE db.t"},
		{"-- comment\nDELETE FROM t", "DELETE t"},
		{"# comment\nUPDATE t SET a=1", "UPDATE t"},
		{"SET NAMES utf8mb4", ""},
		{"SHOW TABLES", ""},
		{"select * from `unterminated", "SELECT"},
		{"", ""},
	} {
		t.Run(tc.sql, func(t *testing.T) {
			var r dissectors.Record
			appendEndpoint(&r, []byte(tc.sql))
			require.Equal(t, tc.want, r.String(r.Endpoint))
		})
	}
}
