package bench

import (
	"fmt"
	"os"
	"path/filepath"
)

// RepoRoot is the nearest parent of the working directory holding go.mod:
// the bench commands find the corpus, build/ and ../shared from it.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s: run it from the repository", dir)
		}
	}
}
