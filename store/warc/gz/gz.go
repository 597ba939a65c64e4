// Package gz writes gzip members (RFC 1952) fast, for archives that
// compress each record on its own. A WARC file is a gzip member per
// record, and most records are a few kilobytes: too few for a Huffman code
// built for each to repay the time it takes to build. gz codes each block
// with whichever of two shared Huffman codes makes it smaller, both built
// once from web pages and their WARC and HTTP headers (see table.go): one
// for text mostly in ASCII, one for UTF-8 text beyond it. A block that
// neither code makes smaller (images, bodies compressed already) is
// stored as it is.
//
// The matcher is greedy LZ77 over a 32 KB window with one candidate a
// hash: the speed of gzip -1, without its per-block code.
package gz

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math/bits"
)

const (
	maxDist   = 1 << 15 // the deflate window
	blockSize = 64000   // input bytes a block; a stored block holds up to 65,535
	maxMatch  = 258
	minMatch  = 4 // what the hash looks at

	tableBits = 13
	tableSize = 1 << tableBits

	flushAt = 64 << 10 // output bytes held before they go to the writer
)

// A Writer writes one gzip member from what is written to it, then another
// after each Reset. It is not safe for concurrent use; its state (~130 KB)
// is meant to be reused, member after member.
type Writer struct {
	w   io.Writer
	err error

	// buf holds up to maxDist bytes of the member's history, then the
	// block being filled, from start.
	buf   []byte
	start int
	// table maps the hash of 4 bytes to where they were last seen, as an
	// offset from the start of every member written (abs is buf[0]'s);
	// entries below abs are of earlier members, or of history dropped.
	table [tableSize]int32
	abs   int32

	out   []byte // coded, not yet written to w
	bits  uint64 // not yet in out, the first in the low bits
	nbits uint
	crc   uint32
	size  uint32

	tok   []uint32  // the block's runs of literals (their length, < matchFlag) and matches, in order
	hist  histogram // of tok's symbols
	extra int       // bits tok's matches add to their codes

	count *counts // every member's symbols, for building codes (see table_test.go)
}

// A token with matchFlag set is a match: length<<16 | distance-1; one
// without is a run of that many literals.
const matchFlag = 1 << 31

// histogram counts a block's symbols.
type histogram struct {
	lit  [numLit]uint32
	dist [numDist]uint32
}

// counts are how often each symbol was seen, over many blocks.
type counts struct {
	lit  [numLit]uint64
	dist [numDist]uint64
}

func (c *counts) add(h *histogram) {
	for i, n := range h.lit {
		c.lit[i] += uint64(n)
	}
	for i, n := range h.dist {
		c.dist[i] += uint64(n)
	}
}

// NewWriter returns a Writer whose first member goes to w.
func NewWriter(w io.Writer) *Writer {
	z := &Writer{buf: make([]byte, 0, maxDist+blockSize), abs: 1}
	z.Reset(w)
	return z
}

// Reset starts a new member, written to w, forgetting the last one: a
// member written before Close is discarded.
func (z *Writer) Reset(w io.Writer) {
	z.abs += int32(len(z.buf))
	if z.abs > 1<<30 {
		z.table = [tableSize]int32{}
		z.abs = 1
	}
	z.w, z.err = w, nil
	z.buf, z.start = z.buf[:0], 0
	z.bits, z.nbits, z.crc, z.size = 0, 0, 0, 0
	// ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=unknown
	z.out = append(z.out[:0], 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255)
}

// Write compresses p.
func (z *Writer) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && z.err == nil {
		if len(z.buf)-z.start == blockSize {
			z.block(false)
			z.slide()
		}
		room := blockSize - (len(z.buf) - z.start)
		k := min(room, len(p))
		z.buf = append(z.buf, p[:k]...)
		p = p[k:]
	}
	if z.err != nil {
		return 0, z.err
	}
	return n, nil
}

