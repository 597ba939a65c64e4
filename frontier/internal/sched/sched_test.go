package sched

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/frontier"
)

// sliceQueue is a Queue over slices, for the scheduler's own tests.
type sliceQueue map[string][]frontier.Lease

func (q sliceQueue) Pop(host string, _ int) (frontier.Lease, error) {
	l := q[host][0]
	q[host] = q[host][1:]
	return l, nil
}
func (q sliceQueue) Push(l frontier.Lease)    { q[l.Host] = append([]frontier.Lease{l}, q[l.Host]...) }
func (q sliceQueue) Drop(frontier.Lease) bool { return false }
func (q sliceQueue) Forget(string)            {}

// A change wakes the waiters that can proceed, not every idle worker:
// with 1,000 workers waiting, queuing one URL wakes a handful.
func TestWakeOnlyWhoCanProceed(t *testing.T) {
	q := sliceQueue{}
	s := New(frontier.Options{Pace: frontier.Pace{Limit: 1000}}, q)
	add := func(host string, n int) {
		s.Enqueue(func() {
			for i := range n {
				q[host] = append(q[host], frontier.Lease{Request: frontier.Request{URL: fmt.Sprintf("http://%s/%d", host, i)}})
			}
		}, map[string]int{host: n}, n, 0)
	}
	add("h", 1)
	first, err := s.Lease(context.Background()) // keeps the frontier from draining
	if err != nil {
		t.Fatal(err)
	}
	const workers = 1000
	var wg sync.WaitGroup
	got := make(chan frontier.Lease, workers)
	ctx, cancel := context.WithCancel(context.Background())
	for range workers {
		wg.Go(func() {
			if l, err := s.Lease(ctx); err == nil {
				got <- l
			} else if !errors.Is(err, context.Canceled) {
				t.Error(err)
			}
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		n := len(s.waiters)
		if s.timer != nil {
			n++
		}
		s.mu.Unlock()
		if n == workers || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond) // polling a condition, with a deadline
	}
	s.mu.Lock()
	before := s.wakeups
	s.mu.Unlock()
	add("h2", 3)
	for range 3 {
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			t.Fatal("a queued URL was not leased: a lost wakeup")
		}
	}
	s.mu.Lock()
	woken := s.wakeups - before
	s.mu.Unlock()
	cancel()
	wg.Wait()
	if woken > 6 {
		t.Errorf("queuing 3 URLs woke %d of %d waiting workers", woken, workers)
	}
	s.Completed([]frontier.Done{{Lease: first}})
}
