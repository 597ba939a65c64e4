package crawler_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/frontier/memory"
	"github.com/trawl-dev/trawl/internal/testsite"
)

// A crawl through WithFrontier: the memory frontier holds the queue, the
// job file holds the results (saved first, completed second).
func TestCrawlWithMemoryFrontier(t *testing.T) {
	site := testsite.New(500)
	srv := httptest.NewServer(site)
	defer srv.Close()
	st := openStore(t)
	var opened frontier.Options
	open := func(o frontier.Options) (frontier.Frontier, error) {
		opened = o
		return memory.New(o), nil
	}
	cfg := testConfig(srv.URL + "/p/0")
	cfg.MaxPerHost = 400
	c, err := crawler.New(st, cfg, crawler.WithFrontier(open))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if opened.Pace.Limit != 1 || opened.MaxPerHost != 400 || opened.LeaseTTL != frontier.DefaultLeaseTTL {
		t.Errorf("the frontier was opened with %+v: want the job's initial pace (one at a time until robots.txt is known), budget and lease", opened)
	}
	if sum.Reason != "done" || sum.Stored != 400 || sum.Failed != 0 || sum.Budget == 0 {
		t.Fatalf("summary: reason %q stored %d failed %d over budget %d; want 400 pages and links over the budget", sum.Reason, sum.Stored, sum.Failed, sum.Budget)
	}
	fetched := 0
	for i := range site.Pages {
		switch site.Hits(i) {
		case 0:
		case 1:
			fetched++
		default:
			t.Fatalf("page %d requested %d times", i, site.Hits(i))
		}
	}
	n, _, err := st.Count()
	if err != nil || n != 400 || fetched != 400 {
		t.Fatalf("job holds %d records (%v), server saw %d pages; want 400 each", n, err, fetched)
	}
}

// A fetch that outlasts its lease keeps it: the crawler extends leases
// while fetches run, so no page is fetched twice however slow the server.
func TestSlowFetchKeepsItsLease(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/slow" {
			http.NotFound(w, r)
			return
		}
		hits.Add(1)
		time.Sleep(900 * time.Millisecond) // the server is slow: 3 leases long
		w.Write([]byte("done"))
	}))
	defer srv.Close()
	st := openStore(t)
	cfg := testConfig(srv.URL + "/slow")
	cfg.Lease = 300 * time.Millisecond
	cfg.Concurrency = 4
	c, err := crawler.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Without extensions the page would be leased again every 300ms, for
	// ever: the deadline turns that into a failure.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sum, err := c.Run(ctx)
	if err != nil {
		t.Fatalf("%v (page requested %d times)", err, hits.Load())
	}
	if hits.Load() != 1 || sum.Stored != 1 || sum.LostLeases != 0 {
		t.Fatalf("slow page requested %d times, %d stored, %d leases lost; want 1, 1, 0", hits.Load(), sum.Stored, sum.LostLeases)
	}
	if r, _ := st.Get(srv.URL + "/slow"); r == nil || r.Status != 200 {
		t.Fatalf("record %+v", r)
	}
}
