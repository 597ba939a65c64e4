// Package bolt is a frontier kept in the job's bbolt file (see
// internal/jobfile), so that completing a lease can share one transaction
// with saving its result.
//
// The queue lives on disk: one FIFO per host under "host\x00seq" keys.
// Memory holds the scheduler's small record per host, a short read-ahead
// of each host's queue, and the seen-set as 64-bit fingerprints (about 11
// bytes a URL, outside the Go heap: see frontier/internal/fpset). The
// seen-set is persisted as an append-only log and read back at the first
// Add (not at Open: a finished job opened to be looked at or resumed with
// nothing new reads none of it), so adding a URL costs a probe and two
// sequential appends, never a random B-tree insert. Two distinct URLs
// share a fingerprint with probability about n²/2⁶⁵ (3·10⁻⁶ for ten
// million URLs).
//
// Leases are not written down: every request leased when the process died
// is queued again when the frontier is next opened.
package bolt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/frontier/internal/fpset"
	"github.com/trawl-dev/trawl/frontier/internal/sched"
	"github.com/trawl-dev/trawl/internal/jobfile"
)

// Frontier is a frontier.Frontier kept in a job file.
type Frontier struct {
	sched.Leases // Lease, Extend, Release, Return, Hold, Stats
	sched        *sched.Sched
	file         *jobfile.File
	q            *queue

	mu   sync.Mutex // guards seen
	seen *fpset.Set // nil until the first Add reads it
}

var _ frontier.Frontier = (*Frontier)(nil)

// queue is the disk side of the frontier: per-host read-ahead buffers over
// the queue bucket. The scheduler calls it with its lock held.
type queue struct {
	file  *jobfile.File
	hosts map[string]*hostBuf
}

type hostBuf struct {
	buf   []frontier.Lease // read-ahead and returned leases, in queue order
	after []byte           // last key read into buf
}

const readAhead = 64

