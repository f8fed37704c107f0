//go:build !linux

package dataplane

import "os"

// mapFile is Linux-only; elsewhere every file is streamed.
func mapFile(*os.File, int) ([]byte, error) { return nil, ErrNotSupported }

func unmapFile([]byte) error { return nil }

var pageSize = os.Getpagesize()

func releaseMapped([]byte) {}
