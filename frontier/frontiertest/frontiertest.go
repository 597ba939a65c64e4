// Package frontiertest is the conformance suite of the frontier contract
// (see frontier.Frontier). Every implementation runs it from its own tests:
//
//	frontiertest.Run(t, frontiertest.Impl{Open: ..., Reopen: ...})
package frontiertest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/frontier"
)

// Impl opens the frontiers under test.
type Impl struct {
	// Open returns a new, empty frontier with opts.
	Open func(t *testing.T, opts frontier.Options) frontier.Frontier
	// Reopen, for an implementation that persists, abandons f as a killed
	// process would (its leases never completed) and opens its state
	// again with opts. Nil skips the crash tests.
	Reopen func(t *testing.T, f frontier.Frontier, opts frontier.Options) frontier.Frontier
	// Shared says the frontier outlives its processes (it lives in a
	// server): the leases of a killed process come back when they expire,
	// not when the frontier is opened again.
	Shared bool
}

// Run runs the suite.
func Run(t *testing.T, impl Impl) {
	tests := []struct {
		name string
		fn   func(*testing.T, Impl)
	}{
		{"Dedup", testDedup},
		{"ConcurrentDedup", testConcurrentDedup},
		{"HostCap", testHostCap},
		{"Gap", testGap},
		{"Hold", testHold},
		{"Return", testReturn},
		{"Expiry", testExpiry},
		{"Extend", testExtend},
		{"LostCompletionRequeued", testLostRequeued},
		{"LostCompletionReleased", testLostReleased},
		{"Requeue", testRequeue},
		{"Drained", testDrained},
		{"MaxPerHost", testMaxPerHost},
		{"MaxPages", testMaxPages},
		{"Concurrent", testConcurrent},
		{"Reopen", testReopen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, impl) })
	}
}

// wait bounds every test: no test of the suite should come near it.
const wait = 10 * time.Second

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

// Reqs returns requests for http://host/from … http://host/(to-1).
func Reqs(host string, from, to, depth int) []frontier.Request {
	var r []frontier.Request
	for i := from; i < to; i++ {
		r = append(r, frontier.Request{URL: fmt.Sprintf("http://%s/%d", host, i), Depth: depth})
	}
	return r
}

func add(t *testing.T, f frontier.Frontier, reqs []frontier.Request) int {
	t.Helper()
	n, err := f.Add(ctxT(t), reqs)
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	return n
}

func lease(t *testing.T, f frontier.Frontier) frontier.Lease {
	t.Helper()
	l, err := f.Lease(ctxT(t))
	if err != nil {
		t.Fatalf("Lease: %v", err)
	}
	return l
}

// noLease checks that Lease gives nothing within d.
func noLease(t *testing.T, f frontier.Frontier, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if l, err := f.Lease(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lease = %q, %v; want nothing for %v", l.URL, err, d)
	}
}

func finish(t *testing.T, f frontier.Frontier, l frontier.Lease, found ...frontier.Request) {
	t.Helper()
	ctx := ctxT(t)
	if err := f.Release(ctx, l, frontier.Pace{Limit: 100}); err != nil {
		t.Fatalf("Release(%s): %v", l.URL, err)
	}
	if err := f.Complete(ctx, []frontier.Done{{Lease: l, Found: found}}); err != nil {
		t.Fatalf("Complete(%s): %v", l.URL, err)
	}
}

func stats(t *testing.T, f frontier.Frontier) frontier.Stats {
	t.Helper()
	s, err := f.Stats(ctxT(t))
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return s
}

func drained(t *testing.T, f frontier.Frontier) {
	t.Helper()
	if l, err := f.Lease(ctxT(t)); !errors.Is(err, frontier.ErrDrained) {
		t.Fatalf("Lease = %q, %v; want ErrDrained", l.URL, err)
	}
}

var many = frontier.Options{Pace: frontier.Pace{Limit: 1000}}

