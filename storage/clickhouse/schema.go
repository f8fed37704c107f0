package clickhouse

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// colKind selects a column's type and codec per server version.
type colKind uint8

const (
	kDateTime colKind = iota // DateTime
	kTimeUS                  // UInt64 µs timestamp
	kU8
	kU16
	kU32
	kU64
	kIP4      // IPv4, or UInt32 on 18.16
	kIP6      // IPv6, or FixedString(16) on 18.16
	kLowCard  // text with few distinct values (addresses, names): LowCardinality(String), or String on 18.16
	kText     // String: free text, any bytes
	kTime64US // DateTime64(6), or DateTime (whole seconds) on 18.16
	kNullU64  // Nullable(UInt64)
	kNullI32  // Nullable(Int32)
)

type column struct {
	name string
	kind colKind
}

// endpointColumns are the flow's endpoints, shared by l4_flow_log and
// l7_flow_log: client = DeepFlow's index 0, server = 1.
var endpointColumns = []column{
	{"proto", kU8},
	{"is_ipv4", kU8},
	{"client_ip4", kIP4},
	{"client_ip6", kIP6},
	{"server_ip4", kIP4},
	{"server_ip6", kIP6},
	{"client_port", kU16},
	{"server_port", kU16},
}

// l4Columns is flow_log.l4_flow_log in insert order. The names are a
// contract with the console and the CLI.
var l4Columns = slices.Concat([]column{
	{"time", kDateTime}, // = end_time
	{"start_time", kDateTime},
	{"end_time", kDateTime},
	{"start_time_us", kTimeUS},
	{"end_time_us", kTimeUS},
	{"flow_id", kU64},
	{"close_type", kU8},
	{"tap_type", kU8},
	{"tap_port", kU32},
	{"vlan", kU16},
	{"outer_src", kLowCard},
	{"outer_dst", kLowCard},
}, endpointColumns, []column{
	{"packets_tx", kU64},
	{"packets_rx", kU64},
	{"bytes_tx", kU64},
	{"bytes_rx", kU64},
	{"rtt_us", kU32},
	{"rtt_client_us", kU32},
	{"rtt_server_us", kU32},
	{"srt_sum_us", kU64},
	{"srt_count", kU32},
	{"srt_max_us", kU64},
	{"art_sum_us", kU64},
	{"art_count", kU32},
	{"art_max_us", kU64},
	{"cit_sum_us", kU64},
	{"cit_count", kU32},
	{"cit_max_us", kU64},
	{"retrans_tx", kU32},
	{"retrans_rx", kU32},
	{"zero_win_tx", kU32},
	{"zero_win_rx", kU32},
	{"ooo_tx", kU32},
	{"ooo_rx", kU32},
	{"lost_tx", kU32},
	{"lost_rx", kU32},
	{"lost_before_tap_tx", kU32},
	{"lost_before_tap_rx", kU32},
	{"syn_count", kU32},
	{"synack_count", kU32},
	{"fin_count", kU32},
})

// l4OrderBy is the sorting key: time first (every query has a time
// range), then what flow searches filter on.
const l4OrderBy = "time, proto, server_port, flow_id"

// tableSpec is one tapflow table: database (without prefix), name, columns
// in insert order and sorting key.
type tableSpec struct {
	db, name string
	cols     []column
	orderBy  string
}

// tables lists every table EnsureSchema creates.
var tables = []tableSpec{
	{FlowLogDB, L4FlowLog, l4Columns, l4OrderBy},
	{FlowLogDB, L7FlowLog, l7Columns, l7OrderBy},
	{FlowMetricsDB, Network1s, metricColumns(false), networkOrderBy},
	{FlowMetricsDB, Network1m, metricColumns(false), networkOrderBy},
	{FlowMetricsDB, NetworkMap1s, metricColumns(true), networkMapOrderBy},
	{FlowMetricsDB, NetworkMap1m, metricColumns(true), networkMapOrderBy},
}

