// Package fpset is a set of 64-bit fingerprints made for seen-sets of tens
// of millions of URLs: about 12 bytes a fingerprint, in memory the garbage
// collector neither scans nor counts (see alloc), grown a small part at a
// time.
//
// The set is split into 256 shards by a fingerprint's top byte. Each shard
// is an open-addressing table with linear probing, whose home slot is the
// fingerprint's next bits scaled to the table's size, so any size works:
// a shard grows by half when it is 80% full, and only that shard is copied.
// Fingerprints are expected to be uniformly random (a hash), as the layout
// relies on it.
package fpset

import (
	"math/bits"
	"runtime"
)

const (
	shards   = 256
	minSlots = 64
	// A shard grows when more than maxLoadNum/maxLoadDen of its slots are
	// taken, to half as many again.
	maxLoadNum, maxLoadDen = 4, 5
)

// Set is a set of fingerprints. The zero fingerprint is stored as 1 (0
// marks an empty slot), which merges the two; for a hash that is one more
// collision in 2⁶⁴. A Set is not safe for concurrent use.
type Set struct {
	mem *tables // apart from Set, so that a cleanup can free it
	n   int
}

type tables struct {
	shard [shards]shard
}

type shard struct {
	slots []uint64 // len is the table size; 0 is empty
	n     int
}

// New returns a set with room for n fingerprints before any shard grows.
func New(n int) *Set {
	s := &Set{mem: new(tables)}
	per := n / shards * maxLoadDen / maxLoadNum
	for i := range s.mem.shard {
		s.mem.shard[i].slots = alloc(max(minSlots, per+per/8))
	}
	runtime.AddCleanup(s, (*tables).free, s.mem)
	return s
}

func (t *tables) free() {
	for i := range t.shard {
		release(t.shard[i].slots)
		t.shard[i].slots = nil
	}
}

// Free releases the set's memory at once rather than when the set is
// collected. The set must not be used after.
func (s *Set) Free() { s.mem.free() }

// Len returns how many fingerprints the set holds.
func (s *Set) Len() int { return s.n }

// Bytes returns the memory the set's tables take.
func (s *Set) Bytes() int64 {
	var n int64
	for i := range s.mem.shard {
		n += int64(len(s.mem.shard[i].slots)) * 8
	}
	return n
}

// Has reports whether fp is in the set.
func (s *Set) Has(fp uint64) bool {
	fp = max(fp, 1)
	ok := s.mem.shard[fp>>56].has(fp)
	runtime.KeepAlive(s) // its cleanup unmaps the tables
	return ok
}

func (sh *shard) has(fp uint64) bool {
	_, ok := sh.find(fp)
	return ok
}

// find returns fp's slot, or the empty slot where it would go.
func (sh *shard) find(fp uint64) (int, bool) {
	for i := home(fp, len(sh.slots)); ; i++ {
		if i == len(sh.slots) {
			i = 0
		}
		switch sh.slots[i] {
		case fp:
			return i, true
		case 0:
			return i, false
		}
	}
}

// Add adds fp to the set and reports whether it was not there before.
func (s *Set) Add(fp uint64) bool {
	fp = max(fp, 1)
	sh := &s.mem.shard[fp>>56]
	if !sh.insert(fp) {
		return false
	}
	if sh.n*maxLoadDen > len(sh.slots)*maxLoadNum {
		sh.grow()
	}
	s.n++ // and s is alive until its tables are no longer used
	return true
}

// home is fp's first slot in a table of size n: the bits below the shard
// byte, scaled to n.
func home(fp uint64, n int) int {
	hi, _ := bits.Mul64(fp<<8, uint64(n))
	return int(hi)
}

func (sh *shard) insert(fp uint64) bool {
	i, found := sh.find(fp)
	if !found {
		sh.slots[i] = fp
		sh.n++
	}
	return !found
}

func (sh *shard) grow() {
	old := sh.slots
	sh.slots, sh.n = alloc(len(old)+len(old)/2), 0
	for _, fp := range old {
		if fp != 0 {
			sh.insert(fp)
		}
	}
	release(old)
}