func testDedup(t *testing.T, impl Impl) {
	f := impl.Open(t, many)
	if n := add(t, f, Reqs("a", 0, 10, 0)); n != 10 {
		t.Fatalf("first Add = %d, want 10", n)
	}
	if n := add(t, f, Reqs("a", 5, 15, 1)); n != 5 {
		t.Fatalf("second Add = %d, want 5 new", n)
	}
	spec := []frontier.Request{{URL: "http://a/0", Spec: `{"method":"POST"}`}}
	if n := add(t, f, spec); n != 1 {
		t.Fatalf("Add of a known URL with a Spec = %d, want 1 (another request)", n)
	}
	s := stats(t, f)
	if s.Queued != 16 || s.Filtered != 5 {
		t.Fatalf("Stats = %+v, want 16 queued, 5 filtered", s)
	}
	seen := map[string]bool{}
	for range 16 {
		l := lease(t, f)
		id := l.ID()
		if seen[id] {
			t.Fatalf("%s leased twice", id)
		}
		seen[id] = true
		finish(t, f, l)
	}
	drained(t, f)
}

func testConcurrentDedup(t *testing.T, impl Impl) {
	f := impl.Open(t, many)
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 8 {
		wg.Go(func() {
			n, err := f.Add(ctxT(t), Reqs("a", 0, 200, 0))
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if total != 200 || stats(t, f).Queued != 200 {
		t.Fatalf("8 concurrent Adds of 200 URLs queued %d (stats %+v), want 200", total, stats(t, f))
	}
}

func testHostCap(t *testing.T, impl Impl) {
	f := impl.Open(t, frontier.Options{Pace: frontier.Pace{Limit: 2}})
	add(t, f, append(Reqs("a", 0, 3, 0), Reqs("b", 0, 1, 0)...))
	got := map[string]int{}
	var leases []frontier.Lease
	for range 3 {
		l := lease(t, f)
		got[l.Host]++
		leases = append(leases, l)
	}
	if got["a"] != 2 || got["b"] != 1 {
		t.Fatalf("leased %v, want 2 of a and 1 of b", got)
	}
	noLease(t, f, 100*time.Millisecond) // a is at its cap
	for _, l := range leases {
		if l.Host == "a" {
			if err := f.Release(ctxT(t), l, frontier.Pace{Limit: 2}); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if l := lease(t, f); l.Host != "a" {
		t.Fatalf("after a release leased %s, want a", l.URL)
	}
}

func testGap(t *testing.T, impl Impl) {
	const gap = 150 * time.Millisecond
	f := impl.Open(t, frontier.Options{Pace: frontier.Pace{Limit: 1, Gap: gap}})
	add(t, f, Reqs("a", 0, 2, 0))
	start := time.Now()
	l := lease(t, f)
	if err := f.Release(ctxT(t), l, frontier.Pace{Limit: 1, Gap: gap}); err != nil {
		t.Fatal(err)
	}
	lease(t, f)
	if d := time.Since(start); d < gap {
		t.Fatalf("two leases of one host %v apart, want at least the gap %v", d, gap)
	}
}

func testHold(t *testing.T, impl Impl) {
	const hold = 200 * time.Millisecond
	f := impl.Open(t, many)
	add(t, f, append(Reqs("a", 0, 1, 0), Reqs("b", 0, 1, 0)...))
	start := time.Now()
	if err := f.Hold(ctxT(t), "a", start.Add(hold)); err != nil {
		t.Fatal(err)
	}
	if l := lease(t, f); l.Host != "b" {
		t.Fatalf("leased %s while a is held, want b", l.URL)
	}
	if l := lease(t, f); l.Host != "a" || time.Since(start) < hold {
		t.Fatalf("leased %s after %v, want a after the hold of %v", l.URL, time.Since(start), hold)
	}
}

func testReturn(t *testing.T, impl Impl) {
	const later = 150 * time.Millisecond
	f := impl.Open(t, frontier.Options{Pace: frontier.Pace{Limit: 1}, MaxPages: 1})
	add(t, f, Reqs("a", 0, 2, 0))
	l := lease(t, f)
	start := time.Now()
	if err := f.Return(ctxT(t), l, start.Add(later)); err != nil {
		t.Fatal(err)
	}
	if s := stats(t, f); s.Queued != 2 || s.Leased != 0 {
		t.Fatalf("after Return: %+v, want 2 queued, 0 leased", s)
	}
	l2 := lease(t, f) // a returned lease spends no unit of MaxPages
	if l2.URL != l.URL || time.Since(start) < later {
		t.Fatalf("leased %s after %v, want %s again after %v", l2.URL, time.Since(start), l.URL, later)
	}
	if l2.Token == l.Token {
		t.Fatal("a lease granted again kept its token")
	}
	if err := f.Return(ctxT(t), l, time.Time{}); !errors.Is(err, frontier.ErrLeaseLost) {
		t.Fatalf("Return of an ended lease: %v, want ErrLeaseLost", err)
	}
}

func testExpiry(t *testing.T, impl Impl) {
	f := impl.Open(t, frontier.Options{Pace: frontier.Pace{Limit: 1}, LeaseTTL: 100 * time.Millisecond})
	add(t, f, Reqs("a", 0, 1, 0))
	l := lease(t, f)
	l2 := lease(t, f) // waits for the expiry, which frees the host's slot too
	if l2.URL != l.URL || l2.Token == l.Token {
		t.Fatalf("after expiry leased %s (token %d), want %s with a new token", l2.URL, l2.Token, l.URL)
	}
	ctx := ctxT(t)
	for name, err := range map[string]error{
		"Extend":  f.Extend(ctx, l),
		"Release": f.Release(ctx, l, frontier.Pace{Limit: 1}),
		"Return":  f.Return(ctx, l, time.Time{}),
	} {
		if !errors.Is(err, frontier.ErrLeaseLost) {
			t.Errorf("%s of an expired lease: %v, want ErrLeaseLost", name, err)
		}
	}
	if s := stats(t, f); s.Lost < 1 {
		t.Errorf("Stats.Lost = %d, want ≥ 1", s.Lost)
	}
}

func testExtend(t *testing.T, impl Impl) {
	// Extended every 50ms, a lease of 400ms lives on over several of its
	// lifetimes (the margin is for loaded machines).
	const ttl = 400 * time.Millisecond
	f := impl.Open(t, frontier.Options{Pace: frontier.Pace{Limit: 5}, LeaseTTL: ttl})
	add(t, f, Reqs("a", 0, 1, 0))
	l := lease(t, f)
	start := time.Now()
	last, gap := start, time.Duration(0)
	stalled := func() {
		if gap = max(gap, time.Since(last)); gap >= ttl {
			t.Skipf("this test stalled %v between two extensions, longer than the lease: the machine is too loaded to tell", gap)
		}
		last = time.Now()
	}
	for time.Since(start) < 3*ttl {
		err := f.Extend(ctxT(t), l)
		stalled()
		if err != nil {
			t.Fatalf("Extend after %v: %v", time.Since(start), err)
		}
		noLease(t, f, 50*time.Millisecond) // the extended lease does not come back
	}
	ctx := ctxT(t)
	err := f.Release(ctx, l, frontier.Pace{Limit: 100})
	stalled()
	if err == nil {
		err = f.Complete(ctx, []frontier.Done{{Lease: l}})
	}
	if err != nil {
		t.Fatalf("an extended lease ended with %v (longest gap between extensions %v, lease %v)", err, gap, ttl)
	}
	drained(t, f)
}

// testLostRequeued completes a lease after it expired and its request went
// back to the queue: the request is done, not fetched again, and what was
// found is queued once.
func testLostRequeued(t *testing.T, impl Impl) {
	f := impl.Open(t, frontier.Options{Pace: frontier.Pace{Limit: 1}, LeaseTTL: 80 * time.Millisecond})
	add(t, f, Reqs("a", 0, 1, 0))
	l := lease(t, f)
	deadline := time.Now().Add(wait)
	for stats(t, f).Lost == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the lease never expired")
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, with a deadline
	}
	ctx := ctxT(t)
	f.Release(ctx, l, frontier.Pace{Limit: 1})
	err := f.Complete(ctx, []frontier.Done{{Lease: l, Found: Reqs("a", 1, 3, 1)}})
	if !errors.Is(err, frontier.ErrLeaseLost) {
		t.Fatalf("Complete of an expired lease: %v, want ErrLeaseLost", err)
	}
	got := map[string]bool{}
	for range 2 {
		n := lease(t, f)
		if n.URL == l.URL {
			t.Fatalf("%s leased again after its late completion", l.URL)
		}
		got[n.URL] = true
		finish(t, f, n)
	}
	if len(got) != 2 {
		t.Fatalf("found links leased: %v, want 2", got)
	}
	drained(t, f)
}

// testLostReleased completes a lease after its request was leased again:
// both completions are accepted, the second normally, and the frontier
// drains.
func testLostReleased(t *testing.T, impl Impl) {
	f := impl.Open(t, frontier.Options{Pace: frontier.Pace{Limit: 1}, LeaseTTL: 80 * time.Millisecond})
	add(t, f, Reqs("a", 0, 1, 0))
	l := lease(t, f)
	l2 := lease(t, f) // after the expiry
	if err := f.Complete(ctxT(t), []frontier.Done{{Lease: l}}); !errors.Is(err, frontier.ErrLeaseLost) {
		t.Fatalf("Complete of the lost lease: %v, want ErrLeaseLost", err)
	}
	finish(t, f, l2)
	drained(t, f)
	if s := stats(t, f); s.Queued != 0 || s.Leased != 0 {
		t.Fatalf("after both completions: %+v", s)
	}
}

func testRequeue(t *testing.T, impl Impl) {
	f := impl.Open(t, many)
	add(t, f, Reqs("a", 0, 2, 0))
	finish(t, f, lease(t, f))
	finish(t, f, lease(t, f))
	if n, err := f.Requeue(ctxT(t), Reqs("a", 0, 1, 0)); err != nil || n != 1 {
		t.Fatalf("Requeue = %d, %v; want 1", n, err)
	}
	if n := add(t, f, Reqs("a", 0, 2, 0)); n != 0 {
		t.Fatalf("Add after Requeue = %d, want 0 (seen)", n)
	}
	if l := lease(t, f); l.URL != "http://a/0" {
		t.Fatalf("leased %s, want the requeued http://a/0", l.URL)
	}
}

func testDrained(t *testing.T, impl Impl) {
	f := impl.Open(t, many)
	drained(t, f)
	add(t, f, Reqs("a", 0, 1, 0))
	l := lease(t, f)
	// Leased is not drained: another worker's page may add links.
	result := make(chan error, 1)
	go func() {
		_, err := f.Lease(ctxT(t))
		result <- err
	}()
	select {
	case err := <-result:
		t.Fatalf("Lease with a lease outstanding returned %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	finish(t, f, l)
	if err := <-result; !errors.Is(err, frontier.ErrDrained) {
		t.Fatalf("Lease after the last completion: %v, want ErrDrained", err)
	}
}

func testMaxPerHost(t *testing.T, impl Impl) {
	f := impl.Open(t, frontier.Options{Pace: frontier.Pace{Limit: 100}, MaxPerHost: 3, Fetched: map[string]int{"b": 3}})
	if n := add(t, f, Reqs("a", 0, 5, 0)); n != 5 {
		t.Fatalf("seeds queued %d, want all 5 (a seed is never dropped)", n)
	}
	if n := add(t, f, Reqs("a", 5, 9, 1)); n != 0 {
		t.Fatalf("links past the budget queued %d, want 0", n)
	}
	if n := add(t, f, Reqs("b", 0, 1, 1)); n != 0 {
		t.Fatalf("a link to a host whose budget earlier runs spent queued %d, want 0", n)
	}
	if s := stats(t, f); s.OverBudget != 5 {
		t.Fatalf("Stats.OverBudget = %d, want 5", s.OverBudget)
	}
	over := 0
	for range 5 {
		l := lease(t, f)
		if l.OverBudget {
			over++
		}
		finish(t, f, l)
	}
	if over != 2 {
		t.Fatalf("%d leases over budget, want 2 of 5 with a budget of 3", over)
	}
}

func testMaxPages(t *testing.T, impl Impl) {
	f := impl.Open(t, frontier.Options{Pace: frontier.Pace{Limit: 100}, MaxPages: 3, Done: 1})
	add(t, f, Reqs("a", 0, 5, 0))
	l := lease(t, f)
	if err := f.Return(ctxT(t), l, time.Time{}); err != nil {
		t.Fatal(err)
	}
	finish(t, f, lease(t, f))
	finish(t, f, lease(t, f))
	if l, err := f.Lease(ctxT(t)); !errors.Is(err, frontier.ErrLimit) {
		t.Fatalf("Lease after 1 earlier + 2 completed of MaxPages 3: %q, %v; want ErrLimit", l.URL, err)
	}
}

// testConcurrent runs workers that lease, find links and complete, on
// several hosts: every URL is leased once and the frontier drains.
func testConcurrent(t *testing.T, impl Impl) {
	f := impl.Open(t, frontier.Options{Pace: frontier.Pace{Limit: 2}})
	const hosts, pages = 4, 50
	for h := range hosts {
		add(t, f, Reqs(fmt.Sprintf("h%d", h), 0, 1, 0))
	}
	var mu sync.Mutex
	leased := map[string]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			ctx := ctxT(t)
			for {
				l, err := f.Lease(ctx)
				if errors.Is(err, frontier.ErrDrained) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				leased[l.URL]++
				mu.Unlock()
				var i int
				fmt.Sscanf(l.URL[len("http://"+l.Host+"/"):], "%d", &i)
				var found []frontier.Request
				for _, j := range []int{2*i + 1, 2*i + 2, i} {
					if j < pages {
						found = append(found, frontier.Request{URL: fmt.Sprintf("http://%s/%d", l.Host, j), Depth: l.Depth + 1})
					}
				}
				if err := f.Release(ctx, l, frontier.Pace{Limit: 2}); err != nil {
					t.Error(err)
				}
				if err := f.Complete(ctx, []frontier.Done{{Lease: l, Found: found}}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if len(leased) != hosts*pages {
		t.Fatalf("%d URLs leased, want %d", len(leased), hosts*pages)
	}
	for u, n := range leased {
		if n != 1 {
			t.Fatalf("%s leased %d times", u, n)
		}
	}
}

func testReopen(t *testing.T, impl Impl) {
	if impl.Reopen == nil {
		t.Skip("the implementation keeps nothing across processes")
	}
	opts := many
	if impl.Shared {
		opts.LeaseTTL = 200 * time.Millisecond
	}
	f := impl.Open(t, opts)
	add(t, f, Reqs("a", 0, 10, 0))
	done := lease(t, f)
	finish(t, f, done)
	lease(t, f)
	lease(t, f) // two leases die with the process
	f = impl.Reopen(t, f, opts)
	if impl.Shared { // they come back when they expire
		deadline := time.Now().Add(wait)
		for stats(t, f).Leased > 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond) // a poll of the frontier's own clock: nothing to wait on
		}
	}
	if s := stats(t, f); s.Queued != 9 || s.Leased != 0 {
		t.Fatalf("after reopening: %+v, want the 9 unfinished queued (leases of the dead process included)", s)
	}
	if n := add(t, f, Reqs("a", 0, 12, 0)); n != 2 {
		t.Fatalf("Add after reopening = %d, want 2 (dedup survives)", n)
	}
	for range 11 {
		l := lease(t, f)
		if l.URL == done.URL {
			t.Fatalf("%s, completed before the crash, leased again", l.URL)
		}
		finish(t, f, l)
	}
	drained(t, f)
}
