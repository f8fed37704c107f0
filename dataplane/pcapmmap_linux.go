package dataplane

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps the first size bytes of f read-only. The pages are shared
// with the page cache, so a cached file costs no copy at all.
func mapFile(f *os.File, size int) ([]byte, error) {
	b, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	// The file is read once from start to end: read ahead aggressively and
	// let the pages go early under memory pressure. Only advice, so a
	// failure changes nothing but speed.
	_ = unix.Madvise(b, unix.MADV_SEQUENTIAL)
	return b, nil
}

func unmapFile(b []byte) error { return unix.Munmap(b) }

var pageSize = os.Getpagesize()

// releaseMapped gives back the pages of b (page-aligned) without changing
// what reading them returns.
func releaseMapped(b []byte) { _ = unix.Madvise(b, unix.MADV_DONTNEED) }
