// Package memory is a frontier kept in memory: for library users who need
// no resume, for tests, and as the second implementation that keeps the
// frontier contract honest. Nothing survives the process.
package memory

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"

	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/frontier/internal/sched"
)

// Frontier is a frontier.Frontier in memory.
type Frontier struct {
	sched.Leases // Lease, Extend, Release, Return, Hold, Stats
	sched        *sched.Sched

	mu     sync.Mutex // guards seen; queues are guarded by the scheduler's lock
	seen   map[string]struct{}
	queues map[string][]frontier.Lease
	seq    uint64
}

var _ frontier.Frontier = (*Frontier)(nil)

// New returns an empty frontier.
func New(opts frontier.Options) *Frontier {
	f := &Frontier{seen: make(map[string]struct{}), queues: make(map[string][]frontier.Lease)}
	f.sched = sched.New(opts, (*queue)(f))
	f.Leases = f.sched.Leases()
	return f
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
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	perHost := make(map[string]int)
	f.mu.Lock()
	added := 0
	var fresh []frontier.Lease
	for _, r := range reqs {
		id := r.ID()
		if _, dup := f.seen[id]; dup && !again {
			continue
		}
		h := frontier.Host(r.URL)
		if _, dup := f.seen[id]; !dup {
			if !f.sched.Admit(h, r.Depth) {
				continue
			}
			f.seen[id] = struct{}{}
		}
		f.seq++
		fresh = append(fresh, frontier.Lease{Request: r, Host: h, Key: binary.BigEndian.AppendUint64(nil, f.seq)})
		perHost[h]++
		added++
	}
	f.mu.Unlock()
	f.sched.Enqueue(func() {
		for _, l := range fresh {
			f.queues[l.Host] = append(f.queues[l.Host], l)
		}
	}, perHost, added, len(reqs)-added)
	return added, nil
}

// Complete removes completed leases and adds what was found on their pages.
func (f *Frontier) Complete(ctx context.Context, done []frontier.Done) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var found []frontier.Request
	for _, d := range done {
		found = append(found, d.Found...)
	}
	if _, err := f.add(ctx, found, false); err != nil {
		return err
	}
	return f.sched.Completed(done)
}

// queue is the Frontier's sched.Queue: its per-host slices.
type queue Frontier

func (q *queue) Pop(host string, _ int) (frontier.Lease, error) {
	s := q.queues[host]
	if len(s) == 0 {
		return frontier.Lease{}, errors.New("queue empty")
	}
	l := s[0]
	s[0] = frontier.Lease{}
	q.queues[host] = s[1:]
	return l, nil
}

func (q *queue) Push(l frontier.Lease) {
	q.queues[l.Host] = append([]frontier.Lease{l}, q.queues[l.Host]...)
}

func (q *queue) Drop(l frontier.Lease) bool {
	s := q.queues[l.Host]
	for i, e := range s {
		if string(e.Key) == string(l.Key) {
			q.queues[l.Host] = append(s[:i], s[i+1:]...)
			return true
		}
	}
	return false
}

func (q *queue) Forget(host string) { delete(q.queues, host) }
