// Package dtest is the test harness every dissector package shares: it reads
// a capture into payload packets with their direction, runs a Dissector over
// them the way the engine does (Check until a flow is identified, then
// Parse), compares the records with a golden file (Goldens, NotClaimed), and
// provides what the table tests, benchmarks and fuzz targets of every
// package have in common: Parse and Records.Require (or JSON) for a payload's
// records, BenchCases and BenchPcap, Fuzz (over Invariants) and NoAllocs.
// Test code only.
package dtest
