package chserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// Options configure Start.
type Options struct {
	// DataDir holds config, data, tmp and logs. Required.
	DataDir string
	// TCPPort is the native-protocol port; 0 picks a free port.
	TCPPort int
	// HTTPPort is the HTTP port; 0 picks a free port.
	HTTPPort int
	// Binary is the server executable: a clickhouse-server, or the
	// multi-call `clickhouse` binary (run as `clickhouse server`). Empty
	// searches $PATH and /usr/sbin, /usr/bin.
	Binary string
	// Logger receives start/stop events; nil discards them.
	Logger *slog.Logger
	// StartTimeout bounds the wait for the first native connection
	// (default 30s).
	StartTimeout time.Duration
	// StopTimeout bounds the wait after SIGTERM before SIGKILL (default 30s).
	StopTimeout time.Duration
	// Reuse attaches to a server already running for DataDir instead of
	// failing with ErrAlreadyRunning. The attached server is not stopped by
	// Stop.
	Reuse bool
	// LogLevel of the server's own log (default "warning").
	LogLevel string
	// MaxMemoryUsage per query in bytes (default 4 GiB).
	MaxMemoryUsage int64
}

// Server is a running clickhouse-server.
type Server struct {
	opts     Options
	layout   layout
	logger   *slog.Logger
	tcpPort  int
	httpPort int
	version  string
	pid      int

	cmd     *exec.Cmd // nil when attached with Reuse
	exited  chan struct{}
	waitErr error // set before exited is closed

	stopOnce sync.Once
	stopErr  error
}

// Start writes the server's config into opts.DataDir, starts it and waits
// until it accepts a native connection. The context bounds only the start;
// the server runs until Stop.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.DataDir == "" {
		return nil, errors.New("chserver: Options.DataDir is required")
	}
	dir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("chserver: data dir: %w", err)
	}
	opts.DataDir = dir
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 30 * time.Second
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = 30 * time.Second
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "warning"
	}
	if opts.MaxMemoryUsage <= 0 {
		opts.MaxMemoryUsage = 4 << 30
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		opts:   opts,
		layout: newLayout(dir),
		logger: logger.With("component", "chserver", "data_dir", dir),
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("chserver: create data dir: %w", err)
	}

	if pf, ok := readPIDFile(s.layout.PIDFile); ok {
		if processAlive(pf.pid, s.layout.ConfigFile) {
			if !opts.Reuse {
				return nil, fmt.Errorf("chserver: %w: pid %d on 127.0.0.1:%d (pid file %s)",
					ErrAlreadyRunning, pf.pid, pf.tcpPort, s.layout.PIDFile)
			}
			return s.attach(ctx, pf)
		}
		s.logger.Info("removing stale pid file", "pid", pf.pid)
		if err := os.Remove(s.layout.PIDFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("chserver: remove stale pid file: %w", err)
		}
	}

	bin, args, err := findBinary(opts.Binary)
	if err != nil {
		return nil, err
	}
	if s.tcpPort, err = portOrFree(opts.TCPPort); err != nil {
		return nil, err
	}
	if s.httpPort, err = portOrFree(opts.HTTPPort); err != nil {
		return nil, err
	}
	if err := writeConfig(configData{
		L: s.layout, TCPPort: s.tcpPort, HTTPPort: s.httpPort,
		LogLevel: opts.LogLevel, MaxMemoryUsage: opts.MaxMemoryUsage,
	}); err != nil {
		return nil, fmt.Errorf("chserver: %w", err)
	}
	// Logs of a previous run would make the error tail misleading.
	for _, f := range []string{s.layout.ErrLogFile, s.layout.StdoutFile} {
		_ = os.Remove(f)
	}
	out, err := os.OpenFile(s.layout.StdoutFile, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return nil, fmt.Errorf("chserver: open stdout log: %w", err)
	}
	defer out.Close() // the child keeps its own descriptor

	args = append(args, "--config-file="+s.layout.ConfigFile)
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = sysProcAttr()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("chserver: start %s: %w", bin, err)
	}
	s.cmd = cmd
	s.pid = cmd.Process.Pid
	s.exited = make(chan struct{})
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	if err := writePIDFile(s.layout.PIDFile, pidFile{pid: s.pid, tcpPort: s.tcpPort, httpPort: s.httpPort}); err != nil {
		s.kill()
		return nil, fmt.Errorf("chserver: %w", err)
	}
	if err := s.waitReady(ctx); err != nil {
		s.kill()
		_ = os.Remove(s.layout.PIDFile)
		return nil, err
	}
	s.logger.Info("clickhouse server started", "pid", s.pid, "addr", s.Addr(),
		"version", s.version, "binary", bin, "startup_seconds", time.Since(start).Seconds())
	return s, nil
}

// attach returns a Server for a running server found through its pid file.
func (s *Server) attach(ctx context.Context, pf pidFile) (*Server, error) {
	s.pid, s.tcpPort, s.httpPort = pf.pid, pf.tcpPort, pf.httpPort
	ctx, cancel := context.WithTimeout(ctx, s.opts.StartTimeout)
	defer cancel()
	v, err := ping(ctx, s.Addr())
	if err != nil {
		return nil, fmt.Errorf("chserver: attach to pid %d on %s: %w", pf.pid, s.Addr(), err)
	}
	s.version = v
	s.logger.Info("attached to running clickhouse server", "pid", s.pid, "addr", s.Addr(), "version", v)
	return s, nil
}

