package crawler_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/crawler/job"
	"github.com/trawl-dev/trawl/crawler/task"
	"github.com/trawl-dev/trawl/internal/testsite"
	"github.com/trawl-dev/trawl/store"
)

// serveOn starts h on ip (127.0.0.2, 127.0.0.3, … are separate hosts).
func serveOn(t *testing.T, ip string, h http.Handler) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// requestLog records when each request to a server started.
type requestLog struct {
	mu       sync.Mutex
	starts   []time.Time
	paths    []string
	inFlight atomic.Int32
	maxIn    atomic.Int32
}

func (l *requestLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := l.inFlight.Add(1)
		defer l.inFlight.Add(-1)
		for m := l.maxIn.Load(); n > m && !l.maxIn.CompareAndSwap(m, n); m = l.maxIn.Load() {
		}
		l.mu.Lock()
		l.starts = append(l.starts, time.Now())
		l.paths = append(l.paths, r.URL.Path)
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (l *requestLog) count(path string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, p := range l.paths {
		if p == path {
			n++
		}
	}
	return n
}

// pageStarts returns the start times of requests other than robots.txt.
func (l *requestLog) pageStarts() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ts []time.Time
	for i, p := range l.paths {
		if p != "/robots.txt" {
			ts = append(ts, l.starts[i])
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	return ts
}

func TestRobotsDisallowOnceAndCached(t *testing.T) {
	site := testsite.New(40)
	site.Robots = "User-agent: *\nDisallow: /p/1\nAllow: /p/10$\n\nUser-agent: otherbot\nDisallow: /\n"
	var log requestLog
	srv := httptest.NewServer(log.wrap(site))
	defer srv.Close()
	st := openStore(t)
	for run := 0; run < 2; run++ {
		c, err := job.New(st, testConfig(srv.URL+"/p/0"))
		if err != nil {
			t.Fatal(err)
		}
		sum, err := c.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if run == 0 && sum.Skipped == 0 {
			t.Error("no URL recorded as skipped")
		}
		if n := sum.ByStatus[0]; n != 0 {
			t.Errorf("%d URLs counted as status 'no answer': skipped ones were counted as unanswered", n)
		}
	}
	// Disallow: /p/1 covers /p/1 and /p/11…/p/19; /p/10 is allowed again.
	for _, p := range []string{"/p/1", "/p/11", "/p/15", "/p/19"} {
		if n := log.count(p); n != 0 {
			t.Errorf("%s is disallowed but was requested %d times", p, n)
		}
		if r, _ := st.Get(srv.URL + p); r == nil || r.Skipped != "robots" || r.Status != 0 {
			t.Errorf("%s: record %+v, want a skipped record", p, r)
		}
	}
	if log.count("/p/10") != 1 || log.count("/p/2") != 1 {
		t.Errorf("allowed pages: /p/10 requested %d times, /p/2 %d", log.count("/p/10"), log.count("/p/2"))
	}
	if n := site.RobotsHits(); n != 1 {
		t.Errorf("robots.txt requested %d times over two runs, want 1 (cached in the job)", n)
	}
}

func TestCrawlDelay(t *testing.T) {
	site := testsite.New(4)
	site.Robots = "User-agent: *\nCrawl-delay: 1\n"
	var log requestLog
	srv := httptest.NewServer(log.wrap(site))
	defer srv.Close()
	cfg := testConfig(srv.URL + "/p/0")
	cfg.Politeness.PerHost = 4
	c, _ := job.New(openStore(t), cfg)
	if _, err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	ts := log.pageStarts()
	if len(ts) != 4 {
		t.Fatalf("%d page requests, want 4", len(ts))
	}
	for i := 1; i < len(ts); i++ {
		if d := ts[i].Sub(ts[i-1]); d < 950*time.Millisecond {
			t.Errorf("requests %d and %d were %v apart; Crawl-delay is 1s", i-1, i, d)
		}
	}
}

func TestPerHostLimitAcrossHosts(t *testing.T) {
	const hosts, pages = 4, 12
	var logs [hosts]requestLog
	var all requestLog
	var seeds []string
	for i := 0; i < hosts; i++ {
		site := testsite.New(pages)
		site.Delay = 50 * time.Millisecond
		srv := serveOn(t, fmt.Sprintf("127.0.0.%d", i+2), all.wrap(logs[i].wrap(site)))
		seeds = append(seeds, srv.URL+"/p/0")
	}
	cfg := testConfig(seeds...)
	cfg.Politeness.PerHost = 2
	cfg.Politeness.AutoThrottle = false
	st := openStore(t)
	c, _ := job.New(st, cfg)
	sum, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Stored != hosts*pages {
		t.Fatalf("stored %d pages, want %d", sum.Stored, hosts*pages)
	}
	for i := range logs {
		if m := logs[i].maxIn.Load(); m > 2 {
			t.Errorf("host %d saw %d requests in flight, limit 2", i, m)
		}
	}
	// The hosts progress in parallel: at some moment more than one host's
	// requests were in flight (serially, never more than 2).
	if m := all.maxIn.Load(); m <= 2 {
		t.Errorf("at most %d requests in flight over %d hosts: hosts were not crawled in parallel", m, hosts)
	}
}

func TestRetryAfterHoldsTheHost(t *testing.T) {
	var log requestLog
	var limited atomic.Int32
	var t429 atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/a" && limited.Add(1) == 1 {
			t429.Store(time.Now().UnixNano())
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		if r.URL.Path == "/b" {
			time.Sleep(100 * time.Millisecond) // still in flight when /a is told to wait
		}
		fmt.Fprint(w, "ok")
	})
	srv := httptest.NewServer(log.wrap(mux))
	defer srv.Close()
	cfg := fetchConfig()
	cfg.Fetch.Retries = 2
	cfg.Politeness.PerHost = 2
	cfg.Politeness.AutoThrottle = false
	st := openStore(t)
	c, _ := job.New(st, cfg)
	for _, p := range []string{"/warm", "/a", "/b", "/c", "/d", "/e"} {
		c.Enqueue(context.Background(), srv.URL+p)
	}
	if _, err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r, _ := st.Get(srv.URL + "/a"); r == nil || r.Status != 200 || r.Attempts != 2 {
		t.Fatalf("/a: %+v", r)
	}
	held := time.Unix(0, t429.Load())
	log.mu.Lock()
	defer log.mu.Unlock()
	for i, start := range log.starts {
		if p := log.paths[i]; p == "/a" || p == "/b" {
			continue // /a is retried on its own schedule; /b was already leased
		}
		if start.After(held) && start.Before(held.Add(950*time.Millisecond)) {
			t.Errorf("%s started %v after the 429 with Retry-After: 1", log.paths[i], start.Sub(held))
		}
	}
}

