package crawler_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/crawler/job"
	"github.com/trawl-dev/trawl/internal/testsite"
	"github.com/trawl-dev/trawl/store"
)

// A host budget caps the pages fetched from a host, over runs too: URLs
// queued when the budget ran out are saved unfetched, never requested.
func TestMaxPerHost(t *testing.T) {
	site := testsite.New(500)
	srv := httptest.NewServer(site)
	defer srv.Close()
	st := openStore(t)
	run := func(budget int, ctx context.Context) *crawler.Summary {
		cfg := testConfig(srv.URL + "/p/0")
		cfg.Engine.MaxPerHost = budget
		c, err := job.New(st, cfg)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := c.Run(ctx)
		if err != nil && ctx.Err() == nil {
			t.Fatal(err)
		}
		return sum
	}
	sum := run(40, context.Background())
	if got := site.Total(); got != 40 {
		t.Errorf("%d pages requested with a budget of 40", got)
	}
	if sum.Budget == 0 {
		t.Errorf("no link counted as over budget")
	}
	// A second run fetches nothing more: the links over the budget were
	// never queued.
	run(40, context.Background())
	if got := site.Total(); got != 40 {
		t.Errorf("%d pages requested in all after a second run", got)
	}
	fetched := 0
	st.Each(func(r *store.Record) error {
		if r.Skipped == "" {
			fetched++
		}
		return nil
	})
	if fetched != 40 {
		t.Errorf("%d fetched records, want 40", fetched)
	}
}

// URLs queued before a host's budget is spent (a list, or an earlier run)
// are saved as skipped, never requested.
func TestMaxPerHostQueued(t *testing.T) {
	site := testsite.New(100)
	srv := httptest.NewServer(site)
	defer srv.Close()
	st := openStore(t)
	cfg := testConfig()
	cfg.Engine.Follow = false
	cfg.Engine.MaxPerHost = 10
	c, err := job.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for i := range 50 {
		urls = append(urls, srv.URL+testsite.Path(i))
	}
	if _, err := c.Enqueue(context.Background(), urls...); err != nil {
		t.Fatal(err)
	}
	sum, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := site.Total(); got != 10 {
		t.Errorf("%d pages requested with a budget of 10", got)
	}
	if sum.Skipped != 40 || sum.Stored != 50 {
		t.Errorf("stored %d, skipped %d; want 50 and 40", sum.Stored, sum.Skipped)
	}
	st.Each(func(r *store.Record) error {
		if r.Skipped != "" && (r.Skipped != "host-budget" || !strings.Contains(r.Error, "budget")) {
			t.Errorf("skipped record %+v", r)
		}
		return nil
	})
}
