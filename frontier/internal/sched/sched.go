// Package sched is the per-host scheduler of the frontiers that run in one
// process (frontier/bolt and frontier/memory): host caps, gaps and holds,
// a ready heap of hosts by next-allowed time (Veidemann's ready/wait
// design), lease tokens and deadlines, expiry, and the limits. Where the
// queued entries live is the implementation's (see Queue).
package sched

import (
	"container/heap"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/trawl-dev/trawl/frontier"
)

// Queue is where an implementation keeps its queued entries. The scheduler
// calls it with its lock held; an implementation must not call back into
// the scheduler from it.
type Queue interface {
	// Pop removes and returns the head of host's queue, of which the
	// scheduler counts queued entries.
	Pop(host string, queued int) (frontier.Lease, error)
	// Push puts l back at the head of its host's queue.
	Push(l frontier.Lease)
	// Drop removes l's entry from its host's queue if it is there (a lost
	// lease whose request went back to the queue, then was completed).
	Drop(l frontier.Lease) bool
	// Forget drops what it keeps in memory for host, which has nothing
	// queued or leased.
	Forget(host string)
}

// Sched schedules the hosts of one frontier. It is safe for concurrent use.
type Sched struct {
	opts frontier.Options
	q    Queue

	mu        sync.Mutex
	hosts     map[string]*host
	ready     hostHeap // hosts with queued entries and a free slot, by ready time
	leases    map[uint64]*lease
	deadlines leaseHeap
	token     uint64
	queued    int
	leased    int
	done      int // completed, earlier runs included
	lost      int
	filtered  int
	added     int
	over      int
	waiters   []chan struct{} // Lease calls waiting for a change, oldest first
	timer     chan struct{}   // the one waiter that also waits for the next ready time, or nil
	wakeups   int             // waiters woken, for tests
}

type host struct {
	name     string
	queued   int // entries not leased
	inflight int // leases not released
	leased   int // leases not completed
	admitted int // requests admitted, for MaxPerHost
	fetched  int // leases granted and not returned, for MaxPerHost
	limit    int
	gap      time.Duration
	start    time.Time // last lease
	readyAt  time.Time
	index    int // in the ready heap, or -1
}

type lease struct {
	l        frontier.Lease
	released bool
	index    int // in the deadline heap
}

// New returns a scheduler for q with opts (defaults filled in).
func New(opts frontier.Options, q Queue) *Sched {
	opts = opts.WithDefaults()
	return &Sched{
		opts:   opts,
		q:      q,
		hosts:  make(map[string]*host),
		leases: make(map[uint64]*lease),
		done:   opts.Done,
	}
}

// host returns the state of name, creating it. s.mu must be held.
func (s *Sched) host(name string) *host {
	h := s.hosts[name]
	if h == nil {
		h = &host{name: name, limit: s.opts.Pace.Limit, gap: s.opts.Pace.Gap, index: -1}
		h.fetched = s.opts.Fetched[name]
		h.admitted = h.fetched
		s.hosts[name] = h
	}
	return h
}

// schedule puts h in, moves it within, or takes it out of the ready heap
// after its state changed. s.mu must be held.
func (s *Sched) schedule(h *host) {
	want := h.queued > 0 && h.inflight < h.limit
	switch {
	case want && h.index < 0:
		heap.Push(&s.ready, h)
	case want:
		heap.Fix(&s.ready, h.index)
	case h.index >= 0:
		heap.Remove(&s.ready, h.index)
	}
	if h.queued == 0 && h.leased == 0 && h.inflight == 0 && !h.readyAt.After(time.Now()) &&
		s.opts.MaxPerHost == 0 {
		delete(s.hosts, h.name) // budgets need the host's counts kept
		s.q.Forget(h.name)
	}
}

