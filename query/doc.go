// Package query serves read-only SQL over the flow tables: the HTTP handler
// for POST /v1/query (architecture §7), the HTTP Client used by
// `tapflow query`, and Result.WriteTable that prints a result as an aligned
// text table.
//
// Place in the pipeline: storage/clickhouse (DB.Query, through the Querier
// interface declared here) feeds it; the console (web/) and the CLI read it.
//
// Invariants:
//   - Only one read statement runs: CheckReadOnly admits SELECT, SHOW,
//     DESCRIBE/DESC, EXISTS and WITH ... SELECT, rejects anything after a
//     `;` outside strings and comments, and the storage side runs the query
//     with readonly=2, so a statement that slips past the check still cannot
//     write.
//   - Every query is bounded: max_execution_time (Config.Timeout) on the
//     server and Config.MaxRows rows in the response, with "truncated": true
//     when there were more.
//   - Bad input (a non-read statement, bad SQL, an unknown database) is a
//     400 with {"error": "..."} carrying the server's message; an unreachable
//     ClickHouse is a 502, a client-side timeout a 504. Nothing panics.
//
// Response JSON: {"columns": [...], "types": [...], "values": [[...], ...],
// "truncated": bool}. Numbers are JSON numbers (UInt64 exactly, as digits),
// DateTime is RFC 3339, Date is YYYY-MM-DD, IPv4/IPv6 are text, a
// FixedString(16) that is not printable text is shown as an IPv6 address
// (it is one in l4_flow_log on 18.16), NaN and infinities are the strings
// "nan", "inf", "-inf", Decimal is a JSON number, NULL is null.
package query
