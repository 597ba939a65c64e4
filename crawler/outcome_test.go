package crawler_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/crawler/job"
	"github.com/trawl-dev/trawl/store"
)

// A run's records keep their failure's kind, and --retry-failed queues
// again the one a second try may fix (a 503), not a body over max-body.
func TestOutcomesAreTyped(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`<a href="/big">big</a> <a href="/busy">busy</a>`))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(strings.Repeat("x", 4096))) })
	mux.HandleFunc("/busy", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	st := openStore(t)
	cfg := testConfig(srv.URL + "/")
	cfg.Fetch.MaxBody, cfg.Fetch.Retries = 1024, 0
	c, err := job.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := c.Run(context.Background())
	if err != nil || sum.Reason != crawler.Done {
		t.Fatalf("run: %v, %v", sum, err)
	}
	kinds := map[string]string{}
	st.Each(func(r *store.Record) error { kinds[strings.TrimPrefix(r.URL, srv.URL)] = r.ErrorKind; return nil })
	if kinds["/big"] != "too_large" || kinds["/"] != "" || len(kinds) != 3 {
		t.Errorf("error kinds %v", kinds)
	}
	if n, err := c.RetryFailed(context.Background()); n != 1 || err != nil {
		t.Errorf("RetryFailed queued %d, %v; want the 503 alone", n, err)
	}
}
