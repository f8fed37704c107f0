// Package bench measures tapflow against the tools network teams would
// otherwise run, on the same capture, on the same machine, in the same run.
//
// It sits outside the pipeline: it builds a deterministic corpus from the
// shared captures (BuildCorpus), runs tapflow and each peer tool over it as
// separate processes pinned to one core (Offline), replays a slice of it
// into a veth in network namespaces for the live comparison (Live), and
// measures the cost curves (workers, memory per active flow, ClickHouse
// batch size). Results are rendered as Markdown tables and a PNG bar chart.
//
// Speed claims are ratios against a peer measured side by side; nothing in
// this package asserts a wall-clock time in tests.
package bench
