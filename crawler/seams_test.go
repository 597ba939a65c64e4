package crawler_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/crawler/job"
	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/frontier/memory"
	"github.com/trawl-dev/trawl/internal/testsite"
	"github.com/trawl-dev/trawl/store/export"
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
	cfg.Engine.MaxPerHost = 400
	c, err := job.New(st, cfg, job.WithFrontier(open))
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
	cfg.Engine.Lease = 300 * time.Millisecond
	cfg.Engine.Concurrency = 4
	c, err := job.New(st, cfg)
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

// Credentials in a seed's URL authenticate its requests to that origin,
// and are written nowhere: not in records, not in the job file, not in
// an export.
func TestCredentialsNeverStored(t *testing.T) {
	var authorized, asked atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		asked.Add(1)
		if u, p, ok := r.BasicAuth(); !ok || u != "ann" || p != "s3cret-pw" {
			w.Header().Set("WWW-Authenticate", `Basic realm="t"`)
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		authorized.Add(1)
		if r.URL.Path == "/a" {
			w.Write([]byte(`<a href="/b">b</a>`))
			return
		}
		w.Write([]byte("b"))
	}))
	defer srv.Close()
	st := openStore(t)
	seed := strings.Replace(srv.URL, "http://", "http://ann:s3cret-pw@", 1) + "/a"
	c, err := job.New(st, testConfig(seed))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if asked.Load() != 2 || authorized.Load() != 2 {
		t.Fatalf("%d requests, %d authorized; want both pages fetched with the seed's credentials", asked.Load(), authorized.Load())
	}
	var out bytes.Buffer
	if _, err := export.JSONL(&out, st, true); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "s3cret-pw") || strings.Contains(out.String(), "ann:") {
		t.Errorf("the export holds the credentials:\n%s", out.String())
	}
	if !strings.Contains(out.String(), srv.URL+"/a") {
		t.Errorf("the export lacks the page:\n%s", out.String())
	}
	path := st.Path()
	st.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("s3cret-pw")) {
		t.Error("the job file holds the password")
	}
}
