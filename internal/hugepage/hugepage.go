package hugepage

import "unsafe"

// Size is the huge page size asked for.
const Size = 2 << 20

// Make returns make([]T, n), advised for huge pages when it spans at least
// one whole huge page. It is ordinary Go memory, collected as usual; the
// advice changes only how the kernel backs it.
func Make[T any](n int) []T {
	s := make([]T, n)
	var zero T
	if size := uintptr(n) * unsafe.Sizeof(zero); size >= Size {
		advise(unsafe.Pointer(unsafe.SliceData(s)), size)
	}
	return s
}

// span returns the whole huge pages inside [p, p+size).
func span(p unsafe.Pointer, size uintptr) (start, length uintptr) {
	start = (uintptr(p) + Size - 1) &^ (Size - 1)
	end := (uintptr(p) + size) &^ (Size - 1)
	if end <= start {
		return 0, 0
	}
	return start, end - start
}
