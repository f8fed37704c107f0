//go:build !race

package dtest

const raceEnabled = false
