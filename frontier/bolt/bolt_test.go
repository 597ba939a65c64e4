package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/frontier/bolt"
	"github.com/trawl-dev/trawl/frontier/frontiertest"
	"github.com/trawl-dev/trawl/internal/jobfile"
)

// The bolt frontier keeps the contract; Reopen closes the job file with
// leases outstanding, as a killed process leaves it.
func TestConformance(t *testing.T) {
	frontiertest.Run(t, frontiertest.Impl{
		Open: func(t *testing.T, opts frontier.Options) frontier.Frontier {
			return open(t, openDB(t, filepath.Join(t.TempDir(), "f.db")), opts)
		},
		Reopen: func(t *testing.T, f frontier.Frontier, opts frontier.Options) frontier.Frontier {
			file := files[f]
			path := file.Path()
			file.Close()
			return open(t, openDB(t, path), opts)
		},
	})
}

var files = map[frontier.Frontier]*jobfile.File{}

func open(t *testing.T, file *jobfile.File, opts frontier.Options) frontier.Frontier {
	t.Cleanup(func() { file.Close() })
	f, err := bolt.Open(file, opts)
	if err != nil {
		t.Fatal(err)
	}
	files[f] = file
	return f
}

func stats(t *testing.T, f *bolt.Frontier) frontier.Stats {
	s, err := f.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openDB(t *testing.T, path string) *jobfile.File {
	t.Helper()
	db, err := jobfile.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func reqs(host string, from, to int) []frontier.Request {
	var r []frontier.Request
	for i := from; i < to; i++ {
		r = append(r, frontier.Request{URL: fmt.Sprintf("http://%s/%d", host, i)})
	}
	return r
}

func TestDedupAndLeasesSurviveReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "f.db")
	db := openDB(t, path)
	f, err := bolt.Open(db, frontier.Options{Pace: frontier.Pace{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	batch := append(reqs("a", 0, 100), reqs("a", 50, 150)...) // repeats inside one batch
	if n, err := f.Add(ctx, batch); err != nil || n != 150 {
		t.Fatalf("Add = %d, %v; want 150 new", n, err)
	}
	if n, _ := f.Add(ctx, reqs("a", 0, 10)); n != 0 {
		t.Fatalf("re-adding known URLs added %d", n)
	}
	// Lease 30, complete 20, and "crash" with 10 leased.
	var done []frontier.Done
	leased := map[string]bool{}
	for i := 0; i < 30; i++ {
		l, err := f.Lease(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if leased[l.URL] {
			t.Fatalf("%s leased twice", l.URL)
		}
		leased[l.URL] = true
		f.Release(ctx, l, frontier.Pace{})
		if i < 20 {
			done = append(done, frontier.Done{Lease: l})
		}
	}
	if err := f.Complete(ctx, done); err != nil {
		t.Fatal(err)
	}
	if s := stats(t, f); s.Queued != 120 || s.Leased != 10 {
		t.Fatalf("stats %+v, want 120 queued, 10 leased", s)
	}
	db.Close()

	db = openDB(t, path)
	defer db.Close()
	f, err = bolt.Open(db, frontier.Options{Pace: frontier.Pace{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	if s := stats(t, f); s.Queued != 130 || s.Leased != 0 {
		t.Fatalf("after reopen: %+v, want the 10 uncompleted leases queued again (130)", s)
	}
	got := map[string]bool{}
	for {
		tctx, cancel := context.WithTimeout(ctx, time.Second)
		l, err := f.Lease(tctx)
		cancel()
		if errors.Is(err, frontier.ErrDrained) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if got[l.URL] {
			t.Fatalf("%s leased twice", l.URL)
		}
		got[l.URL] = true
		f.Release(ctx, l, frontier.Pace{})
		if err := f.Complete(ctx, []frontier.Done{{Lease: l}}); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 130 {
		t.Fatalf("leased %d after reopen, want 130", len(got))
	}
}

// A host waiting out its gap does not hold up other hosts, and no worker
// sleeps for it: Next hands out the ready host's URLs meanwhile.
func TestPerHostGap(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, filepath.Join(t.TempDir(), "f.db"))
	defer db.Close()
	f, err := bolt.Open(db, frontier.Options{Pace: frontier.Pace{Limit: 1}})
	if err != nil {
		t.Fatal(err)
	}
	f.Add(ctx, append(reqs("slow", 0, 3), reqs("fast", 0, 20)...))
	start := time.Now()
	var slowTimes []time.Duration
	fast := 0
	for i := 0; i < 23; i++ {
		l, err := f.Lease(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pace := frontier.Pace{}
		if l.Host == "slow" {
			slowTimes = append(slowTimes, time.Since(start))
			pace.Gap = 200 * time.Millisecond
		} else {
			fast++
		}
		f.Release(ctx, l, pace)
		f.Complete(ctx, []frontier.Done{{Lease: l}})
	}
	if fast != 20 || len(slowTimes) != 3 {
		t.Fatalf("fast %d slow %d", fast, len(slowTimes))
	}
	for i := 1; i < len(slowTimes); i++ {
		if d := slowTimes[i] - slowTimes[i-1]; d < 190*time.Millisecond {
			t.Errorf("slow host leased %v after its previous lease, want ≥ 200ms", d)
		}
	}
	// Completing the last lease drains the frontier.
	if _, err := f.Lease(ctx); !errors.Is(err, frontier.ErrDrained) {
		t.Fatalf("Next after everything completed: %v, want ErrDrained", err)
	}
}

// Next blocks while URLs are leased but not completed, since completing
// them may add more; it ends only when both counts are zero.
func TestNextWaitsForOutstandingLeases(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, filepath.Join(t.TempDir(), "f.db"))
	defer db.Close()
	f, _ := bolt.Open(db, frontier.Options{})
	f.Add(ctx, reqs("h", 0, 1))
	l, _ := f.Lease(ctx)
	f.Release(ctx, l, frontier.Pace{})
	got := make(chan string)
	go func() {
		l, err := f.Lease(ctx)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- l.URL
	}()
	select {
	case s := <-got:
		t.Fatalf("Next returned %q while a lease was outstanding", s)
	case <-time.After(100 * time.Millisecond):
	}
	f.Complete(ctx, []frontier.Done{{Lease: l, Found: reqs("h", 1, 2)}})
	if s := <-got; s != "http://h/1" {
		t.Fatalf("Next = %q, want the URL found by the completed lease", s)
	}
}

// A request's Spec is part of its identity and comes back with its lease,
// after a reopen too.
func TestSpecIdentity(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "f.db")
	db := openDB(t, path)
	f, err := bolt.Open(db, frontier.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := []frontier.Request{
		{URL: "http://h/api"},
		{URL: "http://h/api", Spec: `{"method":"POST","body":"1"}`},
		{URL: "http://h/api", Spec: `{"method":"POST","body":"2"}`},
		{URL: "http://h/api", Spec: `{"method":"POST","body":"1"}`}, // repeat
	}
	if n, err := f.Add(ctx, in); err != nil || n != 3 {
		t.Fatalf("Add = %d, %v; want 3", n, err)
	}
	db.Close()
	db = openDB(t, path)
	defer db.Close()
	if f, err = bolt.Open(db, frontier.Options{}); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.Add(ctx, in[1:2]); n != 0 {
		t.Errorf("a known spec was added again after reopen")
	}
	got := map[string]bool{}
	for range 3 {
		l, err := f.Lease(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got[l.ID()] = true
		f.Release(ctx, l, frontier.Pace{})
		f.Complete(ctx, []frontier.Done{{Lease: l}})
	}
	for _, r := range in[:3] {
		if !got[r.ID()] {
			t.Errorf("request %+v not leased back whole", r)
		}
	}
}
