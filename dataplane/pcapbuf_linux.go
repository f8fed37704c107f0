package dataplane

import (
	"os"

	"golang.org/x/sys/unix"
)

// adviseSequential tells the kernel f is read once from start to end, so
// that it reads ahead further for a file not in the page cache yet. Only
// advice: a failure changes nothing but speed.
func adviseSequential(f *os.File) {
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_SEQUENTIAL)
}
