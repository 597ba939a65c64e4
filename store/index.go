package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/trawl-dev/trawl/internal/jobfile"
)

// The indexes, and their log.
//
// Two indexes take random keys: URLs (URL key → latest record key) and
// SHA256 (body digest → body key). Inserting one key into a B+tree of
// millions rewrites a leaf page of it (4 KiB for 40 bytes), so a job that
// wrote both as each page was saved spent most of its commits on them, and
// more the bigger it grew. PutTx instead appends each call's index entries
// to the index log (one value per call, under its first record's key), and
// CatchUp moves the log into the indexes in key order, a range of keys at a
// time, at the end of a run and before a run that finds a log left over:
// a leaf page then takes all its new keys in one write.
//
// Until then:
//   - a record names its body's key (see recordValue), so that Body does
//     not need the digest index;
//   - a body is stored once if the digest index or the recent-bodies
//     cache knows it; a repeat they miss is stored again (costing space,
//     never a wrong body), and CatchUp indexes the first;
//   - PutTx counts every record as a new URL's; CatchUp takes back the
//     count and tallies of each record a later one of its URL replaced;
//   - readers (Get, Each, Items) look up the URLs of the log in a map
//     made from it before the URL index.
//
// CatchUp is idempotent: killed half-way, it is run again whole. An entry
// whose URL the index maps to the entry's record or a later one was moved
// by an earlier try.

const (
	urlEntry  = 16 + 8 // URL key, record key
	bodyEntry = 32 + 8 // body digest, body key
)

// Variables for the tests' sake.
var (
	// catchUpBytes bounds the entries CatchUp holds at once: a bigger log
	// is moved in several passes over it, each taking a range of keys.
	catchUpBytes = 32 << 20
	// catchUpChunk is how many entries of each index one transaction
	// moves.
	catchUpChunk = 32 << 10
)

// indexLog is one PutTx call's entries for the index log.
type indexLog struct {
	urls, bodies []byte // urlEntry and bodyEntry each
}

func (l *indexLog) addURL(key []byte, rec uint64) {
	l.urls = binary.BigEndian.AppendUint64(append(l.urls, key...), rec)
}

func (l *indexLog) addBody(sum *[32]byte, body uint64) {
	l.bodies = binary.BigEndian.AppendUint64(append(l.bodies, sum[:]...), body)
}

// value is the log value: the count of URL entries, then the URL entries,
// then the body entries.
func (l *indexLog) value() []byte {
	v := binary.AppendUvarint(make([]byte, 0, 10+len(l.urls)+len(l.bodies)), uint64(len(l.urls)/urlEntry))
	return append(append(v, l.urls...), l.bodies...)
}

// splitLog splits a log value into its URL and body entries.
func splitLog(k, v []byte) (urls, bodies []byte, err error) {
	n, m := binary.Uvarint(v)
	if m <= 0 || n > uint64(len(v)-m)/urlEntry || (uint64(len(v)-m)-n*urlEntry)%bodyEntry != 0 {
		return nil, nil, fmt.Errorf("%w: index log %x", ErrDamaged, k)
	}
	v = v[m:]
	return v[:n*urlEntry], v[n*urlEntry:], nil
}

type urlRef struct {
	key [16]byte
	rec uint64
}

type bodyRef struct {
	sum  [32]byte
	body uint64
}

// eachLogged calls url and body for the log's entries, in log order.
// Either may be nil.
func eachLogged(tx *jobfile.Tx, url func(key []byte, rec uint64), body func(sum []byte, key uint64)) error {
	b := tx.Bucket(jobfile.IndexLog)
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		urls, bodies, err := splitLog(k, v)
		if err != nil {
			return err
		}
		for ; url != nil && len(urls) > 0; urls = urls[urlEntry:] {
			url(urls[:16], binary.BigEndian.Uint64(urls[16:urlEntry]))
		}
		for ; body != nil && len(bodies) > 0; bodies = bodies[bodyEntry:] {
			body(bodies[:32], binary.BigEndian.Uint64(bodies[32:bodyEntry]))
		}
		return nil
	})
}

// logged maps the URL keys of the log to their latest record key: what the
// URL index says of them once CatchUp has run. It is nil for an empty log.
func logged(tx *jobfile.Tx) (map[[16]byte]uint64, error) {
	var m map[[16]byte]uint64
	err := eachLogged(tx, func(key []byte, rec uint64) {
		if m == nil {
			m = make(map[[16]byte]uint64)
		}
		m[[16]byte(key)] = max(m[[16]byte(key)], rec)
	}, nil)
	return m, err
}

