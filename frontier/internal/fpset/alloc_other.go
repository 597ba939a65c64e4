//go:build !unix

package fpset

// alloc returns n zeroed slots on the Go heap (where no anonymous mapping
// is to be had).
func alloc(n int) []uint64 { return make([]uint64, n) }

func release([]uint64) {}