// Open opens the frontier kept in f. Requests leased by an earlier process
// that never completed them are queued again.
func Open(f *jobfile.File, opts frontier.Options) (*Frontier, error) {
	fr := &Frontier{
		file: f,
		q:    &queue{file: f, hosts: make(map[string]*hostBuf)},
	}
	fr.sched = sched.New(opts, fr.q)
	fr.Leases = fr.sched.Leases()
	perHost := make(map[string]int)
	err := f.View(func(tx *jobfile.Tx) error {
		c := tx.Bucket(jobfile.Queue).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			perHost[string(hostOfKey(k))]++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("frontier: %w", err)
	}
	fr.sched.Resume(perHost)
	return fr, nil
}

func hostOfKey(k []byte) []byte {
	if len(k) < 9 {
		return nil
	}
	return k[:len(k)-9]
}

// loadSeen reads the seen-set's log: at the first Add, not at Open, so
// that opening a finished job of millions of URLs to look at it or
// resume it reads none of them.
func loadSeen(b interface {
	ForEach(func(k, v []byte) error) error
}) *fpset.Set {
	n := 0
	b.ForEach(func(_, v []byte) error { n += len(v) / 8; return nil })
	set := fpset.New(n)
	b.ForEach(func(_, v []byte) error {
		for ; len(v) >= 8; v = v[8:] {
			set.Add(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	return set
}

// fingerprint is the seen-set key of a request.
func fingerprint(id string) uint64 {
	sum := sha256.Sum256([]byte(id))
	return binary.BigEndian.Uint64(sum[:8])
}

// Add queues the requests never added before.
func (f *Frontier) Add(ctx context.Context, reqs []frontier.Request) (int, error) {
	return f.add(ctx, reqs, false)
}

// Requeue queues reqs again although they were seen before.
func (f *Frontier) Requeue(ctx context.Context, reqs []frontier.Request) (int, error) {
	return f.add(ctx, reqs, true)
}

func (f *Frontier) add(ctx context.Context, reqs []frontier.Request, again bool) (int, error) {
	if err := ctx.Err(); err != nil || len(reqs) == 0 {
		return 0, err // nothing to add: the seen-set need not be read
	}
	var n int
	err := f.file.Update(func(tx *jobfile.Tx) error {
		var err error
		n, err = f.addTx(tx, reqs, again)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("frontier: add: %w", err)
	}
	return n, nil
}

// addTx queues reqs in tx: only those never seen, unless again. The
// scheduler learns of them when tx commits; if tx fails, the job must stop
// (the requests it marked seen were not queued).
func (f *Frontier) addTx(tx *jobfile.Tx, reqs []frontier.Request, again bool) (int, error) {
	seen, queue := tx.Bucket(jobfile.Seen), tx.Bucket(jobfile.Queue)
	if seen == nil || queue == nil {
		return 0, errors.New("frontier buckets missing")
	}
	seen.FillPercent = 1    // append-only
	queue.FillPercent = 0.9 // keys grow within each host
	fresh := reqs[:0:0]
	fps := make([]byte, 0, 8*len(reqs))
	f.mu.Lock()
	if f.seen == nil {
		f.seen = loadSeen(seen)
	}
	for _, r := range reqs {
		fp := fingerprint(r.ID())
		if f.seen.Has(fp) {
			if again {
				fresh = append(fresh, r)
			}
			continue
		}
		if !f.sched.Admit(frontier.Host(r.URL), r.Depth) {
			continue
		}
		f.seen.Add(fp)
		fresh = append(fresh, r)
		fps = binary.BigEndian.AppendUint64(fps, fp)
	}
	f.mu.Unlock()
	if len(fps) > 0 {
		seq, err := seen.NextSequence()
		if err != nil {
			return 0, err
		}
		if err := seen.Put(binary.BigEndian.AppendUint64(nil, seq), fps); err != nil {
			return 0, err
		}
	}
	perHost := make(map[string]int)
	var key []byte
	for _, r := range fresh {
		h := frontier.Host(r.URL)
		seq, err := queue.NextSequence()
		if err != nil {
			return 0, err
		}
		key = append(key[:0], h...)
		key = append(key, 0)
		key = binary.BigEndian.AppendUint64(key, seq)
		val := binary.AppendUvarint(make([]byte, 0, len(r.URL)+len(r.Spec)+3), uint64(r.Depth))
		val = append(val, r.URL...)
		if r.Spec != "" { // canonical URLs hold no NUL
			val = append(val, 0)
			val = append(val, r.Spec...)
		}
		if err := queue.Put(key, val); err != nil {
			return 0, err
		}
		perHost[h]++
	}
	added, dup := len(fresh), len(reqs)-len(fresh)
	tx.OnCommit(func() { f.sched.Enqueue(nil, perHost, added, dup) })
	return added, nil
}

// RequeueTx is Requeue inside the caller's write transaction.
func (f *Frontier) RequeueTx(tx *jobfile.Tx, reqs []frontier.Request) (int, error) {
	return f.addTx(tx, reqs, true)
}

// ErrQueued is returned by NewPassTx when requests are still queued.
var ErrQueued = errors.New("frontier: requests are still queued")

// NewPassTx begins a new pass over the job in tx: the seen-set is emptied,
// so that every URL may be queued once more, and reqs are queued (each
// once). The queue must be empty (ErrQueued). Nothing else may use the
// frontier until tx ends; if tx fails, the frontier must not be used.
func (f *Frontier) NewPassTx(tx *jobfile.Tx, reqs []frontier.Request) (int, error) {
	if k, _ := tx.Bucket(jobfile.Queue).Cursor().First(); k != nil {
		return 0, ErrQueued
	}
	if _, err := tx.Recreate(jobfile.Seen); err != nil {
		return 0, err
	}
	f.mu.Lock()
	f.seen = fpset.New(len(reqs))
	f.mu.Unlock()
	return f.addTx(tx, reqs, false)
}

// Complete removes completed leases from the queue and adds what was found
// on their pages, in one transaction of its own.
func (f *Frontier) Complete(ctx context.Context, done []frontier.Done) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var lost error
	err := f.file.Update(func(tx *jobfile.Tx) error {
		return f.CompleteTx(tx, done, &lost)
	})
	if err != nil {
		return fmt.Errorf("frontier: complete: %w", err)
	}
	return lost
}

// CompleteTx is Complete inside the caller's write transaction, so that a
// page's result and its removal from the queue commit together. The
// scheduler learns of it when tx commits, and then sets *lost to an error
// wrapping frontier.ErrLeaseLost if some leases had expired.
func (f *Frontier) CompleteTx(tx *jobfile.Tx, done []frontier.Done, lost *error) error {
	queue := tx.Bucket(jobfile.Queue)
	if queue == nil {
		return errors.New("frontier buckets missing")
	}
	var found []frontier.Request
	for _, d := range done {
		if err := queue.Delete(d.Lease.Key); err != nil {
			return err
		}
		found = append(found, d.Found...)
	}
	if len(found) > 0 {
		if _, err := f.addTx(tx, found, false); err != nil {
			return err
		}
	}
	tx.OnCommit(func() { *lost = f.sched.Completed(done) })
	return nil
}

// Pop implements sched.Queue: the head of host's buffer, read ahead from
// disk when empty (never more than the scheduler's count, so that a
// commit whose bookkeeping has not run is not read).
func (q *queue) Pop(host string, queued int) (frontier.Lease, error) {
	hb := q.hosts[host]
	if hb == nil {
		hb = &hostBuf{}
		q.hosts[host] = hb
	}
	if len(hb.buf) == 0 {
		if err := q.fill(host, hb, min(readAhead, queued)); err != nil {
			return frontier.Lease{}, err
		}
		if len(hb.buf) == 0 {
			delete(q.hosts, host)
			return frontier.Lease{}, errors.New("no queued entries on disk")
		}
	}
	l := hb.buf[0]
	hb.buf[0] = frontier.Lease{}
	hb.buf = hb.buf[1:]
	return l, nil
}

// Push implements sched.Queue.
func (q *queue) Push(l frontier.Lease) {
	hb := q.hosts[l.Host]
	if hb == nil { // not forgotten while it has a lease; kept safe anyway
		hb = &hostBuf{after: l.Key}
		q.hosts[l.Host] = hb
	}
	hb.buf = append([]frontier.Lease{l}, hb.buf...)
}

// Forget implements sched.Queue.
func (q *queue) Forget(host string) { delete(q.hosts, host) }

// Drop implements sched.Queue.
func (q *queue) Drop(l frontier.Lease) bool {
	hb := q.hosts[l.Host]
	if hb == nil {
		return false
	}
	for i, e := range hb.buf {
		if bytes.Equal(e.Key, l.Key) {
			hb.buf = append(hb.buf[:i], hb.buf[i+1:]...)
			return true
		}
	}
	return false
}

// fill reads up to n entries of host's queue after hb.after into hb.buf.
func (q *queue) fill(host string, hb *hostBuf, n int) error {
	prefix := append([]byte(host), 0)
	return q.file.View(func(tx *jobfile.Tx) error {
		c := tx.Bucket(jobfile.Queue).Cursor()
		var k, v []byte
		if hb.after == nil {
			k, v = c.Seek(prefix)
		} else if k, v = c.Seek(hb.after); bytes.Equal(k, hb.after) {
			k, v = c.Next()
		}
		hb.buf = hb.buf[:0]
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(hb.buf) < n; k, v = c.Next() {
			depth, m := binary.Uvarint(v)
			if m <= 0 {
				return fmt.Errorf("corrupt queue entry %x", k)
			}
			key := bytes.Clone(k)
			u, spec, _ := strings.Cut(string(v[m:]), "\x00")
			hb.buf = append(hb.buf, frontier.Lease{
				Request: frontier.Request{URL: u, Depth: int(depth), Spec: spec},
				Host:    host,
				Key:     key,
			})
			hb.after = key
		}
		return nil
	})
}

// Queued counts the requests waiting in the frontier kept in f (leased
// ones included), reading only: it works on a job opened read-only.
func Queued(f *jobfile.File) (int, error) {
	n := 0
	err := f.View(func(tx *jobfile.Tx) error {
		if b := tx.Bucket(jobfile.Queue); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n, err
}
