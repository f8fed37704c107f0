package query

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/tapflow/tapflow/flowtable"
	"github.com/tapflow/tapflow/internal/testserver"
	"github.com/tapflow/tapflow/storage/clickhouse"
)

func TestMain(m *testing.M) {
	testserver.Main(m, closeFixture, func() error { return goleak.Find() })
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fixture is a ClickHouse with the tapflow schema under a prefix of its own
// and three flows in l4_flow_log, shared by the tests of this package.
type fixture struct {
	db      *clickhouse.DB
	flowLog string // database name
}

var (
	fixOnce sync.Once
	fix     fixture
	fixErr  error
)

func setup(t *testing.T) fixture {
	t.Helper()
	addr := testserver.Shared(t)
	fixOnce.Do(func() { fix, fixErr = newFixture(addr) })
	require.NoError(t, fixErr)
	return fix
}

func newFixture(addr string) (fixture, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := clickhouse.Open(ctx, clickhouse.Config{Addr: addr, DatabasePrefix: "query_"}, nil)
	if err != nil {
		return fixture{}, err
	}
	if err := db.EnsureSchema(ctx); err != nil {
		return fixture{}, errors.Join(err, db.Close())
	}
	w, err := clickhouse.NewWriter(db, clickhouse.WriterConfig{}, nil, nil)
	if err != nil {
		return fixture{}, errors.Join(err, db.Close())
	}
	end := time.Date(2026, 3, 1, 12, 30, 5, 0, time.UTC)
	w.Write([]flowtable.FlowRecord{
		{FlowID: 1, StartTime: end.Add(-time.Second), EndTime: end, Proto: 6,
			ClientIP: netip.MustParseAddr("10.1.2.3"), ServerIP: netip.MustParseAddr("10.9.9.9"),
			ClientPort: 40001, ServerPort: 80, BytesTx: 100, BytesRx: 18446744073709551615},
		{FlowID: 2, StartTime: end.Add(-time.Second), EndTime: end, Proto: 6,
			ClientIP: netip.MustParseAddr("2001:db8::a"), ServerIP: netip.MustParseAddr("2001:db8::b"),
			ClientPort: 40002, ServerPort: 443, BytesTx: 200},
		{FlowID: 3, StartTime: end.Add(-time.Second), EndTime: end, Proto: 17,
			ClientIP: netip.MustParseAddr("10.1.2.4"), ServerIP: netip.MustParseAddr("10.9.9.9"),
			ClientPort: 40003, ServerPort: 53, BytesTx: 300},
	})
	if err := w.Close(ctx); err != nil {
		return fixture{}, errors.Join(err, db.Close())
	}
	return fixture{db: db, flowLog: db.Database(clickhouse.FlowLogDB)}, nil
}

// The fixture's DB outlives the tests; close it before the leak check.
func closeFixture() error {
	if fix.db == nil {
		return nil
	}
	return fix.db.Close()
}

type response struct {
	status int
	body   map[string]any
	raw    string
}

func do(t *testing.T, h http.Handler, req *http.Request) response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := response{status: rec.Code, raw: rec.Body.String()}
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	dec := json.NewDecoder(strings.NewReader(res.raw))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&res.body), res.raw)
	return res
}

func jsonReq(db, sql string) *http.Request {
	b, _ := json.Marshal(map[string]string{"db": db, "sql": sql})
	r := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(b))
	r.Header.Set("Content-Type", "application/json")
	return r
}