// colType returns the column's DDL type (with codec where supported).
func colType(k colKind, f features) string {
	var t, codec string
	switch k {
	case kDateTime:
		t, codec = "DateTime", "DoubleDelta, LZ4"
	case kTimeUS:
		t, codec = "UInt64", "DoubleDelta, LZ4"
	case kU8:
		t, codec = "UInt8", "T64, LZ4"
	case kU16:
		t, codec = "UInt16", "T64, LZ4"
	case kU32:
		t, codec = "UInt32", "T64, LZ4"
	case kU64:
		t, codec = "UInt64", "T64, LZ4"
	case kIP4:
		t, codec = "UInt32", "ZSTD(1)"
		if f.ipTypes {
			t = "IPv4"
		}
	case kIP6:
		t, codec = "FixedString(16)", "ZSTD(1)"
		if f.ipTypes {
			t = "IPv6"
		}
	case kLowCard:
		t, codec = "String", "ZSTD(1)"
		if f.lowCard {
			t = "LowCardinality(String)"
		}
	case kText:
		t, codec = "String", "ZSTD(1)"
	case kTime64US:
		t, codec = "DateTime", "DoubleDelta, LZ4"
		if f.dateTime64 {
			t = "DateTime64(6)"
		}
	case kNullU64:
		t, codec = "Nullable(UInt64)", "ZSTD(1)"
	case kNullI32:
		t, codec = "Nullable(Int32)", "ZSTD(1)"
	default:
		panic(fmt.Sprintf("BUG: column kind %d", k))
	}
	if f.codecs {
		return t + " CODEC(" + codec + ")"
	}
	return t
}

// columnList returns "a, b, c" for an INSERT.
func columnList(cols []column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

// createLocalTable returns the DDL of db.table_local.
func createLocalTable(db, table string, cols []column, orderBy string, f features, retention time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s.%s (\n", quoteIdent(db), quoteIdent(table+"_local"))
	for i, c := range cols {
		sep := ","
		if i == len(cols)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "    %s %s%s\n", c.name, colType(c.kind, f), sep)
	}
	b.WriteString(") ENGINE = MergeTree\n")
	b.WriteString("PARTITION BY toStartOfHour(time)\n")
	fmt.Fprintf(&b, "ORDER BY (%s)\n", orderBy)
	if f.ttl {
		fmt.Fprintf(&b, "TTL time + INTERVAL %d SECOND\n", int64(retention/time.Second))
	}
	b.WriteString("SETTINGS index_granularity = 8192")
	return b.String()
}

// createQueryTable returns the DDL of db.table over db.table_local: a
// Distributed table over cluster, or a Merge table when cluster is "".
func createQueryTable(db, table, cluster string) string {
	local := table + "_local"
	if cluster == "" {
		return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s AS %s.%s ENGINE = Merge(%s, %s)",
			quoteIdent(db), quoteIdent(table), quoteIdent(db), quoteIdent(local), quoteString(db),
			quoteString("^"+regexp.QuoteMeta(local)+"$"))
	}
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s AS %s.%s ENGINE = Distributed(%s, %s, %s, rand())",
		quoteIdent(db), quoteIdent(table), quoteIdent(db), quoteIdent(local), cluster, quoteString(db), quoteString(local))
}

// EnsureSchema creates the tapflow databases and tables that do not exist
// yet, and adds the columns a newer tapflow added to tables an older one
// created (ALTER TABLE ... ADD COLUMN, on the local and the query table).
// It is idempotent and never drops or changes an existing column.
func (db *DB) EnsureSchema(ctx context.Context) error {
	for _, name := range []string{FlowLogDB, FlowMetricsDB} {
		if err := db.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(db.Database(name))); err != nil {
			return fmt.Errorf("create database %s: %w", db.Database(name), err)
		}
	}
	cluster, err := db.clusterOrEmpty(ctx)
	if err != nil {
		return err
	}
	for _, t := range tables {
		database := db.Database(t.db)
		for _, ddl := range []string{
			createLocalTable(database, t.name, t.cols, t.orderBy, db.feat, db.cfg.Retention),
			createQueryTable(database, t.name, cluster),
		} {
			if err := db.Exec(ctx, ddl); err != nil {
				return fmt.Errorf("create table in %s: %w\n%s", database, err, ddl)
			}
		}
		for _, name := range []string{t.name + "_local", t.name} {
			if err := db.addMissingColumns(ctx, database, name, t.cols); err != nil {
				return err
			}
		}
	}
	db.logger.Info("schema ready", "databases", []string{db.Database(FlowLogDB), db.Database(FlowMetricsDB)},
		"tables", len(tables), "cluster", cluster, "ttl", db.feat.ttl, "version", db.version.Raw)
	return nil
}