// notify wakes the Lease calls that the change may let proceed: the one
// that waits for the next ready time (the change may have moved it) and
// one more; each that leases wakes another while hosts are ready. When
// nothing is left to lease (drained, or at the limit), it wakes them all
// to return. s.mu must be held.
func (s *Sched) notify() {
	if s.queued == 0 && s.leased == 0 || s.limited() && s.leased == 0 {
		s.wake(len(s.waiters))
	} else {
		s.wake(1)
	}
	if s.timer != nil {
		s.signal(s.timer)
		s.timer = nil
	}
}

// wake wakes the n oldest waiters. s.mu must be held.
func (s *Sched) wake(n int) {
	for ; n > 0 && len(s.waiters) > 0; n-- {
		s.signal(s.waiters[0])
		s.waiters[0] = nil
		s.waiters = s.waiters[1:]
	}
}

func (s *Sched) signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
		s.wakeups++
	default: // woken already
	}
}

// limited reports whether MaxPages leases are completed or under way.
func (s *Sched) limited() bool {
	return s.opts.MaxPages > 0 && s.done+s.leased >= s.opts.MaxPages
}

// unwait takes c out of the waiters (its wait ended on its own). s.mu must
// be held.
func (s *Sched) unwait(c chan struct{}) {
	if s.timer == c {
		s.timer = nil
	}
	for i, w := range s.waiters {
		if w == c {
			s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
			return
		}
	}
}

// Admit reports whether a new request of hostName at depth may be queued,
// and counts it if so: links past the host's budget are dropped, requests
// at depth 0 (seeds, list entries) never are.
func (s *Sched) Admit(hostName string, depth int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.MaxPerHost <= 0 {
		return true
	}
	h := s.host(hostName)
	if depth > 0 && h.admitted >= s.opts.MaxPerHost {
		s.over++
		return false
	}
	h.admitted++
	return true
}

// Enqueue records entries made queued: put (if not nil) puts them in the
// Queue, under the scheduler's lock; perHost counts them by host; added and
// dup count Add's new and already-seen requests.
func (s *Sched) Enqueue(put func(), perHost map[string]int, added, dup int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if put != nil {
		put()
	}
	for name, n := range perHost {
		h := s.host(name)
		h.queued += n
		s.queued += n
		s.schedule(h)
	}
	s.added += added
	s.filtered += dup
	if len(perHost) > 0 {
		s.notify()
	}
}

// Resume records the entries an earlier run left queued, by host: they
// hold their budget.
func (s *Sched) Resume(perHost map[string]int) {
	s.mu.Lock()
	for name, n := range perHost {
		s.host(name).admitted += n
	}
	s.mu.Unlock()
	s.Enqueue(nil, perHost, 0, 0)
}

// Lease waits until a host is ready and leases the head of its queue.
func (s *Sched) Lease(ctx context.Context) (frontier.Lease, error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	me := make(chan struct{}, 1)
	s.mu.Lock()
	for {
		now := time.Now()
		s.reap(now)
		if s.queued == 0 && s.leased == 0 {
			s.mu.Unlock()
			return frontier.Lease{}, frontier.ErrDrained
		}
		limited := s.limited()
		if limited && s.leased == 0 {
			s.mu.Unlock()
			return frontier.Lease{}, frontier.ErrLimit
		}
		var wake time.Time
		if len(s.ready) > 0 && !limited {
			h := s.ready[0]
			if !h.readyAt.After(now) {
				l, err := s.lease(h, now)
				if len(s.ready) > 0 && !s.ready[0].readyAt.After(now) || s.timer == nil {
					// More is ready, or nobody watches the clock: pass it on.
					s.wake(1)
				}
				s.mu.Unlock()
				return l, err
			}
			wake = h.readyAt
		}
		if len(s.deadlines) > 0 && (wake.IsZero() || s.deadlines[0].l.Deadline.Before(wake)) {
			wake = s.deadlines[0].l.Deadline
		}
		// One waiter watches the clock for the next ready time; the others
		// wait to be woken.
		var tick <-chan time.Time
		if !wake.IsZero() && s.timer == nil {
			s.timer = me
			d := wake.Sub(now)
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			tick = timer.C
		} else {
			s.waiters = append(s.waiters, me)
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			s.mu.Lock()
			s.unwait(me)
			s.mu.Unlock()
			return frontier.Lease{}, ctx.Err()
		case <-me:
		case <-tick:
		}
		s.mu.Lock()
		s.unwait(me)
		select { // a signal that came with the tick: spent by this look
		case <-me:
		default:
		}
	}
}

