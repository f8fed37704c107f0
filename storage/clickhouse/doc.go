// Package clickhouse is tapflow's ClickHouse store: connection (Open), schema
// (EnsureSchema, retention), the batch writers for flow records (Writer), for
// L7 request logs (L7Writer) and for the aggregates flowtable computes
// (MetricsWriter), and generic read queries for the query package
// (DB.Query).
//
// Place in the pipeline: flowtable hands batches of flowtable.FlowRecord to
// Writer.Write, which inserts them into flow_log.l4_flow_log_local, and
// batches of flowtable.MetricRow to MetricsWriter.Write, which inserts them
// into flow_metrics.`network.1s_local`, `network.1m_local`,
// `network_map.1s_local` and `network_map.1m_local`; the L7 engine hands
// batches of dissectors.Log to L7Writer.Write, which inserts them into
// flow_log.l7_flow_log_local; query (/v1/query) and the console read
// through DB.Query.
//
// The aggregate tables are plain MergeTree and one (time, key) may have
// several rows (one per dataplane worker, and rows for a past second when a
// flow that ended late is counted there), so every query sums: SELECT
// sum(packets_tx), sum(rtt_sum_us) / sum(rtt_count), max(rtt_max_us) ...
// GROUP BY. Not SummingMergeTree: it would sum the max columns, and 18.16
// has no SimpleAggregateFunction; and a collapsing engine would also merge
// away the rows the unfinished-batch check below looks for. The writer sums
// the rows of one batch that share table, time and key before inserting, so
// the extra rows are few.
//
// Schema (architecture §5): every table is a `<name>_local` MergeTree,
// PARTITION BY toStartOfHour(time), ORDER BY (time, ...), plus a table
// `<name>` that queries use: a Distributed table over the cluster named by
// Config.Cluster ("tapflow", the one-node cluster storage/chserver defines),
// or, when the server has no such cluster, a Merge table over the local one.
// Writers always insert into `<name>_local`. The DDL depends on the server
// version (Version): from 19.x on it uses IPv4/IPv6 column types, TTL,
// LowCardinality, and from 20.1 on codecs and DateTime64; on 18.16 it uses
// UInt32/FixedString(16), String, DateTime and no TTL, and retention is
// DropOldPartitions. A table has the same columns on every version.
//
// Compatibility with ClickHouse 18.16: every INSERT names its columns, the
// native protocol is the only transport, query settings are integers, and
// `INSERT ... VALUES` is never sent through Exec (it hangs on 18.16).
//
// Writer invariants (one engine for every table, with a codec per row type:
// columns, spool record, identity): Write never blocks on I/O (a full queue
// counts drops); one goroutine per table inserts; one batch is one INSERT; a
// batch that cannot be inserted goes to a disk spool and is replayed in
// order, and a spooled batch is deleted only after its INSERT succeeded. A
// batch whose INSERT outcome is unknown (the connection broke after the data
// was sent, or the process died) is checked against the table before it is
// replayed (flow records on (flow_id, start, end), L7 logs on every column
// the dissector sets, aggregate rows on every column, as multisets), so
// nothing is lost and nothing is written twice.
package clickhouse
