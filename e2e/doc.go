// Package e2e holds end-to-end tests that build the tapflow binary and run it
// as a separate process against the shared capture corpora in
// ../shared/pcaps (relative to the repository root).
//
// The tests sit at the end of the pipeline: they feed whole pcap/pcapng files
// to `tapflow replay FILE --print l4` and judge only what the binary prints,
// so they hold every stage (capture reader, decoder, flow table, printer) to
// the command's contract, not to any package's API.
//
//   - TestNDPIFlowAccuracy compares tapflow's flows with the flows nDPI's
//     ndpiReader lists in ../shared/pcaps/ndpi/expected/*.out, prints the
//     share with equal packet counts and writes every difference, grouped by
//     cause, to $TMPDIR/tapflow-e2e-ndpi-mismatches.txt (to
//     testdata/ndpi-mismatches.txt with -update).
//   - TestNDPIL4Contract checks each record of the same replays against the
//     l4 contract (packets present, end_time not before start_time…).
//   - TestBadInput* replay truncated, garbage, empty and unreadable files and
//     the whole tcpdump corpus, and require a clean exit (0 or 1) and never a
//     Go panic.
//
// The only non-test code is the parser for ndpiReader's text output
// (ndpiout.go). It allocates freely: it runs in tests, not on the hot path.
//
// TestMain builds ./cmd/tapflow once; TAPFLOW_BIN names a prebuilt binary to
// test instead, and TAPFLOW_PCAPS a pcaps folder other than ../shared/pcaps.
// A missing corpus or a missing cmd/tapflow skips loudly when run locally and
// fails when the CI environment variable is set.
package e2e
