//go:build race

package dtest

// raceEnabled: the race detector inflates allocation counts.
const raceEnabled = true
