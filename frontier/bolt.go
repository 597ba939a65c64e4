package frontier

import (
	"bytes"
	"container/heap"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketQueue = []byte("frontier.queue") // host 0x00 seq → depth, url
	bucketSeen  = []byte("frontier.seen")  // seq → fingerprints of URLs added, appended
)

// Options tune a Bolt frontier.
type Options struct {
	// Pace is how a host is paced until the first Release says otherwise
	// (default: two leases at once, no gap).
	Pace Pace
}

// Bolt is a frontier kept in a bbolt database, usually the job's own file,
// so that completing a lease can share a transaction with saving its result.
//
// The queue lives on disk; memory holds one small record per host with
// work, a short read-ahead of that host's queue, and the seen-set as 64-bit
// fingerprints (about 16 bytes a URL). The seen-set is persisted as an
// append-only log and rebuilt when the frontier is opened, so adding a URL
// costs a map lookup and two sequential appends, never a random B-tree
// insert. Two distinct URLs share a fingerprint with probability about
// n²/2⁶⁵ (3·10⁻⁶ for ten million URLs).
type Bolt struct {
	db   *bolt.DB
	opts Options

	mu       sync.Mutex
	seen     map[uint64]struct{}
	hosts    map[string]*host
	ready    hostHeap // hosts with queued URLs and a free slot, by ready time
	queued   int
	leased   int
	filtered int
	added    int
	changed  chan struct{} // closed and replaced on every change Next waits for
}

type host struct {
	name     string
	queued   int     // entries on disk not yet leased (buffered included)
	buf      []Lease // read-ahead, in queue order
	after    []byte  // last key read into buf
	inflight int     // leases whose fetch has not been released
	leased   int     // leases not yet completed
	limit    int     // most inflight at once
	gap      time.Duration
	start    time.Time // last lease
	readyAt  time.Time
	index    int // in ready heap, or -1
}

const readAhead = 64

// OpenBolt opens the frontier stored in db, creating its buckets if needed.
// URLs leased by an earlier process that never completed them are queued
// again.
func OpenBolt(db *bolt.DB, opts Options) (*Bolt, error) {
	if opts.Pace.Limit <= 0 {
		opts.Pace.Limit = 2
	}
	f := &Bolt{
		db:      db,
		opts:    opts,
		seen:    make(map[uint64]struct{}),
		hosts:   make(map[string]*host),
		changed: make(chan struct{}),
	}
	err := db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketQueue, bucketSeen} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("frontier: %w", err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		err := tx.Bucket(bucketSeen).ForEach(func(_, v []byte) error {
			for ; len(v) >= 8; v = v[8:] {
				f.seen[binary.BigEndian.Uint64(v)] = struct{}{}
			}
			return nil
		})
		if err != nil {
			return err
		}
		c := tx.Bucket(bucketQueue).Cursor()
		var last *host
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			name := hostOfKey(k)
			if last == nil || last.name != string(name) {
				last = f.host(string(name))
			}
			last.queued++
			f.queued++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("frontier: %w", err)
	}
	for _, h := range f.hosts {
		f.schedule(h)
	}
	return f, nil
}

func hostOfKey(k []byte) []byte {
	if len(k) < 9 {
		return nil
	}
	return k[:len(k)-9]
}

// host returns the state of name, creating it. f.mu must be held.
func (f *Bolt) host(name string) *host {
	h := f.hosts[name]
	if h == nil {
		h = &host{name: name, limit: f.opts.Pace.Limit, gap: f.opts.Pace.Gap, index: -1}
		f.hosts[name] = h
	}
	return h
}

// schedule puts h in, moves it within, or takes it out of the ready heap
// after its state changed. f.mu must be held.
func (f *Bolt) schedule(h *host) {
	want := h.queued > 0 && h.inflight < h.limit
	switch {
	case want && h.index < 0:
		heap.Push(&f.ready, h)
	case want:
		heap.Fix(&f.ready, h.index)
	case h.index >= 0:
		heap.Remove(&f.ready, h.index)
	}
	if h.queued == 0 && h.leased == 0 && h.inflight == 0 && !h.readyAt.After(time.Now()) {
		delete(f.hosts, h.name)
	}
}

