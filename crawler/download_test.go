package crawler_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/crawler/job"
	"github.com/trawl-dev/trawl/store"
	"github.com/trawl-dev/trawl/store/layout"
)

// download fetches urls into the folder root with no retries and returns
// the job's store.
func download(t *testing.T, root string, timeout time.Duration, urls ...string) *store.Store {
	t.Helper()
	st := openStore(t)
	cfg := testConfig()
	cfg.Engine.Follow = false
	cfg.Fetch.Retries = 0
	cfg.Fetch.Timeout = timeout
	cfg.Download.Dir = root
	c, err := job.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Enqueue(context.Background(), urls...); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

// For a download, --timeout bounds the time without a byte, not the whole
// exchange: a slow steady body completes, a stalled one fails as a timeout.
func TestDownloadIdleTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := range 8 {
			if r.URL.Path == "/stall" && i == 2 {
				<-r.Context().Done()
				return
			}
			w.Write(bytes.Repeat([]byte{'x'}, 1000))
			w.(http.Flusher).Flush()
			time.Sleep(100 * time.Millisecond)
		}
	}))
	defer srv.Close()
	st := download(t, t.TempDir(), 400*time.Millisecond, srv.URL+"/steady", srv.URL+"/stall")
	steady, _ := st.Get(srv.URL + "/steady")
	if steady == nil || steady.Error != "" || steady.Length != 8000 || steady.File == "" {
		t.Errorf("a body taking 800 ms with a 400 ms idle timeout: %+v", steady)
	}
	stall, _ := st.Get(srv.URL + "/stall")
	if stall == nil || !strings.Contains(stall.Error, "timeout: no data for 400ms") || stall.File != "" {
		t.Errorf("a stalled body: %+v", stall)
	}
}

// A partial download whose Range request gets 416 starts over at once,
// without using up a retry.
func TestDownloadRestartOn416(t *testing.T) {
	content := bytes.Repeat([]byte("0123456789"), 300)
	var ranges atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Range") != "" {
			ranges.Add(1)
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		w.Header().Set("ETag", `"v2"`)
		w.Write(content)
	}))
	defer srv.Close()
	// A partial file, with validators, left by an earlier run.
	root := filepath.Join(t.TempDir(), "out")
	d, err := layout.Open(root, "")
	if err != nil {
		t.Fatal(err)
	}
	u := srv.URL + "/f"
	os.WriteFile(d.Partial(u), []byte("stale"), 0o644)
	os.WriteFile(d.Partial(u)+".meta", []byte(`{"url":"`+u+`","etag":"\"v1\"","total":3000}`), 0o644)

	st := download(t, root, 10*time.Second, u)
	rec, _ := st.Get(u)
	if rec == nil || rec.Error != "" || rec.File == "" {
		t.Fatalf("record %+v", rec)
	}
	if got, _ := os.ReadFile(rec.File); !bytes.Equal(got, content) || ranges.Load() != 1 {
		t.Errorf("file of %d bytes after %d Range requests; want %d bytes after 1", len(got), ranges.Load(), len(content))
	}
}
