//go:build race

package tls_test

// raceEnabled: the race detector inflates allocation counts.
const raceEnabled = true
