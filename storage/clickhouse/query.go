package clickhouse

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"sync/atomic"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// QueryOptions bound one read query.
type QueryOptions struct {
	// MaxRows is the most rows returned; more set Result.Truncated.
	// 0 means 10000.
	MaxRows int
	// Timeout is the server's max_execution_time (rounded up to seconds)
	// and, plus a grace period, the client's deadline. 0 means 30s.
	Timeout time.Duration
}

// Column describes one result column.
type Column struct {
	Name string
	Type string // ClickHouse type, e.g. "UInt64", "Nullable(String)"
}

// Result is a query result held in memory.
//
// Values hold what clickhouse-go scans each type into: Go integers and
// floats, string, time.Time, netip.Addr/net.IP, pointers for Nullable,
// slices for Array, maps for Map, decimal.Decimal, uuid.UUID, big.Int.
type Result struct {
	Columns   []Column
	Rows      [][]any
	Truncated bool
}

// Query runs one read statement in database and returns at most
// opts.MaxRows rows. The query runs with readonly=2 on the server, so even
// a statement that slipped past the caller's checks cannot write. A
// *ServerError is returned when the server rejected or failed the query.
func (db *DB) Query(ctx context.Context, database, sql string, opts QueryOptions) (*Result, error) {
	if opts.MaxRows <= 0 {
		opts.MaxRows = 10000
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	conn, release, err := db.pool(ctx, database)
	if err != nil {
		return nil, err
	}
	defer release()
	// clickhouse-go replaces max_execution_time with the context's
	// deadline plus 5s, so the query context has no deadline: the parent's
	// cancellation and the client-side timeout are forwarded by hand.
	ctx, cancel, timedOut := queryContext(ctx, opts.Timeout+5*time.Second)
	defer cancel()
	ctx = ch.Context(ctx, ch.WithSettings(ch.Settings{
		// Integers only: 18.16 takes settings as varints.
		"readonly":           2,
		"max_execution_time": int(math.Ceil(opts.Timeout.Seconds())),
	}))
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return nil, queryError(err, timedOut())
	}
	res, err := readRows(rows, opts.MaxRows)
	if err == nil && res.Truncated {
		cancel() // stop the server sending the rest before Close drains it
		_ = rows.Close()
		return res, nil
	}
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, queryError(err, timedOut())
	}
	return res, nil
}

// queryContext returns a context without deadline that is cancelled with
// parent or after timeout, and a func telling whether the timeout fired.
func queryContext(parent context.Context, timeout time.Duration) (context.Context, context.CancelFunc, func() bool) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	stopParent := context.AfterFunc(parent, cancel)
	var fired atomic.Bool
	timer := time.AfterFunc(timeout, func() { fired.Store(true); cancel() })
	return ctx, func() {
		timer.Stop()
		stopParent()
		cancel()
	}, fired.Load
}

// queryError converts err, naming a client-side timeout as such.
func queryError(err error, timedOut bool) error {
	if timedOut {
		return fmt.Errorf("query timed out waiting for the server: %w", context.DeadlineExceeded)
	}
	return asServerError(err)
}

// readRows scans up to maxRows rows; one more row sets Truncated.
func readRows(rows driver.Rows, maxRows int) (*Result, error) {
	types := rows.ColumnTypes()
	res := &Result{Columns: make([]Column, len(types))}
	scanTypes := make([]reflect.Type, len(types))
	for i, ct := range types {
		res.Columns[i] = Column{Name: ct.Name(), Type: ct.DatabaseTypeName()}
		scanTypes[i] = ct.ScanType()
		if scanTypes[i] == nil {
			return nil, fmt.Errorf("column %s: no scan type for %s", ct.Name(), ct.DatabaseTypeName())
		}
	}
	for rows.Next() {
		if len(res.Rows) == maxRows {
			res.Truncated = true
			return res, nil
		}
		dest := make([]any, len(types))
		for i, t := range scanTypes {
			dest[i] = reflect.New(t).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("scan row %d: %w", len(res.Rows), err)
		}
		row := make([]any, len(types))
		for i, d := range dest {
			row[i] = reflect.ValueOf(d).Elem().Interface()
		}
		res.Rows = append(res.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

// pool returns a connection pool whose default database is database (""
// is "default") and a func to call when done with it. Pools are kept for up
// to maxQueryPools databases; past that a pool is opened for the one query.
func (db *DB) pool(ctx context.Context, database string) (driver.Conn, func(), error) {
	noop := func() {}
	if database == "" || database == "default" {
		return db.conn, noop, nil
	}
	if !identRe.MatchString(database) {
		return nil, noop, fmt.Errorf("%w: %q", ErrBadDatabase, database)
	}
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil, noop, ErrClosed
	}
	p, ok := db.pools[database]
	db.mu.Unlock()
	if ok {
		return p, noop, nil
	}

	// Check first, so that no pool is kept for a database that does not
	// exist, and the caller gets a clear server-style error.
	var n uint64
	if err := db.conn.QueryRow(ctx, "SELECT count() FROM system.databases WHERE name = "+quoteString(database)).Scan(&n); err != nil {
		return nil, noop, asServerError(err)
	}
	if n == 0 {
		return nil, noop, &ServerError{Code: 81, Name: "UNKNOWN_DATABASE", Message: fmt.Sprintf("Database %s doesn't exist", database)}
	}
	p, err := db.open(database)
	if err != nil {
		return nil, noop, err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if q, ok := db.pools[database]; ok { // lost a race: keep the first
		_ = p.Close()
		return q, noop, nil
	}
	if db.closed || len(db.pools) >= maxQueryPools {
		return p, func() { _ = p.Close() }, nil
	}
	db.pools[database] = p
	return p, noop, nil
}
