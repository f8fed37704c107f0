// Package clickhouse is tapflow's ClickHouse store: connection (Open), schema
// (EnsureSchema, retention), the batch writer for flow records (Writer) and
// generic read queries for the query package (DB.Query).
//
// Place in the pipeline: flowtable hands batches of flowtable.FlowRecord to
// Writer.Write; the writer inserts them into flow_log.l4_flow_log_local;
// query (/v1/query) and the console read through DB.Query.
//
// Schema (architecture §5): every table is a `<name>_local` MergeTree,
// PARTITION BY toStartOfHour(time), ORDER BY (time, ...), plus a table
// `<name>` that queries use: a Distributed table over the cluster named by
// Config.Cluster ("tapflow", the one-node cluster storage/chserver defines),
// or, when the server has no such cluster, a Merge table over the local one.
// Writers always insert into `<name>_local`. The DDL depends on the server
// version (Version): from 19.x on it uses IPv4/IPv6 column types, TTL and
// codecs; on 18.16 it uses UInt32/FixedString(16) and no TTL, and retention
// is DropOldPartitions.
//
// Compatibility with ClickHouse 18.16: every INSERT names its columns, the
// native protocol is the only transport, query settings are integers, and
// `INSERT ... VALUES` is never sent through Exec (it hangs on 18.16).
//
// Writer invariants: Write never blocks on I/O (a full queue counts drops);
// one goroutine per table inserts; one batch is one INSERT; a batch that
// cannot be inserted goes to a disk spool and is replayed in order, and a
// spooled batch is deleted only after its INSERT succeeded. A batch whose
// INSERT outcome is unknown (the connection broke after the data was sent,
// or the process died) is checked against the table before it is replayed,
// so nothing is lost and nothing is written twice.
package clickhouse
