package gz

import (
	"container/heap"
	"math/bits"
	"slices"
	"sync"
)

const (
	numLit   = 286 // literal/length symbols: 0–255 bytes, 256 end of block, 257–285 lengths
	numDist  = 30
	endBlock = 256
	maxBits  = 15 // the longest code deflate allows
)

// The lengths a length symbol stands for (RFC 1951 3.2.5): symbol 257+k
// is lengthBase[k] plus lengthExtra[k] bits.
var (
	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [numDist]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [numDist]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

// lengthSymbol is the symbol of each match length.
var lengthSymbol = func() (t [maxMatch + 1]uint16) {
	for k := len(lengthBase) - 1; k >= 0; k-- {
		for n := int(lengthBase[k]); n <= maxMatch && t[n] == 0; n++ {
			t[n] = uint16(257 + k)
		}
	}
	return t
}()

// distSymbol returns the symbol of distance d (1 ≤ d ≤ maxDist).
func distSymbol(d int) int {
	if d <= 4 {
		return d - 1
	}
	// Two symbols each power of two from 5 on.
	l := 31 - bits.LeadingZeros32(uint32(d-1)) // d-1 ≥ 4: l ≥ 2
	return 2*l + int((d-1)>>(l-1)&1)
}

// A table is the shared code, ready to write: each symbol's code,
// bit-reversed as deflate sends it, and the block header that describes
// the code.
type table struct {
	lit       [numLit]uint16
	litLen    [numLit]uint8
	length    [maxMatch + 1]uint32 // a length's code and extra bits, together
	lengthLen [maxMatch + 1]uint8
	dist      [numDist]uint16
	distLen   [numDist]uint8
	head      []uint64 // the dynamic block header, BFINAL clear
	headLast  uint     // bits used of head's last word
}

// codes are the shared codes a block is coded with: for text mostly
// ASCII, and for text in UTF-8 beyond it.
// They are made on first use: not every program that links gz compresses.
var codes = sync.OnceValue(func() [2]*table {
	return [...]*table{newTable(textLit[:], distLengths[:]), newTable(utf8Lit[:], distLengths[:])}
})

// cost returns the bits t would code h's symbols in, header and end of
// block included, extra bits of matches not.
func (t *table) cost(h *histogram) int {
	c := 64*(len(t.head)-1) + int(t.headLast) + int(t.litLen[endBlock])
	for s, n := range h.lit {
		c += int(n) * int(t.litLen[s])
	}
	for s, n := range h.dist {
		c += int(n) * int(t.distLen[s])
	}
	return c
}

// newTable makes the table of the code with these lengths.
func newTable(litL, distL []uint8) *table {
	t := &table{}
	lc, dc := canonical(litL), canonical(distL)
	for s := range numLit {
		t.lit[s], t.litLen[s] = lc[s], litL[s]
	}
	for s := range numDist {
		t.dist[s], t.distLen[s] = dc[s], distL[s]
	}
	for n := 3; n <= maxMatch; n++ {
		s := lengthSymbol[n]
		k := s - 257
		t.length[n] = uint32(lc[s]) | uint32(n-int(lengthBase[k]))<<litL[s]
		t.lengthLen[n] = litL[s] + lengthExtra[k]
	}
	t.head, t.headLast = header(litL, distL)
	return t
}

// canonical returns the canonical Huffman codes of these lengths (RFC 1951
// 3.2.2), bit-reversed.
func canonical(lengths []uint8) []uint16 {
	var count [maxBits + 1]int
	for _, l := range lengths {
		count[l]++
	}
	count[0] = 0
	var next [maxBits + 1]int
	c := 0
	for b := 1; b <= maxBits; b++ {
		c = (c + count[b-1]) << 1
		next[b] = c
	}
	codes := make([]uint16, len(lengths))
	for s, l := range lengths {
		if l == 0 {
			continue
		}
		codes[s] = reverse(uint16(next[l]), l)
		next[l]++
	}
	return codes
}

func reverse(c uint16, n uint8) uint16 {
	r := uint16(0)
	for range n {
		r = r<<1 | c&1
		c >>= 1
	}
	return r
}

// clOrder is the order the code-length code's lengths are sent in.
var clOrder = [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// header returns the bits of a dynamic block header (RFC 1951 3.2.7) for
// these lengths, BFINAL clear, as 64-bit words, and how many bits of the
// last word are used.
func header(litL, distL []uint8) ([]uint64, uint) {
	// The lengths run-length coded: a length, or 16 (repeat the last
	// 3–6 times, 2 extra bits), 17 (3–10 zeros, 3 bits), 18 (11–138
	// zeros, 7 bits).
	type sym struct{ s, extra, n uint8 }
	var syms []sym
	all := append(slices.Clone(litL), distL...)
	for i := 0; i < len(all); {
		l, run := all[i], 1
		for i+run < len(all) && all[i+run] == l {
			run++
		}
		i += run
		for run > 0 {
			switch {
			case l == 0 && run >= 11:
				k := min(run, 138)
				syms, run = append(syms, sym{18, uint8(k - 11), 7}), run-k
			case l == 0 && run >= 3:
				k := min(run, 10)
				syms, run = append(syms, sym{17, uint8(k - 3), 3}), run-k
			default:
				syms, run = append(syms, sym{l, 0, 0}), run-1
				for run >= 3 {
					k := min(run, 6)
					syms, run = append(syms, sym{16, uint8(k - 3), 2}), run-k
				}
			}
		}
	}
	freq := make([]uint64, 19)
	for _, s := range syms {
		freq[s.s]++
	}
	clL := codeLengths(freq, 7)
	clC := canonical(clL)
	ncl := 19
	for ncl > 4 && clL[clOrder[ncl-1]] == 0 {
		ncl--
	}
	var w bitWords
	w.put(0, 1) // BFINAL, set by the writer
	w.put(2, 2) // BTYPE: dynamic Huffman codes
	w.put(uint64(len(litL)-257), 5)
	w.put(uint64(len(distL)-1), 5)
	w.put(uint64(ncl-4), 4)
	for _, s := range clOrder[:ncl] {
		w.put(uint64(clL[s]), 3)
	}
	for _, s := range syms {
		w.put(uint64(clC[s.s]), uint(clL[s.s]))
		w.put(uint64(s.extra), uint(s.n))
	}
	return w.words, w.last
}

// bitWords gathers bits into 64-bit words, the first in the low bits.
type bitWords struct {
	words []uint64
	last  uint
}

func (w *bitWords) put(b uint64, n uint) {
	for ; n > 0; n-- {
		if len(w.words) == 0 || w.last == 64 {
			w.words, w.last = append(w.words, 0), 0
		}
		w.words[len(w.words)-1] |= (b & 1) << w.last
		w.last++
		b >>= 1
	}
}

// codeLengths returns the lengths of a Huffman code for these symbol
// frequencies, none longer than limit: symbols of frequency 0 get no code.
// Where the best code would be longer, the frequencies are flattened
// until it is not.
func codeLengths(freq []uint64, limit int) []uint8 {
	f := slices.Clone(freq)
	for {
		l := huffman(f)
		if slices.Max(l) <= uint8(limit) {
			return l
		}
		for i := range f {
			if f[i] > 0 {
				f[i] = f[i]/2 + 1
			}
		}
	}
}

// huffman returns the code lengths of a Huffman code for freq.
func huffman(freq []uint64) []uint8 {
	lengths := make([]uint8, len(freq))
	type node struct {
		w       uint64
		sym     int // ≥ 0: a leaf
		l, r    *node
		ordinal int
	}
	var h nodeHeap[*node]
	h.less = func(a, b *node) bool { return a.w < b.w || a.w == b.w && a.ordinal < b.ordinal }
	n := 0
	for s, w := range freq {
		if w > 0 {
			h.items = append(h.items, &node{w: w, sym: s, ordinal: n})
			n++
		}
	}
	switch len(h.items) {
	case 0:
		return lengths
	case 1:
		lengths[h.items[0].sym] = 1
		return lengths
	}
	heap.Init(&h)
	for h.Len() > 1 {
		a, b := heap.Pop(&h).(*node), heap.Pop(&h).(*node)
		heap.Push(&h, &node{w: a.w + b.w, sym: -1, l: a, r: b, ordinal: n})
		n++
	}
	var walk func(x *node, d uint8)
	walk = func(x *node, d uint8) {
		if x.sym >= 0 {
			lengths[x.sym] = d
			return
		}
		walk(x.l, d+1)
		walk(x.r, d+1)
	}
	walk(h.items[0], 0)
	return lengths
}

// nodeHeap is a container/heap of T ordered by less.
type nodeHeap[T any] struct {
	items []T
	less  func(a, b T) bool
}

func (h nodeHeap[T]) Len() int           { return len(h.items) }
func (h nodeHeap[T]) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h nodeHeap[T]) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *nodeHeap[T]) Push(x any)        { h.items = append(h.items, x.(T)) }
func (h *nodeHeap[T]) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}