// addMissingColumns adds to database.table the columns of cols it lacks,
// each after its predecessor in cols. A query table (Distributed or Merge)
// gets the plain type, without codec.
func (db *DB) addMissingColumns(ctx context.Context, database, table string, cols []column) error {
	q := "SELECT name FROM system.columns WHERE database = " + quoteString(database) + " AND table = " + quoteString(table)
	rows, err := db.conn.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("list columns of %s.%s: %w", database, table, asServerError(err))
	}
	have := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return fmt.Errorf("list columns of %s.%s: %w", database, table, err)
		}
		have[name] = true
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return fmt.Errorf("list columns of %s.%s: %w", database, table, asServerError(err))
	}
	f := db.feat
	if !strings.HasSuffix(table, "_local") {
		f.codecs = false
	}
	for i, c := range cols {
		if have[c.name] {
			continue
		}
		ddl := fmt.Sprintf("ALTER TABLE %s.%s ADD COLUMN %s %s", quoteIdent(database), quoteIdent(table), c.name, colType(c.kind, f))
		if i > 0 {
			ddl += " AFTER " + cols[i-1].name
		}
		if err := db.Exec(ctx, ddl); err != nil {
			return fmt.Errorf("add column %s to %s.%s: %w", c.name, database, table, err)
		}
		db.logger.Info("added column", "database", database, "table", table, "column", c.name)
	}
	return nil
}

// clusterOrEmpty returns cfg.Cluster if the server defines it, else "" and
// logs that the query tables will be Merge tables.
func (db *DB) clusterOrEmpty(ctx context.Context) (string, error) {
	var n uint64
	q := "SELECT count() FROM system.clusters WHERE cluster = " + quoteString(db.cfg.Cluster)
	if err := db.conn.QueryRow(ctx, q).Scan(&n); err != nil {
		return "", fmt.Errorf("look up cluster %s: %w", db.cfg.Cluster, asServerError(err))
	}
	if n == 0 {
		db.logger.Warn("cluster not defined on the server; query tables are Merge tables over the local ones",
			"cluster", db.cfg.Cluster)
		return "", nil
	}
	return db.cfg.Cluster, nil
}

// Partition is one partition of a tapflow table.
type Partition struct {
	Database, Table, ID string
	MaxTime             time.Time
	Rows                uint64
}

// DropOldPartitions drops every partition of the tapflow *_local tables
// whose newest row is older than before, and returns what it dropped. It is
// the retention mechanism on servers without TTL (18.16) and works on all.
func (db *DB) DropOldPartitions(ctx context.Context, before time.Time) ([]Partition, error) {
	q := fmt.Sprintf(`SELECT database, table, partition_id, max(max_time) AS newest, sum(rows)
FROM system.parts
WHERE active AND database IN (%s, %s) AND endsWith(table, '_local')
GROUP BY database, table, partition_id
HAVING newest < toDateTime(%d)
ORDER BY database, table, partition_id`,
		quoteString(db.Database(FlowLogDB)), quoteString(db.Database(FlowMetricsDB)), before.Unix())
	rows, err := db.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list old partitions: %w", asServerError(err))
	}
	var old []Partition
	for rows.Next() {
		var p Partition
		if err := rows.Scan(&p.Database, &p.Table, &p.ID, &p.MaxTime, &p.Rows); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list old partitions: %w", err)
		}
		old = append(old, p)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, fmt.Errorf("list old partitions: %w", asServerError(err))
	}
	rows.Close()
	var dropped []Partition
	for _, p := range old {
		ddl := fmt.Sprintf("ALTER TABLE %s.%s DROP PARTITION ID %s", quoteIdent(p.Database), quoteIdent(p.Table), quoteString(p.ID))
		if err := db.Exec(ctx, ddl); err != nil {
			return dropped, fmt.Errorf("drop partition %s of %s.%s: %w", p.ID, p.Database, p.Table, err)
		}
		db.logger.Info("dropped old partition", "database", p.Database, "table", p.Table,
			"partition", p.ID, "rows", p.Rows)
		dropped = append(dropped, p)
	}
	return dropped, nil
}

// quoteIdent quotes a ClickHouse identifier with backquotes.
func quoteIdent(s string) string {
	return "`" + strings.NewReplacer(`\`, `\\`, "`", "\\`").Replace(s) + "`"
}

// quoteString quotes a ClickHouse string literal.
func quoteString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
