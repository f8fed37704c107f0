// Package chserver runs a local ClickHouse server as a child process for
// `tapflow appliance` (the embedded store) and for tests
// (internal/testserver).
//
// Place in the pipeline: it feeds nothing and is fed nothing; it only
// provides the ClickHouse that storage/clickhouse writes to and the query
// package reads from.
//
// Start writes config.xml and users.xml (root element <yandex>, which every
// ClickHouse from 18.16 to today reads) into Options.DataDir, listens on
// 127.0.0.1 only, keeps data, tmp and logs under DataDir, defines a user
// `default` without password and a one-node cluster `tapflow` (used by the
// Distributed tables of storage/clickhouse), then starts the server and
// returns once a native-protocol connection succeeds.
//
// Invariants:
//   - At most one server per DataDir: Start refuses (ErrAlreadyRunning) when
//     the pid file DataDir/clickhouse-server.pid names a live ClickHouse
//     process, unless Options.Reuse asks to attach to it. A stale pid file is
//     removed.
//   - On Linux the child gets SIGTERM when the process that started it dies,
//     so a crashed appliance or test binary does not leak a server.
//   - Stop is idempotent; it sends SIGTERM, waits, and kills after
//     Options.StopTimeout. A server attached with Reuse is never stopped.
package chserver
