package frontier_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/trawl-dev/trawl/frontier"
)

func TestCanonical(t *testing.T) {
	cases := []struct{ in, want string }{
		{"HTTP://Example.COM:80/a/./b/../c?#frag", "http://example.com/a/c"},
		{"https://example.com:443", "https://example.com/"},
		{"http://example.com:8080/", "http://example.com:8080/"},
		{"http://example.com/%7euser/%2e%2e/x", "http://example.com/x"},
		{"http://example.com/a%2fb%3f", "http://example.com/a%2Fb%3F"},
		{"http://example.com/a b/ä", "http://example.com/a%20b/%C3%A4"},
		{"http://example.com/p%zz", "http://example.com/p%25zz"},
		{"  http://example.com\\a\\b?q=1\\2 ", "http://example.com/a/b?q=1%5C2"},
		{"http://münchen.de/", "http://xn--mnchen-3ya.de/"},
		{"http://example.com/p?b=2&a=1", "http://example.com/p?b=2&a=1"},
		{"http://[::1]:80/", "http://[::1]/"},
		{"http://ex\tample.com/x\n", "http://example.com/x"},
		{"http://h/a;jsessionid=ABC123?x=1&PHPSESSID=9&utm_source=n&sid=2&y=2", "http://h/a?x=1&y=2"},
		{"http://h/a;JSESSIONID=z/b?utm_campaign=q", "http://h/a/b"},
	}
	for _, c := range cases {
		got, err := frontier.Canonical(c.in)
		if err != nil || got != c.want {
			t.Errorf("Canonical(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"ftp://example.com/", "mailto:a@b.c", "http://[::1", "/relative", "http:///nohost", "javascript:alert(1)", "http://exa mple.com/"} {
		if got, err := frontier.Canonical(bad); err == nil {
			t.Errorf("Canonical(%q) = %q, want an error", bad, got)
		}
	}
}

func TestResolve(t *testing.T) {
	base, _ := url.Parse("http://h/p/5")
	for _, ref := range []string{"14", "/p/14#sec", "http://H:80/p/14", "../p/14", "./14#top", "14?"} {
		got, err := frontier.Resolve(base, ref)
		if err != nil || got != "http://h/p/14" {
			t.Errorf("Resolve(%q) = %q, %v", ref, got, err)
		}
	}
}

func openDB(t *testing.T, path string) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(path, 0o644, nil)
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
	f, err := frontier.OpenBolt(db, frontier.Options{Pace: frontier.Pace{Limit: 100}})
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
		l, err := f.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if leased[l.URL] {
			t.Fatalf("%s leased twice", l.URL)
		}
		leased[l.URL] = true
		f.Release(l, frontier.Pace{})
		if i < 20 {
			done = append(done, frontier.Done{Lease: l})
		}
	}
	if err := f.Complete(ctx, done); err != nil {
		t.Fatal(err)
	}
	if s := f.Stats(); s.Queued != 120 || s.Leased != 10 {
		t.Fatalf("stats %+v, want 120 queued, 10 leased", s)
	}
	db.Close()

	db = openDB(t, path)
	defer db.Close()
	f, err = frontier.OpenBolt(db, frontier.Options{Pace: frontier.Pace{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	if s := f.Stats(); s.Queued != 130 || s.Leased != 0 {
		t.Fatalf("after reopen: %+v, want the 10 uncompleted leases queued again (130)", s)
	}
	got := map[string]bool{}
	for {
		tctx, cancel := context.WithTimeout(ctx, time.Second)
		l, err := f.Next(tctx)
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
		f.Release(l, frontier.Pace{})
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
	f, err := frontier.OpenBolt(db, frontier.Options{Pace: frontier.Pace{Limit: 1}})
	if err != nil {
		t.Fatal(err)
	}
	f.Add(ctx, append(reqs("slow", 0, 3), reqs("fast", 0, 20)...))
	start := time.Now()
	var slowTimes []time.Duration
	fast := 0
	for i := 0; i < 23; i++ {
		l, err := f.Next(ctx)
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
		f.Release(l, pace)
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
	if _, err := f.Next(ctx); !errors.Is(err, frontier.ErrDrained) {
		t.Fatalf("Next after everything completed: %v, want ErrDrained", err)
	}
}

// Next blocks while URLs are leased but not completed, since completing
// them may add more; it ends only when both counts are zero.
func TestNextWaitsForOutstandingLeases(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, filepath.Join(t.TempDir(), "f.db"))
	defer db.Close()
	f, _ := frontier.OpenBolt(db, frontier.Options{})
	f.Add(ctx, reqs("h", 0, 1))
	l, _ := f.Next(ctx)
	f.Release(l, frontier.Pace{})
	got := make(chan string)
	go func() {
		l, err := f.Next(ctx)
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
	f, err := frontier.OpenBolt(db, frontier.Options{})
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
	if f, err = frontier.OpenBolt(db, frontier.Options{}); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.Add(ctx, in[1:2]); n != 0 {
		t.Errorf("a known spec was added again after reopen")
	}
	got := map[string]bool{}
	for range 3 {
		l, err := f.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got[l.ID()] = true
		f.Release(l, frontier.Pace{})
		f.Complete(ctx, []frontier.Done{{Lease: l}})
	}
	for _, r := range in[:3] {
		if !got[r.ID()] {
			t.Errorf("request %+v not leased back whole", r)
		}
	}
}
