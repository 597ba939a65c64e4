package crawler_test

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/andybalholm/brotli"

	"github.com/trawl-dev/trawl/configs"
	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/crawler/job"
	"github.com/trawl-dev/trawl/crawler/links"
	"github.com/trawl-dev/trawl/crawler/task"
	"github.com/trawl-dev/trawl/store"
)

// fetchAll runs a fetch job (no link following unless follow) over paths
// of srv and returns the records by path.
func fetchAll(t *testing.T, srv *httptest.Server, cfg configs.Job, paths ...string) map[string]*store.Record {
	t.Helper()
	st := openStore(t)
	c, err := job.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if _, err := c.Enqueue(context.Background(), srv.URL+p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := map[string]*store.Record{}
	st.Each(func(r *store.Record) error {
		recs[strings.TrimPrefix(r.URL, srv.URL)] = r
		return nil
	})
	return recs
}

func fetchConfig() configs.Job {
	cfg := testConfig()
	cfg.Engine.Follow = false
	cfg.Fetch.Retries = 0
	return cfg
}

// gzipBomb returns a gzip stream of n MiB of zeros, as concatenated members.
func gzipBomb(n int) []byte {
	var one bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&one, gzip.BestCompression)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	return bytes.Repeat(one.Bytes(), n)
}

func TestBodyLimitsAndEncodings(t *testing.T) {
	bomb := gzipBomb(10 << 10) // 10 GiB decoded, ~10 MB sent: more than socket buffers hold
	var bombSent atomic.Int64
	page := strings.Repeat("hello trawl ", 1000)
	mux := http.NewServeMux()
	mux.HandleFunc("/bomb", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "text/html")
		for off := 0; off < len(bomb); off += 32 << 10 {
			n, err := w.Write(bomb[off:min(off+32<<10, len(bomb))])
			bombSent.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("x"), 3<<20))
	})
	mux.HandleFunc("/gzip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		zw.Write([]byte(page))
		zw.Close()
	})
	mux.HandleFunc("/br", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "br")
		bw := brotli.NewWriter(w)
		bw.Write([]byte(page))
		bw.Close()
	})
	mux.HandleFunc("/deflate", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "deflate")
		fw, _ := flate.NewWriter(w, flate.DefaultCompression)
		fw.Write([]byte(page))
		fw.Close()
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	cfg := fetchConfig()
	cfg.Fetch.MaxBody = 2 << 20
	recs := fetchAll(t, srv, cfg, "/bomb", "/big", "/gzip", "/br", "/deflate")
	for _, p := range []string{"/bomb", "/big"} {
		r := recs[p]
		if r == nil || r.Status != 200 || !strings.Contains(r.Error, "max-body") || r.SHA256 != "" {
			t.Errorf("%s: %+v; want an error record naming max-body and no body", p, r)
		}
	}
	if sent := bombSent.Load(); sent > int64(len(bomb))/2 {
		t.Errorf("the server sent %d of %d compressed bytes: the bomb was read past the cap", sent, len(bomb))
	}
	for _, p := range []string{"/gzip", "/br", "/deflate"} {
		r := recs[p]
		if r == nil || r.Error != "" || r.Length != int64(len(page)) {
			t.Errorf("%s: %+v; want the decoded %d bytes", p, r, len(page))
		}
	}
}

func TestRedirects(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/hop/", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/hop/"))
		if n == 0 {
			fmt.Fprint(w, "arrived")
			return
		}
		http.Redirect(w, r, "/hop/"+strconv.Itoa(n-1), http.StatusFound)
	})
	mux.HandleFunc("/loop/a", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop/b", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/loop/b", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop/a#x", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.2:1/elsewhere", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	recs := fetchAll(t, srv, fetchConfig(), "/hop/3", "/hop/12", "/loop/a")
	if r := recs["/hop/3"]; r.Status != 200 || r.FinalURL != srv.URL+"/hop/0" || r.Error != "" {
		t.Errorf("3 hops: %+v", r)
	}
	if r := recs["/hop/12"]; !strings.Contains(r.Error, "stopped after 10 redirects") {
		t.Errorf("12 hops: %+v", r)
	}
	if r := recs["/loop/a"]; !strings.Contains(r.Error, "redirect loop") {
		t.Errorf("loop: %+v", r)
	}

	// In a crawl, each hop is checked against the scope.
	cfg := testConfig(srv.URL + "/away")
	cfg.Fetch.Retries = 0
	st := openStore(t)
	c, _ := job.New(st, cfg)
	if _, err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r, _ := st.Get(srv.URL + "/away"); r == nil || !strings.Contains(r.Error, "outside the crawl scope") {
		t.Errorf("off-scope redirect: %+v", r)
	}
}

func TestTimeoutsAndRefusals(t *testing.T) {
	var hangs atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		hangs.Add(1)
		w.Header().Set("Content-Length", "1000")
		w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String() + "/"
	ln.Close()

	cfg := fetchConfig()
	cfg.Fetch.Timeout = 300 * time.Millisecond
	cfg.Fetch.Retries = 1
	cfg.Politeness.IgnoreRobots = true // the fetcher's own retries; robots.txt is tested in politeness_test.go
	st := openStore(t)
	c, _ := job.New(st, cfg)
	c.Enqueue(context.Background(), srv.URL+"/hang", dead)
	start := time.Now()
	if _, err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("job took %v", el)
	}
	if r, _ := st.Get(srv.URL + "/hang"); r == nil || !strings.Contains(r.Error, "timeout after 300ms") || r.Attempts != 2 || hangs.Load() != 2 {
		t.Errorf("hang mid-body: %+v (server saw %d)", r, hangs.Load())
	}
	if r, _ := st.Get(dead); r == nil || r.Status != 0 || r.Error != "connection refused" || r.Attempts != 2 {
		t.Errorf("refused: %+v", r)
	}
}

