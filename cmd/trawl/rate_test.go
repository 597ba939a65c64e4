package main

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/internal/testsite"
)

// stamps records when each request arrived.
type stamps struct {
	mu sync.Mutex
	at []time.Time
}

func (s *stamps) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.at = append(s.at, time.Now())
		s.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// busiest returns the most requests in any window of length d.
func (s *stamps) busiest(d time.Duration) int {
	s.mu.Lock()
	at := slices.Clone(s.at)
	s.mu.Unlock()
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	most := 0
	for i, j := 0, 0; i < len(at); i++ {
		for j < len(at) && at[j].Sub(at[i]) < d {
			j++
		}
		most = max(most, j-i)
	}
	return most
}

// --rate 20 over 4 hosts: the servers see at most 21 requests in any
// second, robots.txt included.
func TestRateLimit(t *testing.T) {
	var st stamps
	var urls []string
	for i := range 4 {
		site := testsite.New(20)
		site.Links = 3
		urls = append(urls, serveOn(t, "127.0.0."+strconv.Itoa(i+1), st.wrap(site))+"/p/0")
	}
	dir := t.TempDir()
	r := trawl(t, dir, "", append([]string{"crawl", "--job", "r.db", "--rate", "20", "-c", "16", "--per-host", "4", "--auto-throttle=false"}, urls...)...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	st.mu.Lock()
	n := len(st.at)
	st.mu.Unlock()
	if n < 80 {
		t.Fatalf("only %d requests: too few to judge a rate", n)
	}
	if most := st.busiest(time.Second); most > 21 {
		t.Errorf("%d requests in one second with --rate 20", most)
	}
}

// --rate-per-host 5 spaces one host's request starts 200 ms apart, while
// --per-host still lets several be in flight.
func TestRatePerHost(t *testing.T) {
	var st stamps
	site := testsite.New(15)
	site.Links = 3
	srv := httptest.NewServer(st.wrap(site))
	defer srv.Close()
	r := trawl(t, t.TempDir(), "", "crawl", "--job", "r.db", "--rate-per-host", "5", "--per-host", "4", "--ignore-robots", "--auto-throttle=false", srv.URL+"/p/0")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if most := st.busiest(190 * time.Millisecond); most > 1 {
		t.Errorf("%d requests to one host within 190 ms with --rate-per-host 5", most)
	}
}

// --limit-rate caps the bytes a second of the whole job.
func TestLimitRate(t *testing.T) {
	body := strings.Repeat("x", 600<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) }))
	defer srv.Close()
	dir := t.TempDir()
	start := time.Now()
	r := trawl(t, dir, srv.URL+"/big\n", "fetch", "--job", "l.db", "--ignore-robots", "--out-dir", "out", "--limit-rate", "200KB")
	if el := time.Since(start); r.code != 0 || el < 2500*time.Millisecond {
		t.Errorf("600 KB at --limit-rate 200KB: exit %d after %v, want 0 after 2.5 s or more\n%s", r.code, el, r.stderr)
	}
}
