// Package testserver starts real dependencies for tests: today a local
// ClickHouse (storage/chserver) in a temporary directory on free ports.
//
// A missing binary skips the test loudly when run locally and fails it when
// the environment variable CI is set, so CI can never pass by skipping.
//
// Two ways to get a ClickHouse:
//   - ClickHouse / ClickHouseServer start a dedicated server for one test and
//     stop it in t.Cleanup. Use them when the test stops or restarts the
//     server.
//   - Shared starts one server per test binary on first use. Tests isolate
//     themselves with UniqueName (a database name or prefix of their own).
//     The package's TestMain must call Main so the server is stopped after
//     the last test; without it the server still dies with the test binary
//     (Pdeathsig on Linux) but its temporary directory is left behind.
package testserver