// lease takes the head of h's queue. s.mu must be held.
func (s *Sched) lease(h *host, now time.Time) (frontier.Lease, error) {
	l, err := s.q.Pop(h.name, h.queued)
	if err != nil {
		// The count was wrong: trust the queue.
		s.queued -= h.queued
		h.queued = 0
		s.schedule(h)
		return frontier.Lease{}, fmt.Errorf("frontier: host %s: %w", h.name, err)
	}
	s.token++
	l.Host, l.Token, l.Deadline = h.name, s.token, now.Add(s.opts.LeaseTTL)
	l.OverBudget = false
	if s.opts.MaxPerHost > 0 {
		l.OverBudget = h.fetched >= s.opts.MaxPerHost
		if !l.OverBudget {
			h.fetched++
		}
	}
	h.queued--
	s.queued--
	h.inflight++
	h.leased++
	s.leased++
	h.start = now
	h.readyAt = now.Add(h.gap)
	le := &lease{l: l}
	s.leases[l.Token] = le
	heap.Push(&s.deadlines, le)
	s.schedule(h)
	return l, nil
}

// reap returns the leases whose deadline passed to their queues. s.mu must
// be held.
func (s *Sched) reap(now time.Time) {
	for len(s.deadlines) > 0 && !s.deadlines[0].l.Deadline.After(now) {
		le := heap.Pop(&s.deadlines).(*lease)
		s.lost++
		s.unlease(le, true)
		s.q.Push(le.l)
		h := s.hosts[le.l.Host]
		h.queued++
		s.queued++
		s.schedule(h)
	}
}

// unlease forgets le, freeing its host's slot unless it was released, and
// giving back its budget unit when it was not fetched. s.mu must be held.
func (s *Sched) unlease(le *lease, unfetched bool) {
	delete(s.leases, le.l.Token)
	if le.index >= 0 {
		heap.Remove(&s.deadlines, le.index)
	}
	h := s.host(le.l.Host)
	if !le.released {
		h.inflight--
	}
	h.leased--
	s.leased--
	if unfetched && s.opts.MaxPerHost > 0 && !le.l.OverBudget {
		h.fetched--
	}
}

// active returns l's live lease, or nil after reaping expired ones. s.mu
// must be held.
func (s *Sched) active(l frontier.Lease) *lease {
	s.reap(time.Now())
	return s.leases[l.Token]
}

func lost(l frontier.Lease) error {
	return fmt.Errorf("%w: %s (lease %d)", frontier.ErrLeaseLost, l.URL, l.Token)
}

// Extend moves l's deadline to LeaseTTL from now.
func (s *Sched) Extend(_ context.Context, l frontier.Lease) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	le := s.active(l)
	if le == nil {
		return lost(l)
	}
	le.l.Deadline = time.Now().Add(s.opts.LeaseTTL)
	heap.Fix(&s.deadlines, le.index)
	return nil
}

// Release ends the fetch of l and paces its host by p.
func (s *Sched) Release(_ context.Context, l frontier.Lease, p frontier.Pace) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.host(l.Host)
	h.gap = p.Gap // the gap runs from the last lease's start
	if p.Limit > 0 {
		h.limit = p.Limit
	}
	if p.NotBefore.After(h.readyAt) {
		h.readyAt = p.NotBefore
	}
	if t := h.start.Add(h.gap); t.After(h.readyAt) {
		h.readyAt = t
	}
	le := s.active(l)
	if le != nil && !le.released {
		le.released = true
		h.inflight--
	}
	s.schedule(h)
	s.notify()
	if le == nil {
		return lost(l)
	}
	return nil
}

