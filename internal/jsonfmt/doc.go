// Package jsonfmt formats the numbers and times of the JSON lines that
// `replay --print` writes (flow records and l7_flow_log rows), in place and
// without allocating: printing is a large part of a replay's cost.
package jsonfmt