// latest returns the key of uk's latest record: from the log's map, else
// the URL index.
func latest(tail map[[16]byte]uint64, urls *bolt.Bucket, uk []byte) []byte {
	if rec, ok := tail[[16]byte(uk)]; ok {
		return binary.BigEndian.AppendUint64(nil, rec)
	}
	return urls.Get(uk)
}

// Unindexed returns how many saved records the URL index does not cover
// yet: those of the index log, moved by CatchUp.
func (s *Store) Unindexed() (int, error) {
	n := 0
	err := s.file.View(func(tx *jobfile.Tx) error {
		b := tx.Bucket(jobfile.IndexLog)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			urls, _, err := splitLog(k, v)
			n += len(urls) / urlEntry
			return err
		})
	})
	return n, err
}

// CatchUp moves the index log into the indexes (see above) and returns
// how many records it indexed. It stops early, leaving the log to the
// next call, when ctx is done. It must not run while another goroutine
// saves pages in the store.
func (s *Store) CatchUp(ctx context.Context) (int, error) {
	var logKeys [][]byte
	nURL, nBody := 0, 0
	err := s.file.View(func(tx *jobfile.Tx) error {
		if b := tx.Bucket(jobfile.IndexLog); b != nil {
			b.ForEach(func(k, _ []byte) error { logKeys = append(logKeys, bytes.Clone(k)); return nil })
		}
		return eachLogged(tx, func([]byte, uint64) { nURL++ }, func([]byte, uint64) { nBody++ })
	})
	if err == nil {
		err = s.catchUpWARC()
	}
	if err != nil || len(logKeys) == 0 {
		return 0, err
	}
	passes := max(1, (nURL*urlEntry+nBody*bodyEntry+catchUpBytes-1)/catchUpBytes)
	for p := range passes {
		// This pass takes the keys whose first two bytes are in [lo, hi).
		lo, hi := p<<16/passes, (p+1)<<16/passes
		in := func(k []byte) bool { v := int(binary.BigEndian.Uint16(k)); return v >= lo && v < hi }
		var urls []urlRef
		var bodies []bodyRef
		err := s.file.View(func(tx *jobfile.Tx) error {
			return eachLogged(tx, func(key []byte, rec uint64) {
				if in(key) {
					urls = append(urls, urlRef{[16]byte(key), rec})
				}
			}, func(sum []byte, key uint64) {
				if in(sum) {
					bodies = append(bodies, bodyRef{[32]byte(sum), key})
				}
			})
		})
		if err != nil {
			return 0, err
		}
		slices.SortFunc(urls, func(a, b urlRef) int {
			return cmp.Or(bytes.Compare(a.key[:], b.key[:]), cmp.Compare(a.rec, b.rec))
		})
		slices.SortFunc(bodies, func(a, b bodyRef) int {
			return cmp.Or(bytes.Compare(a.sum[:], b.sum[:]), cmp.Compare(a.body, b.body))
		})
		for len(urls) > 0 || len(bodies) > 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			u, b := urls[:min(len(urls), catchUpChunk)], bodies[:min(len(bodies), catchUpChunk)]
			urls, bodies = urls[len(u):], bodies[len(b):]
			last := passes == 1 && len(urls) == 0 && len(bodies) == 0
			err := s.file.Update(func(tx *jobfile.Tx) error {
				if err := indexTx(tx, u, b); err != nil || !last {
					return err
				}
				return dropLog(tx, logKeys) // a small log: in the same commit
			})
			if err != nil {
				return 0, fmt.Errorf("store: indexing: %w", err)
			}
			if last {
				return nURL, nil
			}
		}
	}
	err = s.file.Update(func(tx *jobfile.Tx) error { return dropLog(tx, logKeys) })
	if err != nil {
		return 0, fmt.Errorf("store: indexing: %w", err)
	}
	return nURL, nil
}

