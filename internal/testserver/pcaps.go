package testserver

import (
	"os"
	"path/filepath"
	"testing"
)

// Pcaps returns the directory of a shared capture corpus
// (../shared/pcaps/<name> beside the module root, e.g. "ndpi" or
// "tcpdump"). A missing corpus skips the test loudly on a developer machine
// and fails it in CI.
func Pcaps(tb testing.TB, name string) string {
	tb.Helper()
	dir := filepath.Join(moduleRoot(), "..", "shared", "pcaps", name)
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("capture corpus %s missing in CI: %v", dir, err)
		}
		tb.Skipf("SKIP (loud): capture corpus %s missing: %v", dir, err)
	}
	return dir
}

// moduleRoot is the nearest directory above the working directory (a test's
// package directory) that holds go.mod.
func moduleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return "."
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}
