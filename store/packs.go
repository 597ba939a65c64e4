package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sync/errgroup"
)

// Bodies of up to packBody bytes are not compressed one by one: PutTx
// puts the new ones of a call one after another into packs of about
// packTarget bytes, and compresses each pack as one zstd frame. A page
// compressed alone costs zstd its entropy tables for a few kilobytes, and
// finds no repeat of the markup its site's other pages share: packed, the
// bodies of a crawl compress faster and to less (BenchmarkPacks: 2,000
// pages of Rust's HTML documentation take 8.5% of their size instead of
// 11.7%; Python's 530 pages of ~90 KB, 13.4% instead of 15.8%). The
// price is paid by a reader of one body, which decompresses its whole
// pack; Store keeps the packs it read last, so that reading bodies in
// saving order decompresses each pack once.
const (
	packBody   = 256 << 10
	packTarget = 256 << 10
	// packWindow is the encoder's window: a pack's bytes (under
	// packTarget, then one body of up to packBody) fit in it.
	packWindow = 512 << 10
)

// packTag starts the bodies value of a body kept in a pack; a zstd frame
// starts with its magic number, 0x28, and inFileMark is 'F'.
const packTag = 0x01

// packRef is where a body is in its pack: the pack's key, and the body's
// offset and length in the pack's decompressed bytes.
type packRef struct{ pack, off, n uint64 }

func (r packRef) value() []byte {
	v := []byte{packTag}
	v = binary.AppendUvarint(v, r.pack)
	v = binary.AppendUvarint(v, r.off)
	return binary.AppendUvarint(v, r.n)
}

// parsePackRef reads a bodies value that starts with packTag.
func parsePackRef(v []byte) (packRef, error) {
	var r packRef
	v = v[1:]
	for _, f := range []*uint64{&r.pack, &r.off, &r.n} {
		x, n := binary.Uvarint(v)
		if n <= 0 {
			return r, fmt.Errorf("%w: bad pack reference", ErrDamaged)
		}
		*f, v = x, v[n:]
	}
	if len(v) != 0 {
		return r, fmt.Errorf("%w: bad pack reference", ErrDamaged)
	}
	return r, nil
}

// packer gathers the new bodies of one PutTx into packs.
type packer struct {
	s      *Store
	packs  *bolt.Bucket
	seq    uint64   // the open pack's key; 0: none is open
	open   []byte   // the open pack's bytes
	sealed []packed // packs full, to compress and put
}

type packed struct {
	seq uint64
	raw []byte
}

// add puts body into the open pack (opening one if none is) and returns
// where it is.
func (p *packer) add(body []byte) (packRef, error) {
	if p.seq == 0 {
		seq, err := p.packs.NextSequence()
		if err != nil {
			return packRef{}, err
		}
		p.seq, p.open = seq, p.s.packBuf()
	}
	r := packRef{pack: p.seq, off: uint64(len(p.open)), n: uint64(len(body))}
	p.open = append(p.open, body...)
	if len(p.open) >= packTarget {
		p.seal()
	}
	return r, nil
}

func (p *packer) seal() {
	if p.seq != 0 {
		p.sealed = append(p.sealed, packed{p.seq, p.open})
		p.seq, p.open = 0, nil
	}
}

// flush compresses every pack, on the machine's cores, and puts them.
func (p *packer) flush() error {
	p.seal()
	frames := make([][]byte, len(p.sealed))
	compress := func(i int) {
		frames[i] = p.s.compress(p.sealed[i].raw)
		p.s.packBufs.Put(&p.sealed[i].raw)
	}
	if len(p.sealed) == 1 {
		compress(0)
	} else {
		var g errgroup.Group
		g.SetLimit(runtime.GOMAXPROCS(0))
		for i := range p.sealed {
			g.Go(func() error { compress(i); return nil })
		}
		g.Wait()
	}
	for i, pk := range p.sealed {
		if err := p.packs.Put(binary.BigEndian.AppendUint64(nil, pk.seq), frames[i]); err != nil {
			return err
		}
	}
	return nil
}

// packBuf returns an empty buffer for a pack's bytes.
func (s *Store) packBuf() []byte {
	if b, _ := s.packBufs.Get().(*[]byte); b != nil {
		return (*b)[:0]
	}
	return make([]byte, 0, packTarget+packBody)
}

// packCache holds the packs read last, decompressed: packs are never
// changed once written, so an entry never goes stale.
type packCache struct {
	mu   sync.Mutex
	seq  [4]uint64
	data [4][]byte
	next int
}

func (c *packCache) get(seq uint64) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, s := range c.seq {
		if s == seq {
			return c.data[i]
		}
	}
	return nil
}

func (c *packCache) put(seq uint64, data []byte) {
	c.mu.Lock()
	c.seq[c.next], c.data[c.next] = seq, data
	c.next = (c.next + 1) % len(c.seq)
	c.mu.Unlock()
}

// member returns a copy of the body r names, reading its pack in tx
// unless the cache holds it.
func (s *Store) member(packs *bolt.Bucket, r packRef) ([]byte, error) {
	data := s.packs.get(r.pack)
	if data == nil {
		var frame []byte
		if packs != nil {
			frame = packs.Get(binary.BigEndian.AppendUint64(nil, r.pack))
		}
		if frame == nil {
			return nil, fmt.Errorf("%w: pack %d missing", ErrDamaged, r.pack)
		}
		var err error
		if data, err = s.dec.DecodeAll(frame, nil); err != nil {
			return nil, fmt.Errorf("%w: pack %d: %v", ErrDamaged, r.pack, err)
		}
		s.packs.put(r.pack, data)
	}
	if r.off > uint64(len(data)) || r.n > uint64(len(data))-r.off {
		return nil, fmt.Errorf("%w: pack %d holds no bytes %d to %d", ErrDamaged, r.pack, r.off, r.off+r.n)
	}
	return bytes.Clone(data[r.off : r.off+r.n]), nil
}

// rawBufs pools the buffers NewPage copies small bodies into, in size
// classes of powers of two from rawMin to packBody, so that a page holds
// less than twice its size while it waits for Put.
type rawBufs struct {
	classes [rawClasses]sync.Pool // rawMin << i
}

const (
	rawMin     = 1 << 10
	rawClasses = 9
)

// The largest class holds packBody bytes, the largest body packed: this
// fails to compile when the two part.
var _ = [1]struct{}{}[rawMin<<(rawClasses-1)-packBody]

// class is the index of the smallest class that holds n bytes, or -1 when
// none does.
func (*rawBufs) class(n int) int {
	for i := range rawClasses {
		if n <= rawMin<<i {
			return i
		}
	}
	return -1
}

// get returns an empty buffer of room for n bytes.
func (r *rawBufs) get(n int) []byte {
	i := r.class(n)
	if i < 0 {
		return make([]byte, 0, n)
	}
	if b, _ := r.classes[i].Get().(*[]byte); b != nil {
		return (*b)[:0]
	}
	return make([]byte, 0, rawMin<<i)
}

// put gives b back for a later get; nothing may use b after.
func (r *rawBufs) put(b []byte) {
	if b == nil {
		return
	}
	if i := r.class(cap(b)); i >= 0 && cap(b) == rawMin<<i {
		b = b[:0]
		r.classes[i].Put(&b)
	}
}
