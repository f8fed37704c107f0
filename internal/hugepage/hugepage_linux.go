package hugepage

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// advise marks the whole huge pages of the fresh allocation at p for
// transparent huge pages. Go takes a large allocation's memory straight
// from the OS untouched, so the pages fault in after the advice and come
// as huge pages when the kernel has them. Only advice: an error (THP off,
// an old kernel) leaves 4 KiB pages.
func advise(p unsafe.Pointer, size uintptr) {
	start, n := span(p, size)
	if n == 0 {
		return
	}
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, start, n, unix.MADV_HUGEPAGE)
}
