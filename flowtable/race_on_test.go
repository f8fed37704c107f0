//go:build race

package flowtable

// raceEnabled is true when tests run with -race; allocation counts are not
// asserted then.
const raceEnabled = true
