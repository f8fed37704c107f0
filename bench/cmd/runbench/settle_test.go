package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tapflow/tapflow/storage/chserver"
)

// TestSettleServer fills a flow_* table of a real server over several
// inserts (parts to merge) and requires settleServer to leave it empty
// with no merge running, and to leave other databases alone.
func TestSettleServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := chserver.Start(ctx, chserver.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	addr := srv.HTTPAddr()
	for _, q := range []string{
		"CREATE DATABASE flow_settle",
		"CREATE TABLE flow_settle.t (d Date, n UInt64) ENGINE = MergeTree(d, n, 8192)",
		"CREATE TABLE default.keep (d Date, n UInt64) ENGINE = MergeTree(d, n, 8192)",
		"INSERT INTO default.keep SELECT today(), number FROM system.numbers LIMIT 10",
	} {
		mustQuery(ctx, t, addr, q)
	}
	for range 5 {
		mustQuery(ctx, t, addr, "INSERT INTO flow_settle.t SELECT today(), number FROM system.numbers LIMIT 100000")
	}
	if err := settleServer(ctx, addr); err != nil {
		t.Fatal(err)
	}
	if n := mustQuery(ctx, t, addr, "SELECT count() FROM flow_settle.t"); n != "0" {
		t.Errorf("flow_settle.t holds %s rows after settling", n)
	}
	if n := mustQuery(ctx, t, addr, "SELECT count() FROM system.merges"); n != "0" {
		t.Errorf("%s merges running after settling", n)
	}
	if n := mustQuery(ctx, t, addr, "SELECT count() FROM default.keep"); n != "10" {
		t.Errorf("settling touched default.keep: %s rows", n)
	}
}

func mustQuery(ctx context.Context, t *testing.T, addr, q string) string {
	t.Helper()
	out, err := chQuery(ctx, addr, q)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// TestStopRemovesData: stopping the benchmark's server removes its data
// directory, so no gigabytes of a run's rows stay behind in build/ for the
// next run to delete first; a server never started leaves the directory be.
func TestStopRemovesData(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "clickhouse")
	var progress strings.Builder
	c := &clickhouse{dir: dir, logger: slog.New(slog.DiscardHandler), progress: &progress}
	c.stop() // not started: nothing to do
	addr, err := c.addr()
	if err != nil {
		t.Fatal(err)
	}
	if addr == "" {
		t.Fatal("no address")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("data directory missing while the server runs: %v", err)
	}
	c.stop()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("data directory still there after stop: %v", err)
	}
}
