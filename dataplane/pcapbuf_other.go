//go:build !linux

package dataplane

import "os"

// adviseSequential is Linux-only (posix_fadvise); elsewhere the kernel's
// default read-ahead applies.
func adviseSequential(*os.File) {}
