package chserver_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/tapflow/tapflow/internal/testserver"
	"github.com/tapflow/tapflow/storage/chserver"
)

func TestMain(m *testing.M) {
	testserver.Main(m, func() error { return goleak.Find() })
}

func ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func exec(t *testing.T, addr, sql string) {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}})
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.Exec(ctx(t), sql))
}

func count(t *testing.T, addr, sql string) uint64 {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}})
	require.NoError(t, err)
	defer conn.Close()
	var n uint64
	require.NoError(t, conn.QueryRow(ctx(t), sql).Scan(&n))
	return n
}

func TestStartStopRestart(t *testing.T) {
	dir := t.TempDir()
	srv := testserver.ClickHouseServer(t, chserver.Options{DataDir: dir})
	require.NotEmpty(t, srv.Version())
	require.FileExists(t, filepath.Join(dir, "config.xml"))
	require.FileExists(t, filepath.Join(dir, "users.xml"))
	require.FileExists(t, filepath.Join(dir, "clickhouse-server.pid"))
	t.Logf("clickhouse %s on %s, pid %d", srv.Version(), srv.Addr(), srv.PID())

	// The one-node cluster the Distributed tables use.
	require.Equal(t, uint64(1), count(t, srv.Addr(), "SELECT count() FROM system.clusters WHERE cluster = 'tapflow'"))
	exec(t, srv.Addr(), "CREATE TABLE default.kept (a UInt8) ENGINE = MergeTree ORDER BY a")
	// INSERT ... VALUES through Exec hangs on 18.16: use INSERT ... SELECT.
	exec(t, srv.Addr(), "INSERT INTO default.kept (a) SELECT toUInt8(number) FROM system.numbers LIMIT 2")

	require.NoError(t, srv.Stop())
	require.NoError(t, srv.Stop(), "Stop is idempotent")
	require.NoFileExists(t, filepath.Join(dir, "clickhouse-server.pid"))
	_, err := net.DialTimeout("tcp", srv.Addr(), time.Second)
	require.Error(t, err, "port must be closed after Stop")

	// Same directory and port: the data survives.
	srv2 := testserver.ClickHouseServer(t, chserver.Options{DataDir: dir, TCPPort: srv.TCPPort()})
	require.Equal(t, srv.Addr(), srv2.Addr())
	require.Equal(t, uint64(2), count(t, srv2.Addr(), "SELECT count() FROM default.kept"))
}

func TestAlreadyRunning(t *testing.T) {
	dir := t.TempDir()
	srv := testserver.ClickHouseServer(t, chserver.Options{DataDir: dir})

	_, err := chserver.Start(context.Background(), chserver.Options{DataDir: dir})
	require.ErrorIs(t, err, chserver.ErrAlreadyRunning)
	require.Contains(t, err.Error(), fmt.Sprint(srv.PID()))

	again, err := chserver.Start(context.Background(), chserver.Options{DataDir: dir, Reuse: true})
	require.NoError(t, err)
	require.Equal(t, srv.Addr(), again.Addr())
	require.Equal(t, srv.PID(), again.PID())
	require.NoError(t, again.Stop(), "stopping an attached server is a no-op")
	require.Equal(t, uint64(1), count(t, srv.Addr(), "SELECT count() FROM system.one"))
}

func TestStalePIDFile(t *testing.T) {
	dir := t.TempDir()
	// A pid that is certainly not a clickhouse: ours is a Go test binary.
	stale := fmt.Sprintf("%d\n1\n2\n", os.Getpid())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "clickhouse-server.pid"), []byte(stale), 0o640))
	srv := testserver.ClickHouseServer(t, chserver.Options{DataDir: dir})
	require.NotEqual(t, os.Getpid(), srv.PID())
}

func TestStartErrors(t *testing.T) {
	testserver.ClickHouseServer(t, chserver.Options{}).Stop() // skips or fails like every test without a binary

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port

	tests := []struct {
		name    string
		opts    chserver.Options
		wantErr error
		wantMsg string
	}{
		{
			name:    "missing binary",
			opts:    chserver.Options{DataDir: t.TempDir(), Binary: "/nonexistent/clickhouse-server"},
			wantErr: chserver.ErrBinaryNotFound,
		},
		{
			name:    "no data dir",
			opts:    chserver.Options{},
			wantMsg: "DataDir is required",
		},
		{
			name:    "port in use",
			opts:    chserver.Options{DataDir: t.TempDir(), TCPPort: busyPort, StartTimeout: 20 * time.Second},
			wantErr: chserver.ErrNotReady,
			wantMsg: "--- tail of",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := chserver.Start(context.Background(), tc.opts)
			if srv != nil {
				_ = srv.Stop()
			}
			require.Error(t, err)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
			}
			require.Contains(t, err.Error(), tc.wantMsg)
			if tc.opts.DataDir != "" {
				require.NoFileExists(t, filepath.Join(tc.opts.DataDir, "clickhouse-server.pid"))
			}
		})
	}
}