func TestDeadHostDoesNotHoldTheJob(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.2:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	site := testsite.New(200)
	srv := httptest.NewServer(site)
	defer srv.Close()

	cfg := testConfig()
	cfg.Engine.Follow = false
	st := openStore(t)
	c, _ := job.New(st, cfg)
	var urls []string
	for i := 0; i < 200; i++ {
		urls = append(urls, srv.URL+testsite.Path(i), fmt.Sprintf("%s/x/%d", dead, i))
	}
	c.Enqueue(context.Background(), urls...)
	sum, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Stored != 400 || site.Total() != 200 {
		t.Fatalf("stored %d records, live host saw %d requests", sum.Stored, site.Total())
	}
	if len(sum.DownHosts) != 1 || !strings.HasPrefix(dead, "http://"+sum.DownHosts[0]) {
		t.Errorf("down hosts %v, want the dead one", sum.DownHosts)
	}
	failed := 0
	st.Each(func(r *store.Record) error {
		if strings.HasPrefix(r.URL, dead) {
			if r.Status != 0 || r.Error == "" {
				t.Errorf("dead host record %+v", r)
			}
			failed++
		}
		return nil
	})
	if failed != 200 {
		t.Errorf("%d failure records for the dead host, want 200", failed)
	}
}

// A public page cannot steer the crawl into a private address that is not
// a seed's, by a link or by a redirect; the check is on the connection.
func TestDenyPrivate(t *testing.T) {
	var inner requestLog
	other := serveOn(t, "127.0.0.2", inner.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "secret")
	})))
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<a href="%s/admin">x</a> <a href="/r">r</a> <a href="/ok">ok</a>`, other.URL)
	})
	mux.HandleFunc("/r", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/via-redirect", http.StatusFound)
	})
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "fine") })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	cfg := testConfig(srv.URL + "/")
	cfg.Scope.Mode = "any"
	cfg.Fetch.DenyPrivate = true
	cfg.Fetch.Retries = 0
	st := openStore(t)
	c, _ := job.New(st, cfg)
	if _, err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(inner.pageStarts()) + inner.count("/robots.txt"); n != 0 {
		t.Errorf("the private host got %d requests", n)
	}
	for _, u := range []string{other.URL + "/admin", srv.URL + "/r"} {
		if r, _ := st.Get(u); r == nil || !strings.Contains(r.Error, "deny-private") {
			t.Errorf("%s: %+v, want an error naming --deny-private", u, r)
		}
	}
	if r, _ := st.Get(srv.URL + "/ok"); r == nil || r.Status != 200 {
		t.Errorf("the seed's own host was blocked: %+v", r)
	}
}

// A server that answers 503 without Retry-After is asked again no sooner
// than a second later, then two: never at the backoff's 200ms.
func TestSlowDownAfter503(t *testing.T) {
	var mu sync.Mutex
	var starts []time.Time
	srv := serveOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/flaky" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		starts = append(starts, time.Now())
		n := len(starts)
		mu.Unlock()
		if n <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok"))
	}))
	st := openStore(t)
	cfg := testConfig(srv.URL + "/flaky")
	c, err := job.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(starts) != 3 {
		t.Fatalf("%d attempts, want 3 (503, 503, 200)", len(starts))
	}
	for i, want := range []time.Duration{950 * time.Millisecond, 1950 * time.Millisecond} {
		if d := starts[i+1].Sub(starts[i]); d < want {
			t.Errorf("attempt %d came %v after the 503 before it, want ≥ %v", i+2, d, want)
		}
	}
	if r, _ := st.Get(srv.URL + "/flaky"); r == nil || r.Status != 200 || r.Attempts != 3 {
		t.Errorf("record %+v", r)
	}
}

// Each redirect hop is a request of its own: robots.txt is asked about
// it, and its host's Crawl-delay spaces it from the others.
func TestRedirectHopsArePolite(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "User-agent: *\nCrawl-delay: 1\nDisallow: /private/\n")
	})
	mux.HandleFunc("/a", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/b", http.StatusFound) })
	mux.HandleFunc("/b", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/c", http.StatusMovedPermanently) })
	mux.HandleFunc("/c", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<a href="/secret">s</a> <a href="/d">d</a>`)
	})
	mux.HandleFunc("/secret", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/private/x", http.StatusFound) })
	mux.HandleFunc("/d", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "d") })
	mux.HandleFunc("/private/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "private") })
	var log requestLog
	srv := httptest.NewServer(log.wrap(mux))
	defer srv.Close()
	st := openStore(t)
	cfg := testConfig(srv.URL + "/a")
	c, err := job.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := log.count("/private/x"); n != 0 {
		t.Errorf("a redirect into a disallowed path was followed %d times", n)
	}
	if r, _ := st.Get(srv.URL + "/secret"); r == nil || r.Skipped != "robots" || r.FinalURL != srv.URL+"/private/x" {
		t.Errorf("record of the redirect into /private/: %+v", r)
	}
	if r, _ := st.Get(srv.URL + "/a"); r == nil || r.Status != 200 || r.FinalURL != srv.URL+"/c" {
		t.Errorf("record of /a (→ /b → /c): %+v", r)
	}
	ts := log.pageStarts()
	if len(ts) != 5 { // /a, /b, /c, /secret, /d
		t.Fatalf("%d requests, want 5: %v", len(ts), log.paths)
	}
	for i := 1; i < len(ts); i++ {
		if d := ts[i].Sub(ts[i-1]); d < 950*time.Millisecond {
			t.Errorf("requests %d and %d were %v apart, redirect hops included; Crawl-delay is 1s", i-1, i, d)
		}
	}
}

