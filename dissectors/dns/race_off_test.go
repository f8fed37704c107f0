//go:build !race

package dns_test

// raceEnabled: the race detector inflates allocation counts.
const raceEnabled = false