// notify wakes every goroutine waiting in Next. f.mu must be held.
func (f *Bolt) notify() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// fingerprint is the seen-set key of a canonical URL.
func fingerprint(url string) uint64 {
	sum := sha256.Sum256([]byte(url))
	return binary.BigEndian.Uint64(sum[:8])
}

// Add queues the requests whose URL was never added before and returns
// how many were new.
func (f *Bolt) Add(ctx context.Context, reqs []Request) (int, error) {
	return f.add(ctx, reqs, false)
}

// AddTx is Add inside the caller's write transaction. The frontier's view
// changes only when tx commits; if tx fails, the job must stop (the URLs it
// marked seen were not queued).
func (f *Bolt) AddTx(tx *bolt.Tx, reqs []Request) (int, error) {
	return f.addTx(tx, reqs, false)
}

// Requeue queues reqs again although they were seen before: URLs whose
// earlier fetch failed, to be tried once more. It returns how many it
// queued.
func (f *Bolt) Requeue(ctx context.Context, reqs []Request) (int, error) {
	return f.add(ctx, reqs, true)
}

// add runs addTx in a transaction of its own.
func (f *Bolt) add(ctx context.Context, reqs []Request, again bool) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var n int
	err := f.db.Update(func(tx *bolt.Tx) error {
		var err error
		n, err = f.addTx(tx, reqs, again)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("frontier: add: %w", err)
	}
	return n, nil
}

// addTx queues reqs: only those never seen, unless again.
func (f *Bolt) addTx(tx *bolt.Tx, reqs []Request, again bool) (int, error) {
	seen, queue := tx.Bucket(bucketSeen), tx.Bucket(bucketQueue)
	if seen == nil || queue == nil {
		return 0, errors.New("frontier buckets missing")
	}
	seen.FillPercent = 1    // append-only
	queue.FillPercent = 0.9 // keys grow within each host
	f.mu.Lock()
	fresh := reqs[:0:0]
	fps := make([]byte, 0, 8*len(reqs))
	for _, r := range reqs {
		fp := fingerprint(r.ID())
		if _, dup := f.seen[fp]; dup {
			if again {
				fresh = append(fresh, r)
			}
			continue
		}
		f.seen[fp] = struct{}{}
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
		h := Host(r.URL)
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
	tx.OnCommit(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		for name, c := range perHost {
			h := f.host(name)
			h.queued += c
			f.queued += c
			f.schedule(h)
		}
		f.added += added
		f.filtered += dup
		if added > 0 {
			f.notify()
		}
	})
	return added, nil
}

// Next leases the next URL whose host is ready, waiting until one is. It
// returns ErrDrained when nothing is queued and nothing is leased.
func (f *Bolt) Next(ctx context.Context) (Lease, error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	f.mu.Lock()
	for {
		if f.queued == 0 && f.leased == 0 {
			f.mu.Unlock()
			return Lease{}, ErrDrained
		}
		now := time.Now()
		var wait <-chan time.Time
		if len(f.ready) > 0 {
			h := f.ready[0]
			if !h.readyAt.After(now) {
				l, err := f.lease(h, now)
				f.mu.Unlock()
				return l, err
			}
			d := h.readyAt.Sub(now)
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			wait = timer.C
		}
		changed := f.changed
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			return Lease{}, ctx.Err()
		case <-changed:
		case <-wait:
		}
		f.mu.Lock()
	}
}

// lease takes the head of h's queue. f.mu must be held.
func (f *Bolt) lease(h *host, now time.Time) (Lease, error) {
	if len(h.buf) == 0 {
		if err := f.fill(h); err != nil {
			return Lease{}, err
		}
		if len(h.buf) == 0 { // the count was wrong; trust the disk
			f.queued -= h.queued
			h.queued = 0
			f.schedule(h)
			return Lease{}, fmt.Errorf("frontier: host %s has no queued entries on disk", h.name)
		}
	}
	l := h.buf[0]
	h.buf[0] = Lease{}
	h.buf = h.buf[1:]
	h.queued--
	f.queued--
	h.inflight++
	h.leased++
	f.leased++
	h.start = now
	h.readyAt = now.Add(h.gap)
	f.schedule(h)
	return l, nil
}