// When a Retry-After hold ends, the retry goes alone: the host's other
// URLs follow a gap later, not in the same millisecond.
func TestHoldReleasesOneAtATime(t *testing.T) {
	var once sync.Once
	var log requestLog
	srv := httptest.NewServer(log.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			http.NotFound(w, r)
		case "/":
			fmt.Fprint(w, `<a href="/a">a</a> <a href="/b1">1</a> <a href="/b2">2</a> <a href="/b3">3</a> <a href="/b4">4</a>`)
		case "/a":
			limited := false
			once.Do(func() { limited = true })
			if limited {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			fmt.Fprint(w, "a")
		default:
			time.Sleep(200 * time.Millisecond) // /b… are still queued when the hold ends
			fmt.Fprint(w, "x")
		}
	})))
	defer srv.Close()
	cfg := testConfig(srv.URL + "/")
	cfg.Politeness.PerHost = 2
	cfg.Politeness.AutoThrottle = false
	c, err := job.New(openStore(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	var retry time.Time
	seen := 0
	for i, p := range log.paths {
		if p == "/a" {
			if seen++; seen == 2 {
				retry = log.starts[i]
			}
		}
	}
	if retry.IsZero() {
		t.Fatalf("/a not retried: %v", log.paths)
	}
	for i, p := range log.paths {
		if d := log.starts[i].Sub(retry); p != "/a" && d >= 0 && d < 500*time.Millisecond {
			t.Errorf("%s started %v after the retry of /a: released with it", p, d)
		}
	}
}

// A redirect to a dead host is the dead host's failure: the host that
// answered the redirects stays healthy, and its other URLs all succeed.
func TestRedirectToDeadHostSparesTheRedirector(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + dead.Addr().String()
	dead.Close() // nothing listens there now
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/robots.txt":
			http.NotFound(w, r)
		case strings.HasPrefix(r.URL.Path, "/r"):
			http.Redirect(w, r, deadURL+r.URL.Path, http.StatusFound)
		default:
			fmt.Fprint(w, "ok")
		}
	}))
	defer srv.Close()
	st := openStore(t)
	cfg := testConfig()
	cfg.Engine.Follow = false
	cfg.Fetch.Retries = 0
	c, err := job.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var reqs []task.Task
	for i := range 8 {
		reqs = append(reqs, task.Get(fmt.Sprintf("%s/r%d", srv.URL, i)))
	}
	for i := range 30 {
		reqs = append(reqs, task.Get(fmt.Sprintf("%s/ok%d", srv.URL, i)))
	}
	if _, err := c.Add(context.Background(), reqs...); err != nil {
		t.Fatal(err)
	}
	sum, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		if r, _ := st.Get(fmt.Sprintf("%s/ok%d", srv.URL, i)); r == nil || r.Status != 200 {
			t.Errorf("healthy URL %d after 8 dead redirects: %+v", i, r)
		}
	}
	if sum.Failed != 8 {
		t.Errorf("%d failed, want the 8 redirected to the dead host", sum.Failed)
	}
}

