package chserver

import "errors"

var (
	// ErrBinaryNotFound means no clickhouse-server (or multi-call clickhouse)
	// binary was found in Options.Binary or $PATH.
	ErrBinaryNotFound = errors.New("clickhouse server binary not found")
	// ErrAlreadyRunning means a live server already owns the data directory.
	ErrAlreadyRunning = errors.New("clickhouse server already running for this data directory")
	// ErrNotReady means the server did not accept a native connection in time
	// or exited while starting.
	ErrNotReady = errors.New("clickhouse server did not become ready")
)
