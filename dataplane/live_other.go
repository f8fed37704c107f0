//go:build !linux

package dataplane

import "log/slog"

func openAFPacket(LiveConfig, *slog.Logger) (LiveSource, error) { return nil, ErrNotSupported }

func openXDP(LiveConfig, *slog.Logger) (LiveSource, error) { return nil, ErrNotSupported }
