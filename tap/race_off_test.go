//go:build !race

package tap_test

// raceEnabled skips allocation counts, which the race detector inflates.
const raceEnabled = false