// Close ends the member and writes what is left of it. It does not close
// the underlying writer. Writing after Close is an error, and closing
// again does nothing, until Reset.
func (z *Writer) Close() error {
	if z.err != nil {
		if z.err == errClosed {
			return nil
		}
		return z.err
	}
	z.block(true)
	z.flushBits()
	z.out = binary.LittleEndian.AppendUint32(z.out, z.crc)
	z.out = binary.LittleEndian.AppendUint32(z.out, z.size)
	z.flush()
	if z.err != nil {
		return z.err
	}
	z.err = errClosed
	return nil
}

var errClosed = errors.New("gz: write after Close")

// slide drops what history the next block cannot reach.
func (z *Writer) slide() {
	if drop := len(z.buf) - maxDist; drop > 0 {
		copy(z.buf, z.buf[drop:])
		z.buf = z.buf[:maxDist]
		z.abs += int32(drop)
		if z.abs > 1<<30 { // a member of a gigabyte: start the table afresh
			z.table = [tableSize]int32{}
			z.abs = 1
		}
	}
	z.start = len(z.buf)
}

// block codes buf[start:] as one block, final or not: with whichever
// shared code makes it smallest, or stored if none makes it smaller.
func (z *Writer) block(final bool) {
	src := z.buf[z.start:]
	z.crc = crc32.Update(z.crc, crc32.IEEETable, src)
	z.size += uint32(len(src))
	z.encode(z.start, len(z.buf))
	if z.count != nil {
		z.count.add(&z.hist)
	}
	best, cost := -1, 3+7+32+8*len(src) // stored: header, padding, LEN NLEN, bytes
	codes := codes()
	for i, t := range codes {
		if c := t.cost(&z.hist) + z.extra; c < cost {
			best, cost = i, c
		}
	}
	if best < 0 {
		z.stored(final, src)
	} else {
		z.coded(final, codes[best])
	}
	if len(z.out) >= flushAt {
		z.flush()
	}
}

// coded writes the block's tokens with code t.
func (z *Writer) coded(final bool, t *table) {
	z.header(final, t)
	// The bit buffer in locals: this loop is most of the writing.
	bb, nb, out := z.bits, z.nbits, z.out
	put := func(b uint64, n uint) {
		bb |= b << nb
		nb += n
		if nb >= 32 {
			out = binary.LittleEndian.AppendUint32(out, uint32(bb))
			bb >>= 32
			nb -= 32
		}
	}
	p := z.start
	for _, tok := range z.tok {
		if tok < matchFlag {
			for _, c := range z.buf[p : p+int(tok)] {
				put(uint64(t.lit[c]), uint(t.litLen[c]))
			}
			p += int(tok)
			continue
		}
		n, d := int(tok>>16&0x1ff), int(tok&0xffff)+1
		put(uint64(t.length[n]), uint(t.lengthLen[n]))
		ds := distSymbol(d)
		put(uint64(t.dist[ds])|uint64(d-int(distBase[ds]))<<t.distLen[ds], uint(t.distLen[ds])+uint(distExtra[ds]))
		p += n
	}
	put(uint64(t.lit[endBlock]), uint(t.litLen[endBlock]))
	z.bits, z.nbits, z.out = bb, nb, out
}

// header writes the block header of the shared code.
func (z *Writer) header(final bool, t *table) {
	b := uint64(0)
	if final {
		b = 1
	}
	z.put64(b|t.head[0]&^1, 64)
	for _, w := range t.head[1 : len(t.head)-1] {
		z.put64(w, 64)
	}
	z.put64(t.head[len(t.head)-1], t.headLast)
}

// put64 adds the low n bits of b (n ≤ 64) to the stream.
func (z *Writer) put64(b uint64, n uint) {
	if n > 32 {
		z.put(b&0xffffffff, 32)
		b, n = b>>32, n-32
	}
	z.put(b, n)
}