func formReq(db, sql string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(url.Values{"db": {db}, "sql": {sql}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func TestHandler(t *testing.T) {
	f := setup(t)
	h := Handler(f.db, nil)
	countSQL := "SELECT count() AS n FROM l4_flow_log"

	multipartReq := func() *http.Request {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		require.NoError(t, mw.WriteField("db", f.flowLog))
		require.NoError(t, mw.WriteField("sql", countSQL))
		require.NoError(t, mw.Close())
		r := httptest.NewRequest(http.MethodPost, Path, &b)
		r.Header.Set("Content-Type", mw.FormDataContentType())
		return r
	}

	tests := []struct {
		name       string
		req        *http.Request
		wantStatus int
		wantValues string // JSON of "values"
		wantErr    string // substring of "error"
	}{
		{name: "json body", req: jsonReq(f.flowLog, countSQL), wantStatus: 200, wantValues: `[[3]]`},
		{name: "form body", req: formReq(f.flowLog, countSQL), wantStatus: 200, wantValues: `[[3]]`},
		{name: "multipart form", req: multipartReq(), wantStatus: 200, wantValues: `[[3]]`},
		{name: "json without content type", req: func() *http.Request {
			return httptest.NewRequest(http.MethodPost, Path, strings.NewReader(`{"db":"`+f.flowLog+`","sql":"`+countSQL+`"}`))
		}(), wantStatus: 200, wantValues: `[[3]]`},
		{name: "get with parameters", req: httptest.NewRequest(http.MethodGet,
			Path+"?"+url.Values{"db": {f.flowLog}, "sql": {countSQL}}.Encode(), nil), wantStatus: 200, wantValues: `[[3]]`},
		{name: "qualified table, no db", req: jsonReq("", "SELECT flow_id FROM "+f.flowLog+".l4_flow_log ORDER BY flow_id"),
			wantStatus: 200, wantValues: `[[1],[2],[3]]`},
		{name: "ip addresses, times and uint64", req: jsonReq(f.flowLog,
			"SELECT is_ipv4, IPv4NumToString(toUInt32(client_ip4)), client_ip6, time, toDate(time), bytes_rx FROM l4_flow_log WHERE flow_id IN (1, 2) ORDER BY flow_id"),
			wantStatus: 200, wantValues: `[[1,"10.1.2.3","::","2026-03-01T12:30:05Z","2026-03-01",18446744073709551615],` +
				`[0,"0.0.0.0","2001:db8::a","2026-03-01T12:30:05Z","2026-03-01",0]]`},
		{name: "group by", req: jsonReq(f.flowLog, "SELECT proto, count() AS c, sum(bytes_tx) FROM l4_flow_log GROUP BY proto ORDER BY proto"),
			wantStatus: 200, wantValues: `[[6,2,300],[17,1,300]]`},
		{name: "show tables", req: jsonReq(f.flowLog, "SHOW TABLES"), wantStatus: 200, wantValues: `[["l4_flow_log"],["l4_flow_log_local"],["l7_flow_log"],["l7_flow_log_local"]]`},
		{name: "exists", req: jsonReq(f.flowLog, "EXISTS TABLE l4_flow_log"), wantStatus: 200, wantValues: `[[1]]`},
		{name: "with select", req: jsonReq(f.flowLog, "WITH 2 AS k SELECT count() FROM l4_flow_log WHERE flow_id >= k"), wantStatus: 200, wantValues: `[[2]]`},
		{name: "nullable, array, nan", req: jsonReq("", "SELECT CAST(NULL AS Nullable(UInt8)), [1, 2], nan, toDecimal64(1.25, 2), toFixedString('ab', 4)"),
			wantStatus: 200, wantValues: `[[null,[1,2],"nan",1.25,"ab"]]`},

		{name: "insert rejected", req: jsonReq(f.flowLog, "INSERT INTO l4_flow_log_local (flow_id) SELECT 9"), wantStatus: 400, wantErr: "only read queries are allowed"},
		{name: "drop rejected", req: formReq(f.flowLog, "DROP TABLE l4_flow_log"), wantStatus: 400, wantErr: "got DROP"},
		{name: "alter rejected", req: jsonReq(f.flowLog, "ALTER TABLE l4_flow_log_local DELETE WHERE 1"), wantStatus: 400, wantErr: "got ALTER"},
		{name: "multi statement rejected", req: jsonReq(f.flowLog, "SELECT 1; DROP TABLE l4_flow_log"), wantStatus: 400, wantErr: "only one statement is allowed"},
		{name: "bad sql", req: jsonReq(f.flowLog, "SELECT FROM WHERE"), wantStatus: 400, wantErr: "Syntax error"},
		{name: "unknown table", req: jsonReq(f.flowLog, "SELECT * FROM no_such_table"), wantStatus: 400, wantErr: "doesn't exist"},
		{name: "unknown column", req: jsonReq(f.flowLog, "SELECT no_such_column FROM l4_flow_log"), wantStatus: 400, wantErr: "no_such_column"},
		{name: "unknown database", req: jsonReq("no_such_db", "SELECT 1"), wantStatus: 400, wantErr: "Database no_such_db doesn't exist"},
		{name: "bad database name", req: jsonReq("a;b", "SELECT 1"), wantStatus: 400, wantErr: "bad database name"},
		{name: "empty sql", req: jsonReq(f.flowLog, "  "), wantStatus: 400, wantErr: "empty query"},
		{name: "bad json", req: func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(`{"sql": 1}`))
			r.Header.Set("Content-Type", "application/json")
			return r
		}(), wantStatus: 400, wantErr: "bad JSON body"},
		{name: "unknown json field", req: func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(`{"query": "SELECT 1"}`))
			r.Header.Set("Content-Type", "application/json")
			return r
		}(), wantStatus: 400, wantErr: "unknown field"},
		{name: "method not allowed", req: httptest.NewRequest(http.MethodPut, Path, nil), wantStatus: 405, wantErr: "not allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := do(t, h, tc.req)
			require.Equal(t, tc.wantStatus, res.status, res.raw)
			if tc.wantErr != "" {
				require.Contains(t, res.body["error"], tc.wantErr)
				return
			}
			require.NotContains(t, res.body, "error")
			got, err := json.Marshal(res.body["values"])
			require.NoError(t, err)
			require.JSONEq(t, tc.wantValues, string(got))
			require.Equal(t, false, res.body["truncated"])
		})
	}
}

