package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGoodConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/*.good.yml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := loadConfig(f)
			require.NoError(t, err)
		})
	}
}

func TestBadConfigs(t *testing.T) {
	for file, want := range map[string]string{
		"unknown-key.bad.yml": "field intrefaces not found",
		"engine.bad.yml":      "capture.engine",
		"no-iface.bad.yml":    "capture.interfaces",
		"workers.bad.yml":     "dataplane.workers",
		"dissectors.bad.yml":  "dissectors.max_in_flight",
	} {
		t.Run(file, func(t *testing.T) {
			_, err := loadConfig(filepath.Join("testdata", file))
			require.ErrorContains(t, err, want)
		})
	}
}

// TestPrintDefaultRoundTrips checks that `config print-default` is a valid
// config file: what it prints loads back (apart from needing interfaces).
func TestPrintDefaultRoundTrips(t *testing.T) {
	var out bytes.Buffer
	cmd := newRoot()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"config", "print-default"})
	require.NoError(t, cmd.Execute())
	path := filepath.Join(t.TempDir(), "default.yml")
	b := bytes.Replace(out.Bytes(), []byte("interfaces: []"), []byte("interfaces: [eth1]"), 1)
	require.NoError(t, writeFile(path, b))
	cfg, err := loadConfig(path)
	require.NoError(t, err)
	require.Equal(t, []string{"eth1"}, cfg.Capture.Interfaces)
	require.Equal(t, defaultConfig().Storage, cfg.Storage)
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o644) }