// dropLog deletes the index log's values at keys, once indexed.
func dropLog(tx *jobfile.Tx, keys [][]byte) error {
	b := tx.Bucket(jobfile.IndexLog)
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// indexTx moves sorted log entries into the indexes, and takes each record
// a later one of its URL replaced out of the count and tallies.
func indexTx(tx *jobfile.Tx, urls []urlRef, bodies []bodyRef) error {
	ui, shas, recs, items, meta := tx.Bucket(jobfile.URLs), tx.Bucket(jobfile.SHA256), tx.Bucket(jobfile.Records),
		tx.Bucket(jobfile.Items), tx.Bucket(jobfile.StoreMeta)
	if ui == nil || shas == nil || recs == nil || items == nil || meta == nil {
		return fmt.Errorf("buckets missing")
	}
	ui.FillPercent, shas.FillPercent = 0.9, 0.9 // keys arrive in order
	// When every key sorts after the index's last (the first indexing of
	// a job), the index holds none of them, and the one that may hold a
	// key is the entry before it.
	freshURLs := len(urls) > 0 && after(ui, urls[0].key[:])
	freshSums := len(bodies) > 0 && after(shas, bodies[0].sum[:])
	t := newTally()
	var replaced uint64
	for i, r := range urls {
		var old []byte
		switch {
		case !freshURLs:
			old = ui.Get(r.key[:])
		case i > 0 && urls[i-1].key == r.key:
			old = binary.BigEndian.AppendUint64(nil, urls[i-1].rec)
		}
		if old != nil {
			if len(old) != 8 {
				return fmt.Errorf("%w: URL index entry %x", ErrDamaged, r.key)
			}
			if binary.BigEndian.Uint64(old) >= r.rec {
				continue // moved before
			}
			if err := t.replaced(tx, bytes.Clone(old), passOf(recs, r.rec)); err != nil {
				return err
			}
			replaced++
		}
		if err := ui.Put(r.key[:], binary.BigEndian.AppendUint64(nil, r.rec)); err != nil {
			return err
		}
	}
	for i, b := range bodies {
		held := i > 0 && bodies[i-1].sum == b.sum
		if !freshSums {
			held = shas.Get(b.sum[:]) != nil
		}
		if !held { // the first of a body stored twice stays
			if err := shas.Put(b.sum[:], binary.BigEndian.AppendUint64(nil, b.body)); err != nil {
				return err
			}
		}
	}
	if replaced > 0 {
		if err := putUint(meta, keyCount, getUint(meta, keyCount)-min(replaced, getUint(meta, keyCount))); err != nil {
			return err
		}
	}
	return t.apply(meta)
}

// after reports whether key sorts after every key of b.
func after(b *bolt.Bucket, key []byte) bool {
	last, _ := b.Cursor().Last()
	return last == nil || bytes.Compare(last, key) < 0
}

// recentBodies remembers the keys of bodies saved lately, so that a body
// seen again before CatchUp indexes it is not stored again: a fixed table
// of 2¹⁶ digests, each slot taken by the latest body whose digest falls in
// it. It forgets, but never errs: a slot is trusted only for its digest.
type recentBodies struct {
	mu   sync.Mutex
	slot []bodyRef // nil until the first put
}

const recentSlots = 1 << 16

func (rb *recentBodies) get(sum *[32]byte) uint64 {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	if rb.slot == nil {
		return 0
	}
	if e := &rb.slot[binary.BigEndian.Uint16(sum[:])]; e.sum == *sum {
		return e.body
	}
	return 0
}

// put remembers bodies saved by a committed transaction.
func (rb *recentBodies) put(bodies map[[32]byte]uint64) {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	if rb.slot == nil {
		rb.slot = make([]bodyRef, recentSlots)
	}
	for sum, key := range bodies {
		rb.slot[binary.BigEndian.Uint16(sum[:])] = bodyRef{sum, key}
	}
}

// recordV2 starts a record value that names its body's key: the byte,
// the key as a uvarint (0: no body kept in the job), then the JSON record.
// A value that starts with '{' is a record of an older job, found by its
// digest.
const recordV2 = 1

func recordValue(body uint64, data []byte) []byte {
	v := binary.AppendUvarint(append(make([]byte, 0, len(data)+10), recordV2), body)
	return append(v, data...)
}

// splitRecord returns a record value's body key and JSON.
func splitRecord(k, v []byte) (body uint64, data []byte, err error) {
	if len(v) > 0 && v[0] == recordV2 {
		n, m := binary.Uvarint(v[1:])
		if m <= 0 {
			return 0, nil, fmt.Errorf("%w: record %x", ErrDamaged, k)
		}
		return n, v[1+m:], nil
	}
	return 0, v, nil
}

// decodeRecord decodes the record value v at key k.
func decodeRecord(k, v []byte) (*Record, error) {
	body, data, err := splitRecord(k, v)
	if err != nil {
		return nil, err
	}
	r := &Record{body: body}
	if len(k) == 8 {
		r.seq = binary.BigEndian.Uint64(k)
	}
	if err := json.Unmarshal(data, r); err != nil {
		return nil, fmt.Errorf("%w: record %x: %v", ErrDamaged, k, err)
	}
	return r, nil
}