func TestHandlerLimits(t *testing.T) {
	f := setup(t)

	t.Run("row limit truncates", func(t *testing.T) {
		h := NewHandler(f.db, Config{MaxRows: 5}, nil)
		res := do(t, h, jsonReq("", "SELECT number FROM system.numbers"))
		require.Equal(t, 200, res.status, res.raw)
		require.Len(t, res.body["values"], 5)
		require.Equal(t, true, res.body["truncated"])
		require.Equal(t, []any{"number"}, res.body["columns"])
		require.Equal(t, []any{"UInt64"}, res.body["types"])
	})
	t.Run("exactly the limit is not truncated", func(t *testing.T) {
		h := NewHandler(f.db, Config{MaxRows: 5}, nil)
		res := do(t, h, jsonReq("", "SELECT number FROM system.numbers LIMIT 5"))
		require.Equal(t, 200, res.status, res.raw)
		require.Len(t, res.body["values"], 5)
		require.Equal(t, false, res.body["truncated"])
	})
	t.Run("server timeout", func(t *testing.T) {
		// The server's own "Timeout exceeded" proves max_execution_time
		// was applied; the endless query would otherwise hang the test.
		h := NewHandler(f.db, Config{Timeout: time.Second}, nil)
		res := do(t, h, jsonReq("", "SELECT count() FROM system.numbers"))
		require.Equal(t, 400, res.status, res.raw)
		require.Contains(t, res.body["error"], "Timeout exceeded")
	})
	t.Run("readonly on the server", func(t *testing.T) {
		// Past CheckReadOnly, the server still refuses writes.
		_, err := f.db.Query(testCtx(t), f.flowLog, "CREATE TABLE x (a UInt8) ENGINE = Memory", clickhouse.QueryOptions{})
		var se *clickhouse.ServerError
		require.ErrorAs(t, err, &se)
		require.Contains(t, se.Message, "readonly")
	})
}

// fakeQuerier returns a fixed error: for the status mapping of errors a
// real server does not produce on demand. TestHandler covers the rest.
type fakeQuerier struct{ err error }

func (q fakeQuerier) Query(context.Context, string, string, clickhouse.QueryOptions) (*clickhouse.Result, error) {
	return nil, q.err
}

func TestHandlerStatus(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{&clickhouse.ServerError{Code: 62, Message: "Syntax error"}, 400},
		{fmt.Errorf("wrapped: %w", &clickhouse.ServerError{Code: 60}), 400},
		{clickhouse.ErrBadDatabase, 400},
		{context.DeadlineExceeded, 504},
		{errors.New("dial tcp 127.0.0.1:9000: connect: connection refused"), 502},
	}
	for _, tc := range tests {
		t.Run(tc.err.Error(), func(t *testing.T) {
			res := do(t, Handler(fakeQuerier{tc.err}, nil), jsonReq("", "SELECT 1"))
			require.Equal(t, tc.want, res.status)
			require.Equal(t, tc.err.Error(), res.body["error"])
		})
	}
}

func TestClient(t *testing.T) {
	f := setup(t)
	srv := httptest.NewServer(NewHandler(f.db, Config{MaxRows: 2}, nil))
	defer srv.Close()
	var c Client

	res, err := c.Do(testCtx(t), srv.URL, f.flowLog,
		"SELECT flow_id, server_port AS port, proto = 6 ? 'tcp' : 'udp' AS p, bytes_rx FROM l4_flow_log ORDER BY flow_id")
	require.NoError(t, err)
	require.Equal(t, []string{"flow_id", "port", "p", "bytes_rx"}, res.Columns)
	require.Equal(t, json.Number("18446744073709551615"), res.Values[0][3], "uint64 stays exact")
	require.True(t, res.Truncated)

	var out strings.Builder
	require.NoError(t, res.WriteTable(&out))
	require.Equal(t, `flow_id  port  p                bytes_rx
-------  ----  ---  --------------------
      1    80  tcp  18446744073709551615
      2   443  tcp                     0
(2 rows, truncated: the server's row limit was reached)
`, out.String())

	// host:port without a scheme works too; errors carry the server's message.
	_, err = c.Do(testCtx(t), strings.TrimPrefix(srv.URL, "http://"), f.flowLog, "DROP TABLE l4_flow_log")
	require.ErrorContains(t, err, "got DROP (HTTP 400)")
	_, err = c.Do(testCtx(t), srv.URL, f.flowLog, "SELECT nope FROM l4_flow_log")
	require.ErrorContains(t, err, "nope")
}

func TestWriteTable(t *testing.T) {
	res := &Result{
		Columns: []string{"name", "n", "tags", "maybe"},
		Types:   []string{"String", "Nullable(Int64)", "Array(String)", "Nullable(String)"},
		Values: [][]any{
			{"a\tb", json.Number("-12"), []any{"x", "y"}, nil},
			{"ünï", nil, []any{}, "v"},
		},
	}
	var out strings.Builder
	require.NoError(t, res.WriteTable(&out))
	require.Equal(t, `name     n  tags       maybe
----  ----  ---------  -----
a\tb   -12  ["x","y"]  NULL
ünï   NULL  []         v
(2 rows)
`, out.String())

	out.Reset()
	require.NoError(t, (&Result{Columns: []string{"x"}, Types: []string{"UInt8"}}).WriteTable(&out))
	require.Equal(t, "x\n-\n(0 rows)\n", out.String())
}