// Return puts l back at the head of its host's queue.
func (s *Sched) Return(_ context.Context, l frontier.Lease, notBefore time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	le := s.active(l)
	if le == nil {
		return lost(l)
	}
	s.unlease(le, true)
	s.q.Push(le.l)
	h := s.hosts[l.Host]
	h.queued++
	s.queued++
	if notBefore.After(h.readyAt) {
		h.readyAt = notBefore
	}
	s.schedule(h)
	s.notify()
	return nil
}

// Hold keeps hostName from being leased before until.
func (s *Sched) Hold(_ context.Context, hostName string, until time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.hosts[hostName]
	if h == nil || !until.After(h.readyAt) {
		return nil
	}
	h.readyAt = until
	s.schedule(h)
	return nil
}

// Completed records completed leases, after the implementation removed
// their entries for good. It returns an error wrapping ErrLeaseLost if
// some were lost, having dropped their entries from the queue if they
// went back to it.
func (s *Sched) Completed(done []frontier.Done) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var gone []frontier.Lease
	for _, d := range done {
		le := s.active(d.Lease)
		if le == nil {
			gone = append(gone, d.Lease)
			if s.q.Drop(d.Lease) {
				h := s.host(d.Lease.Host)
				h.queued--
				s.queued--
				s.schedule(h)
			}
			continue
		}
		s.unlease(le, false)
		s.done++
		s.schedule(s.host(d.Lease.Host))
	}
	s.notify()
	if len(gone) > 0 {
		return &frontier.LostError{Leases: gone}
	}
	return nil
}

// Stats returns the scheduler's counts.
func (s *Sched) Stats(context.Context) (frontier.Stats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reap(time.Now())
	hosts := 0
	for _, h := range s.hosts {
		if h.queued > 0 || h.leased > 0 {
			hosts++
		}
	}
	return frontier.Stats{
		Queued:     s.queued,
		Leased:     s.leased,
		Hosts:      hosts,
		Seen:       s.added,
		Filtered:   s.filtered,
		OverBudget: s.over,
		Completed:  s.done,
		Lost:       s.lost,
	}, nil
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

// leaseHeap orders leases by deadline.
type leaseHeap []*lease

func (h leaseHeap) Len() int           { return len(h) }
func (h leaseHeap) Less(i, j int) bool { return h[i].l.Deadline.Before(h[j].l.Deadline) }
func (h leaseHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *leaseHeap) Push(x any) {
	e := x.(*lease)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *leaseHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	e.index = -1
	*h = old[:len(old)-1]
	return e
}

// Leases is the face of a Sched that a frontier shows its callers: the
// methods of frontier.Frontier the scheduler answers by itself. A frontier
// embeds it, so that the scheduler's other methods stay its own.
type Leases struct{ s *Sched }

// Leases returns s's face.
func (s *Sched) Leases() Leases { return Leases{s} }

// Lease implements frontier.Frontier.
func (l Leases) Lease(ctx context.Context) (frontier.Lease, error) { return l.s.Lease(ctx) }

// Extend implements frontier.Frontier.
func (l Leases) Extend(ctx context.Context, le frontier.Lease) error { return l.s.Extend(ctx, le) }

// Release implements frontier.Frontier.
func (l Leases) Release(ctx context.Context, le frontier.Lease, p frontier.Pace) error {
	return l.s.Release(ctx, le, p)
}

// Return implements frontier.Frontier.
func (l Leases) Return(ctx context.Context, le frontier.Lease, notBefore time.Time) error {
	return l.s.Return(ctx, le, notBefore)
}

// Hold implements frontier.Frontier.
func (l Leases) Hold(ctx context.Context, host string, until time.Time) error {
	return l.s.Hold(ctx, host, until)
}

// Stats implements frontier.Frontier.
func (l Leases) Stats(ctx context.Context) (frontier.Stats, error) { return l.s.Stats(ctx) }