// waitReady polls the native port until a query succeeds, the process exits,
// or the start timeout or ctx ends.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.StartTimeout)
	defer cancel()
	var lastErr error
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("chserver: %w: process exited (%v)%s", ErrNotReady, s.waitErr, s.logTail())
		default:
		}
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		v, err := ping(pctx, s.Addr())
		pcancel()
		if err == nil {
			s.version = v
			return nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("chserver: %w within %s on %s: %v%s",
				ErrNotReady, s.opts.StartTimeout, s.Addr(), lastErr, s.logTail())
		case <-s.exited:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ping opens a native connection, runs SELECT version() and closes it.
func ping(ctx context.Context, addr string) (string, error) {
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:         []string{addr},
		DialTimeout:  time.Second,
		ReadTimeout:  5 * time.Second,
		MaxOpenConns: 1,
		MaxIdleConns: 1,
	})
	if err != nil {
		return "", err
	}
	defer conn.Close()
	var v string
	if err := conn.QueryRow(ctx, "SELECT version()").Scan(&v); err != nil {
		return "", err
	}
	return v, nil
}

// logTail returns the end of the server's error log and stdout, prefixed
// with a newline, for error messages.
func (s *Server) logTail() string {
	var b strings.Builder
	for _, f := range []string{s.layout.ErrLogFile, s.layout.StdoutFile} {
		t := tailFile(f, 2048)
		if t == "" {
			continue
		}
		fmt.Fprintf(&b, "\n--- tail of %s ---\n%s", f, t)
	}
	return b.String()
}

func tailFile(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(st.Size()-n, 0)
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(f)
	s := string(b)
	if off > 0 {
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
	}
	return strings.TrimRight(s, "\n")
}

// Addr returns the native-protocol address, "127.0.0.1:port".
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.tcpPort)) }

// HTTPAddr returns the HTTP address, "127.0.0.1:port".
func (s *Server) HTTPAddr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.httpPort)) }

// TCPPort returns the native-protocol port.
func (s *Server) TCPPort() int { return s.tcpPort }

// HTTPPort returns the HTTP port.
func (s *Server) HTTPPort() int { return s.httpPort }

// PID returns the server's process id.
func (s *Server) PID() int { return s.pid }

// Version returns the server's SELECT version(), e.g. "18.16.1".
func (s *Server) Version() string { return s.version }

// DataDir returns the absolute data directory.
func (s *Server) DataDir() string { return s.layout.DataDir }

// Stop sends SIGTERM, waits up to Options.StopTimeout, then kills the
// process, and removes the pid file. It is safe to call more than once; a
// server attached with Options.Reuse is left running.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		if s.cmd == nil {
			return
		}
		start := time.Now()
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			s.stopErr = fmt.Errorf("chserver: signal pid %d: %w", s.pid, err)
		}
		select {
		case <-s.exited:
		case <-time.After(s.opts.StopTimeout):
			s.logger.Warn("clickhouse server ignored SIGTERM, killing", "pid", s.pid,
				"waited_seconds", s.opts.StopTimeout.Seconds())
			s.kill()
		}
		if err := os.Remove(s.layout.PIDFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.stopErr = errors.Join(s.stopErr, fmt.Errorf("chserver: remove pid file: %w", err))
		}
		s.logger.Info("clickhouse server stopped", "pid", s.pid, "stop_seconds", time.Since(start).Seconds())
	})
	return s.stopErr
}

// kill sends SIGKILL and waits for the process to be reaped.
func (s *Server) kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// findBinary resolves the server executable and the arguments that precede
// --config-file.
func findBinary(bin string) (string, []string, error) {
	var candidates []string
	if bin != "" {
		candidates = []string{bin}
	} else {
		candidates = []string{"clickhouse-server", "/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server",
			"clickhouse", "/usr/bin/clickhouse"}
	}
	for _, c := range candidates {
		p, err := exec.LookPath(c)
		if err != nil {
			continue
		}
		if filepath.Base(p) == "clickhouse" {
			return p, []string{"server"}, nil
		}
		return p, nil, nil
	}
	if bin != "" {
		return "", nil, fmt.Errorf("chserver: %w: %s", ErrBinaryNotFound, bin)
	}
	return "", nil, fmt.Errorf("chserver: %w in $PATH (apt-get install clickhouse-server)", ErrBinaryNotFound)
}

// FindBinary reports the server executable Start would use for binary
// (empty: search), or ErrBinaryNotFound.
func FindBinary(binary string) (string, error) {
	p, _, err := findBinary(binary)
	return p, err
}

// portOrFree returns p, or a free loopback port when p is 0.
func portOrFree(p int) (int, error) {
	if p != 0 {
		return p, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("chserver: pick free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// pidFile is the content of DataDir/clickhouse-server.pid: the pid on the
// first line, then the native and HTTP ports.
type pidFile struct {
	pid, tcpPort, httpPort int
}

func writePIDFile(path string, p pidFile) error {
	data := fmt.Sprintf("%d\n%d\n%d\n", p.pid, p.tcpPort, p.httpPort)
	if err := os.WriteFile(path, []byte(data), 0o640); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	return nil
}

func readPIDFile(path string) (pidFile, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return pidFile{}, false
	}
	f := strings.Fields(string(b))
	var p pidFile
	for i, v := range []*int{&p.pid, &p.tcpPort, &p.httpPort} {
		if i >= len(f) {
			break
		}
		n, err := strconv.Atoi(f[i])
		if err != nil {
			return pidFile{}, false
		}
		*v = n
	}
	return p, p.pid > 0
}
