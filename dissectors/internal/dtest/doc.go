// Package dtest is the test harness every dissector package shares: it reads
// a capture into payload packets with their direction, runs a Dissector over
// them the way the engine does (Check until a flow is identified, then
// Parse), compares the records with a golden file, and provides the fuzz and
// allocation checks. Test code only.
package dtest