// stored writes src as a stored block.
func (z *Writer) stored(final bool, src []byte) {
	b := uint64(0)
	if final {
		b = 1
	}
	z.put(b, 3) // BTYPE 00
	z.flushBits()
	n := uint16(len(src))
	z.out = append(z.out, byte(n), byte(n>>8), byte(^n), byte(^n>>8))
	z.out = append(z.out, src...)
}

// put adds the low n bits of b (n ≤ 32) to the stream.
func (z *Writer) put(b uint64, n uint) {
	z.bits |= b << z.nbits
	z.nbits += n
	if z.nbits >= 32 {
		z.out = binary.LittleEndian.AppendUint32(z.out, uint32(z.bits))
		z.bits >>= 32
		z.nbits -= 32
	}
}

// flushBits pads the stream to a byte and moves it to out.
func (z *Writer) flushBits() {
	for z.nbits > 0 {
		z.out = append(z.out, byte(z.bits))
		z.bits >>= 8
		z.nbits = z.nbits - min(z.nbits, 8)
	}
	z.bits = 0
}

// flush writes out to the underlying writer.
func (z *Writer) flush() {
	if z.err == nil && len(z.out) > 0 {
		_, z.err = z.w.Write(z.out)
	}
	z.out = z.out[:0]
}

func load32(b []byte, i int) uint32 { return binary.LittleEndian.Uint32(b[i:]) }

func hash4(u uint32) uint32 { return (u * 0x1e35a7bd) >> (32 - tableBits) }

// encode makes the tokens of buf[s:e], literals and matches, and counts
// their symbols.
func (z *Writer) encode(s, e int) {
	z.tok, z.hist, z.extra = z.tok[:0], histogram{}, 0
	buf := z.buf[:e]
	lit := s // the literals not yet made tokens start here
	for i := s; i+minMatch <= e; {
		u := load32(buf, i)
		h := hash4(u)
		cand := int(z.table[h] - z.abs)
		z.table[h] = z.abs + int32(i)
		if cand < 0 || i-cand > maxDist || load32(buf, cand) != u {
			i += 1 + (i-lit)>>5 // faster through what does not match
			continue
		}
		for cand > 0 && i > lit && buf[cand-1] == buf[i-1] {
			cand, i = cand-1, i-1
		}
		n := minMatch + matchLen(buf[cand+minMatch:], buf[i+minMatch:])
		z.literals(buf[lit:i])
		z.match(n, i-cand)
		i += n
		lit = i
		if i-2 >= s && i+2 <= e {
			z.table[hash4(load32(buf, i-2))] = z.abs + int32(i-2)
		}
	}
	z.literals(buf[lit:])
}

// matchLen returns how many bytes a and b have in common from their
// start; b is the shorter.
func matchLen(a, b []byte) int {
	n := 0
	a = a[:len(b)]
	for len(b) >= 8 {
		if x := binary.LittleEndian.Uint64(a) ^ binary.LittleEndian.Uint64(b); x != 0 {
			return n + bits.TrailingZeros64(x)>>3
		}
		a, b, n = a[8:], b[8:], n+8
	}
	for i := range b {
		if a[i] != b[i] {
			return n + i
		}
	}
	return n + len(b)
}

// literals makes p a token: a run of literals.
func (z *Writer) literals(p []byte) {
	if len(p) == 0 {
		return
	}
	z.tok = append(z.tok, uint32(len(p)))
	for _, c := range p {
		z.hist.lit[c]++
	}
}

// match makes a match of n bytes, d back, tokens of at most maxMatch.
func (z *Writer) match(n, d int) {
	ds := distSymbol(d)
	for n > 0 {
		k := n
		if k > maxMatch {
			k = maxMatch
			if n-k < 3 {
				k = n - 3
			}
		}
		n -= k
		z.tok = append(z.tok, matchFlag|uint32(k)<<16|uint32(d-1))
		ls := lengthSymbol[k]
		z.hist.lit[ls]++
		z.hist.dist[ds]++
		z.extra += int(lengthExtra[ls-257]) + int(distExtra[ds])
	}
}
