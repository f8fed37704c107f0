package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/tapflow/tapflow/dataplane"
)

// openSource opens the configured capture: a live engine, or a file.
func openSource(cfg CaptureConfig, rebase bool, logger *slog.Logger) (dataplane.Source, error) {
	if cfg.Engine != dataplane.EnginePcap {
		return dataplane.OpenLive(cfg.LiveConfig, logger)
	}
	if !rebase {
		return dataplane.OpenPcap(cfg.Pcap)
	}
	last, err := lastTimestamp(cfg.Pcap)
	if err != nil {
		return nil, err
	}
	src, err := dataplane.OpenPcap(cfg.Pcap)
	if err != nil {
		return nil, err
	}
	return &rebased{Source: src, shift: time.Now().UnixMicro() - last}, nil
}

// lastTimestamp reads a capture once for its newest timestamp (µs).
func lastTimestamp(path string) (int64, error) {
	src, err := dataplane.OpenPcap(path)
	if err != nil {
		return 0, err
	}
	defer src.Close()
	var last int64
	for {
		_, ci, err := src.ReadFrame()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, dataplane.ErrTruncated) {
				return last, nil
			}
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		last = max(last, ci.Timestamp)
	}
}

// rebased shifts a capture's timestamps so it ends now: a replayed demo
// then looks like live traffic of the last minutes in the console.
type rebased struct {
	dataplane.Source
	shift int64
}

func (r *rebased) ReadFrame() ([]byte, dataplane.FrameInfo, error) {
	data, ci, err := r.Source.ReadFrame()
	ci.Timestamp += r.shift
	return data, ci, err
}
