package crawler_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/configs"
	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/crawler/job"
	"github.com/trawl-dev/trawl/internal/testsite"
	"github.com/trawl-dev/trawl/store"
)

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "job.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func testConfig(seeds ...string) configs.Job {
	cfg := configs.Default(configs.Crawl)
	cfg.Seeds = seeds
	cfg.Politeness.PerHost = 16
	cfg.Fetch.Timeout = 10 * time.Second
	return cfg
}

func TestCrawlWholeSite(t *testing.T) {
	site := testsite.New(3000)
	srv := httptest.NewServer(site)
	defer srv.Close()
	st := openStore(t)

	c, err := job.New(st, testConfig(srv.URL+"/p/0"))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Reason != "done" || sum.Stored != 3000 || sum.Failed != 0 {
		t.Fatalf("summary: reason %q stored %d failed %d", sum.Reason, sum.Stored, sum.Failed)
	}
	for i := 0; i < site.Pages; i++ {
		if h := site.Hits(i); h != 1 {
			t.Fatalf("page %d requested %d times, want 1", i, h)
		}
	}
	if site.Other() != 0 {
		t.Errorf("%d requests for paths that are not pages", site.Other())
	}
	n := 0
	err = st.Each(func(r *store.Record) error {
		n++
		if r.Status != 200 || r.Error != "" || r.Length == 0 || len(r.SHA256) != 64 ||
			r.Attempts != 1 || r.FetchedAt.IsZero() || r.ContentType == "" || r.Header.Get("Content-Length") == "" {
			return fmt.Errorf("incomplete record %+v", r)
		}
		if strings.Contains(r.URL, "#") {
			return fmt.Errorf("fragment kept in %s", r.URL)
		}
		if (r.URL == srv.URL+"/p/0") != (r.Depth == 0) {
			return fmt.Errorf("%s has depth %d", r.URL, r.Depth)
		}
		body, err := st.Body(r)
		if err != nil {
			return err
		}
		if int64(len(body)) != r.Length || !strings.Contains(string(body), "<h1 id=sec>Page") {
			return fmt.Errorf("%s: body of %d bytes does not match record", r.URL, len(body))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 3000 {
		t.Fatalf("%d records, want 3000", n)
	}
}

// A second run of a finished job fetches nothing.
func TestRerunFinishedJobFetchesNothing(t *testing.T) {
	site := testsite.New(200)
	srv := httptest.NewServer(site)
	defer srv.Close()
	st := openStore(t)
	for run := 0; run < 2; run++ {
		c, err := job.New(st, testConfig(srv.URL+"/p/0"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if site.Total() != 200 {
		t.Fatalf("server saw %d requests over two runs, want 200", site.Total())
	}
}

func TestMaxPagesAndDepth(t *testing.T) {
	site := testsite.New(500)
	srv := httptest.NewServer(site)
	defer srv.Close()

	cfg := testConfig(srv.URL + "/p/0")
	cfg.Engine.MaxPages = 50
	c, err := job.New(openStore(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Stored != 50 || sum.Reason != "max-pages" || site.Total() != 50 {
		t.Fatalf("max-pages 50: stored %d, reason %q, server saw %d", sum.Stored, sum.Reason, site.Total())
	}

	cfg = testConfig(srv.URL + "/p/0")
	cfg.Engine.MaxDepth = 1
	st := openStore(t)
	c, err = job.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sum, err = c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]bool{0: true}
	for _, j := range site.Targets(0) {
		want[j] = true
	}
	if sum.Stored != len(want) || sum.MaxDepth != 1 {
		t.Fatalf("depth 1: stored %d pages (max depth %d), want %d", sum.Stored, sum.MaxDepth, len(want))
	}
}

func TestRetries(t *testing.T) {
	var flaky, gone, slow atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/flaky", func(w http.ResponseWriter, r *http.Request) {
		if flaky.Add(1) <= 2 {
			w.WriteHeader(503)
			return
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("/gone", func(w http.ResponseWriter, r *http.Request) {
		gone.Add(1)
		http.NotFound(w, r)
	})
	mux.HandleFunc("/limited", func(w http.ResponseWriter, r *http.Request) {
		if slow.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
			return
		}
		fmt.Fprint(w, "ok")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	cfg := testConfig()
	cfg.Engine.Follow = false
	st := openStore(t)
	c, err := job.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Enqueue(context.Background(), srv.URL+"/flaky", srv.URL+"/gone", srv.URL+"/limited"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	check := func(path string, status, attempts int) *store.Record {
		t.Helper()
		r, err := st.Get(srv.URL + path)
		if err != nil || r == nil {
			t.Fatalf("%s: no record (%v)", path, err)
		}
		if r.Status != status || r.Attempts != attempts {
			t.Errorf("%s: status %d attempts %d, want %d and %d", path, r.Status, r.Attempts, status, attempts)
		}
		return r
	}
	check("/flaky", 200, 3)
	check("/gone", 404, 1)
	check("/limited", 200, 2)
	if flaky.Load() != 3 || gone.Load() != 1 || slow.Load() != 2 {
		t.Errorf("server saw flaky %d, gone %d, limited %d requests; want 3, 1, 2", flaky.Load(), gone.Load(), slow.Load())
	}
	if el := time.Since(start); el < time.Second {
		t.Errorf("Retry-After: 1 not honoured: job took %v", el)
	}
}

// A chain of pages has one URL to fetch at a time, found by the page
// before it: with a batch lingering an hour for more results, the crawl
// only ends because the writer commits as soon as every worker waits for
// a lease.
func TestStarvedWriterCommitsAtOnce(t *testing.T) {
	defer crawler.SetWriteLinger(time.Hour)()
	site := testsite.New(30)
	site.Links = 1 // page i links to page i+1 alone
	srv := httptest.NewServer(site)
	defer srv.Close()
	cfg := testConfig(srv.URL + "/p/0")
	cfg.Engine.Concurrency = 4
	c, err := job.New(openStore(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sum, err := c.Run(ctx)
	if err != nil || sum.Stored != 30 {
		t.Fatalf("Run: %v, %d stored, want 30 (a batch waited for its linger)", err, sum.Stored)
	}
}
