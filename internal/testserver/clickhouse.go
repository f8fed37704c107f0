package testserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tapflow/tapflow/storage/chserver"
)

// ClickHouse starts a dedicated ClickHouse for t and returns its native
// address "127.0.0.1:port". The server is stopped in t.Cleanup.
func ClickHouse(t testing.TB) string {
	t.Helper()
	return ClickHouseServer(t, chserver.Options{}).Addr()
}

// ClickHouseServer starts a dedicated ClickHouse with opts (DataDir defaults
// to t.TempDir(), ports to free ones) and stops it in t.Cleanup. The caller
// may Stop it earlier and start it again with chserver.Start on the same
// DataDir and ports.
func ClickHouseServer(t testing.TB, opts chserver.Options) *chserver.Server {
	t.Helper()
	requireBinary(t, opts.Binary)
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	srv, err := startRetry(opts)
	if err != nil {
		t.Fatalf("testserver: start clickhouse: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("testserver: stop clickhouse: %v", err)
		}
	})
	return srv
}

// startRetry starts a server, retrying when a port picked as free was taken
// before the server bound it.
func startRetry(opts chserver.Options) (*chserver.Server, error) {
	var err error
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		var srv *chserver.Server
		srv, err = chserver.Start(ctx, opts)
		cancel()
		if err == nil {
			return srv, nil
		}
		if opts.TCPPort != 0 || !strings.Contains(err.Error(), "Address already in use") {
			return nil, err
		}
	}
	return nil, err
}

// requireBinary skips t (locally) or fails it (CI set) when no ClickHouse
// server binary is installed.
func requireBinary(t testing.TB, bin string) {
	t.Helper()
	if _, err := chserver.FindBinary(bin); err != nil {
		msg := fmt.Sprintf("!!! testserver: %v: this test needs a real ClickHouse; install it with `apt-get install -y clickhouse-server clickhouse-client` !!!", err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

var shared struct {
	once sync.Once
	dir  string
	srv  *chserver.Server
	err  error
}

// Shared returns the address of the ClickHouse shared by every test of this
// test binary, starting it on first use. Tests must not stop it and should
// keep to databases named with UniqueName. Pair it with Main in TestMain.
func Shared(t testing.TB) string {
	t.Helper()
	requireBinary(t, "")
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "tapflow-clickhouse-")
		if shared.err != nil {
			return
		}
		shared.srv, shared.err = startRetry(chserver.Options{DataDir: shared.dir})
		if shared.err != nil {
			_ = os.RemoveAll(shared.dir)
		}
	})
	if shared.err != nil {
		t.Fatalf("testserver: start shared clickhouse: %v", shared.err)
	}
	return shared.srv.Addr()
}

// StopShared stops the shared server, if it was started, and removes its
// directory. Main calls it; it is exported for TestMains that need their
// own order.
func StopShared() error {
	if shared.srv == nil {
		return nil
	}
	err := shared.srv.Stop()
	shared.srv = nil
	return errors.Join(err, os.RemoveAll(shared.dir))
}

// Main runs the tests, stops the shared server, then runs checks (such as
// goleak.Find) when the tests passed, and exits. Call it from TestMain.
func Main(m *testing.M, checks ...func() error) {
	code := m.Run()
	if err := StopShared(); err != nil {
		fmt.Fprintln(os.Stderr, "testserver:", err)
		code = 1
	}
	if code == 0 {
		for _, check := range checks {
			if err := check(); err != nil {
				fmt.Fprintln(os.Stderr, "testserver: post-test check:", err)
				code = 1
			}
		}
	}
	os.Exit(code)
}

var (
	nameSeq    atomic.Int64
	nameUnsafe = regexp.MustCompile(`[^a-z0-9_]+`)
)

// UniqueName returns an identifier unique within the test binary and safe
// as a ClickHouse database name or prefix: "t<n>_<test name>".
func UniqueName(t testing.TB) string {
	name := nameUnsafe.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	return fmt.Sprintf("t%d_%s", nameSeq.Add(1), strings.Trim(name, "_"))
}
