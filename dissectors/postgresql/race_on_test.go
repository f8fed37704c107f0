//go:build race

package postgresql_test

const raceEnabled = true