func TestExtractLinks(t *testing.T) {
	base, _ := url.Parse("http://h/dir/page.html")
	page := `<html><head><base href="http://h/other/">
<link rel="next" href="p2"><link rel="stylesheet" href="s.css"><link rel="Alternate" href="/fr">
</head><body>
<a href="a">a</a> <a href=" b#frag ">b</a> <A HREF=a>dup</A>
<a href="mailto:x@y">m</a> <a href="javascript:void(0)">j</a> <a href="ftp://h/f">f</a> <a href="http://[::1">bad</a>
<area href="/map"> <iframe src="/frame"></iframe>
<a href=unquoted>u</a><p><a href="//cdn.h/x">proto-relative</a>
</body>`
	got := links.Extract(base, "text/html", []byte(page))
	want := []string{"http://h/other/p2", "http://h/fr", "http://h/other/a", "http://h/other/b",
		"http://h/map", "http://h/frame", "http://h/other/unquoted", "http://cdn.h/x"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("links:\n got %q\nwant %q", got, want)
	}

	frames := `<html><frameset><frame src="left.html"><frame src="/right"></frameset></html>`
	if got := links.Extract(base, "text/html", []byte(frames)); !reflect.DeepEqual(got, []string{"http://h/dir/left.html", "http://h/right"}) {
		t.Errorf("frameset links: %q", got)
	}

	// Latin-1 declared in a meta tag: the link text and URL are decoded.
	latin := []byte("<meta charset=\"iso-8859-1\"><a href=\"/caf\xe9\">caf\xe9</a>")
	if got := links.Extract(base, "text/html", latin); len(got) != 1 || got[0] != "http://h/caf%C3%A9" {
		t.Errorf("latin-1 links: %q", got)
	}
}

func TestScope(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<a href="/docs/a">a</a><a href="/docs/b?print=1">b</a><a href="/blog/c">c</a><a href="http://127.0.0.2:9/x">other host</a>`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	crawl := func(seed string, mod func(*configs.Job)) []string {
		cfg := testConfig(srv.URL + seed)
		mod(&cfg)
		st := openStore(t)
		c, err := job.New(st, cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.Run(context.Background())
		var got []string
		st.Each(func(r *store.Record) error {
			got = append(got, strings.TrimPrefix(r.URL, srv.URL))
			return nil
		})
		return got
	}
	sorted := func(s []string) string { return fmt.Sprint(sortStrings(s)) }
	if got := crawl("/", func(*configs.Job) {}); sorted(got) != "[/ /blog/c /docs/a /docs/b?print=1]" {
		t.Errorf("host scope: %v", got)
	}
	if got := crawl("/docs/a", func(c *configs.Job) { c.Scope.Mode = "subtree" }); sorted(got) != "[/docs/a /docs/b?print=1]" {
		t.Errorf("subtree scope: %v", got)
	}
	if got := crawl("/", func(c *configs.Job) { c.Scope.Exclude = []string{`\?print=`} }); sorted(got) != "[/ /blog/c /docs/a]" {
		t.Errorf("exclude: %v", got)
	}
	if got := crawl("/", func(c *configs.Job) { c.Scope.Include = []string{`/docs/`} }); sorted(got) != "[/ /docs/a /docs/b?print=1]" {
		t.Errorf("include (seed always kept): %v", got)
	}
}

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// A POST is not sent again after a 500 (it may have been acted on), but is
// after a 503 (the server refused it).
func TestPostRetries(t *testing.T) {
	for _, c := range []struct {
		status, want int
	}{{500, 1}, {503, 3}} {
		var n atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/robots.txt" {
				http.NotFound(w, r)
				return
			}
			n.Add(1)
			w.WriteHeader(c.status)
		}))
		st := openStore(t)
		cfg := testConfig()
		cfg.Engine.Follow = false
		cfg.Fetch.Retries = 2
		cr, err := job.New(st, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cr.Add(context.Background(), task.Task{Request: fetch.Request{URL: srv.URL + "/form", Method: "POST", Body: "x=1"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := cr.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		srv.Close()
		if int(n.Load()) != c.want {
			t.Errorf("POST answered %d: sent %d times, want %d", c.status, n.Load(), c.want)
		}
	}
}

// Response headers are bounded: ten answers with 5 MB of headers each are
// errors, and the job stays small.
func TestHugeHeaders(t *testing.T) {
	junk := strings.Repeat("x", 8000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		for i := range 640 { // 5 MB
			w.Header().Set(fmt.Sprintf("X-Junk-%d", i), junk)
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	var paths []string
	for i := range 10 {
		paths = append(paths, fmt.Sprintf("/h%d", i))
	}
	cfg := fetchConfig()
	cfg.Fetch.Retries = 0
	st := openStore(t)
	c, err := job.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		c.Enqueue(context.Background(), srv.URL+p)
	}
	if _, err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	n := 0
	st.Each(func(r *store.Record) error {
		n++
		if r.Error == "" || !strings.Contains(r.Error, "headers") || len(r.Header) != 0 {
			t.Errorf("%s: %d headers kept, error %q; want an error and no headers", r.URL, len(r.Header), r.Error)
		}
		return nil
	})
	if fi, err := os.Stat(st.Path()); n != 10 || err != nil || fi.Size() > 16<<20 {
		t.Errorf("%d records; job file %v (%v); want 10 records in under 16 MB", n, fi.Size(), err)
	}
}