// Crawl-delay holds as the server sees it: from the end of one response
// (robots.txt's included) to the arrival of the next request, with slow
// answers and the CPU loaded.
func TestCrawlDelayFromTheServersSide(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var stop atomic.Bool
	defer stop.Store(true)
	go func() { // a busy goroutine: it spins until the test ends
		for n := 0; !stop.Load(); n++ {
		}
	}()
	site := testsite.New(3)
	site.Robots = "User-agent: *\nCrawl-delay: 1\n"
	site.Delay = 300 * time.Millisecond // slow answers: a gap from the start would be 0.7s at the server
	var mu sync.Mutex
	type span struct{ in, out time.Time }
	var spans []span
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in := time.Now()
		site.ServeHTTP(w, r)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		mu.Lock()
		spans = append(spans, span{in, time.Now()})
		mu.Unlock()
	}))
	defer srv.Close()
	cfg := testConfig(srv.URL + "/p/0")
	cfg.Politeness.PerHost = 4
	c, _ := job.New(openStore(t), cfg)
	if _, err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(spans) != 4 { // robots.txt and three pages
		t.Fatalf("%d requests, want 4", len(spans))
	}
	slices.SortFunc(spans, func(a, b span) int { return a.in.Compare(b.in) })
	for i := 1; i < len(spans); i++ {
		if d := spans[i].in.Sub(spans[i-1].out); d < time.Second {
			t.Errorf("request %d arrived %v after the end of answer %d; Crawl-delay is 1s", i, d, i-1)
		}
	}
}
