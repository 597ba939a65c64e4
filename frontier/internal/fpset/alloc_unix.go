//go:build unix

package fpset

import (
	"syscall"
	"unsafe"
)

// alloc returns n zeroed slots in an anonymous private mapping: memory
// outside the Go heap, so that a table of a hundred megabytes neither
// doubles the garbage collector's goal nor is read by it (it holds no
// pointers). release returns it to the system.
func alloc(n int) []uint64 {
	b, err := syscall.Mmap(-1, 0, n*8, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]uint64, n) // no mapping to be had: the heap will do
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

func release(s []uint64) {
	if len(s) == 0 {
		return
	}
	// A slice from make (alloc's fallback) is not a mapping: Munmap fails
	// on it and the collector frees it.
	syscall.Munmap(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*8))
}