// fill reads the next entries of h's queue into h.buf: never more than the
// committed count, so a commit whose bookkeeping has not run is not read.
func (f *Bolt) fill(h *host) error {
	n := min(readAhead, h.queued)
	prefix := append([]byte(h.name), 0)
	return f.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketQueue).Cursor()
		var k, v []byte
		if h.after == nil {
			k, v = c.Seek(prefix)
		} else if k, v = c.Seek(h.after); bytes.Equal(k, h.after) {
			k, v = c.Next()
		}
		h.buf = h.buf[:0]
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(h.buf) < n; k, v = c.Next() {
			depth, m := binary.Uvarint(v)
			if m <= 0 {
				return fmt.Errorf("corrupt queue entry %x", k)
			}
			key := bytes.Clone(k)
			u, spec, _ := strings.Cut(string(v[m:]), "\x00")
			h.buf = append(h.buf, Lease{
				Request: Request{URL: u, Depth: int(depth), Spec: spec},
				Host:    h.name,
				Key:     key,
			})
			h.after = key
		}
		return nil
	})
}

// Release ends the fetch of l without completing it: its host may be
// leased again as p says.
func (f *Bolt) Release(l Lease, p Pace) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.hosts[l.Host]
	if h == nil {
		return
	}
	h.inflight--
	h.gap = p.Gap
	if p.Limit > 0 {
		h.limit = p.Limit
	}
	if t := h.start.Add(h.gap); t.After(h.readyAt) {
		h.readyAt = t
	}
	if p.NotBefore.After(h.readyAt) {
		h.readyAt = p.NotBefore
	}
	f.schedule(h)
	f.notify()
}

// Return puts l back to the head of its host's queue
// (it never left the disk), and the host is not leased again before
// notBefore.
func (f *Bolt) Return(l Lease, notBefore time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.hosts[l.Host]
	if h == nil {
		return
	}
	h.buf = append([]Lease{l}, h.buf...)
	h.queued++
	f.queued++
	h.inflight--
	h.leased--
	f.leased--
	if notBefore.After(h.readyAt) {
		h.readyAt = notBefore
	}
	f.schedule(h)
	f.notify()
}

// Hold keeps host from being leased before until.
func (f *Bolt) Hold(host string, until time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.hosts[host]
	if h == nil || !until.After(h.readyAt) {
		return
	}
	h.readyAt = until
	f.schedule(h)
}

// Complete removes completed leases from the queue and adds what was found
// on their pages, in one transaction.
func (f *Bolt) Complete(ctx context.Context, done []Done) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := f.db.Update(func(tx *bolt.Tx) error { return f.CompleteTx(tx, done) })
	if err != nil {
		return fmt.Errorf("frontier: complete: %w", err)
	}
	return nil
}

// CompleteTx is Complete inside the caller's write transaction, so that a
// page's result and its removal from the queue commit together. The
// frontier's view changes only when tx commits.
func (f *Bolt) CompleteTx(tx *bolt.Tx, done []Done) error {
	queue := tx.Bucket(bucketQueue)
	if queue == nil {
		return errors.New("frontier buckets missing")
	}
	var found []Request
	for _, d := range done {
		if err := queue.Delete(d.Lease.Key); err != nil {
			return err
		}
		found = append(found, d.Found...)
	}
	if len(found) > 0 {
		if _, err := f.AddTx(tx, found); err != nil {
			return err
		}
	}
	tx.OnCommit(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, d := range done {
			f.leased--
			if h := f.hosts[d.Lease.Host]; h != nil {
				h.leased--
				f.schedule(h)
			}
		}
		f.notify()
	})
	return nil
}

// Stats returns current counts.
func (f *Bolt) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Stats{
		Queued:   f.queued,
		Leased:   f.leased,
		Hosts:    len(f.hosts),
		Seen:     f.added,
		Filtered: f.filtered,
	}
}

// hostHeap orders hosts by the time they may next be leased.
type hostHeap []*host

func (h hostHeap) Len() int           { return len(h) }
func (h hostHeap) Less(i, j int) bool { return h[i].readyAt.Before(h[j].readyAt) }
func (h hostHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *hostHeap) Push(x any) {
	e := x.(*host)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *hostHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	e.index = -1
	*h = old[:len(old)-1]
	return e
}

// DB returns the database the frontier is kept in.
func (f *Bolt) DB() *bolt.DB { return f.db }

// Queued counts the URLs waiting in the frontier kept in db (leased ones
// included), reading only: it works on a job opened read-only.
func Queued(db *bolt.DB) (int, error) {
	n := 0
	err := db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketQueue); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n, err
}
