// Package testsite serves a synthetic web site for trawl's tests,
// benchmarks and demo: Pages HTML pages at /p/0 … /p/N-1, each about
// PageSize bytes with Links links to other pages, written in every form a
// crawler must fold into one URL (relative, absolute, with a fragment,
// with dot segments). It counts the requests each page receives.
package testsite

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Site is an http.Handler serving the synthetic site.
type Site struct {
	Pages    int           // number of pages
	Links    int           // links on each page
	PageSize int           // approximate bytes per page
	Delay    time.Duration // wait before answering each request
	Robots   string        // served at /robots.txt; empty: 404

	once   sync.Once
	hits   []atomic.Int32
	other  atomic.Int64
	total  atomic.Int64
	robots atomic.Int64
	filler string
}

// New returns a site of n pages with 10 links each and 8 KB pages.
func New(n int) *Site {
	return &Site{Pages: n, Links: 10, PageSize: 8 << 10}
}

func (s *Site) init() {
	s.once.Do(func() {
		s.hits = make([]atomic.Int32, s.Pages)
		const lorem = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. "
		s.filler = strings.Repeat(lorem, s.PageSize/len(lorem)+1)[:max(s.PageSize-200-s.Links*40, 0)]
	})
}

// Path returns the path of page i.
func Path(i int) string { return "/p/" + strconv.Itoa(i) }

// Targets returns the pages page i links to, in order: the next page first
// (so every page is reachable from page 0), then pseudo-random others.
func (s *Site) Targets(i int) []int {
	t := make([]int, 0, s.Links)
	x := uint64(i)*2654435761 + 1
	for k := 0; k < s.Links; k++ {
		if k == 0 {
			t = append(t, (i+1)%s.Pages)
			continue
		}
		x = x*6364136223846793005 + 1442695040888963407
		t = append(t, int((x>>33)%uint64(s.Pages)))
	}
	return t
}

// link writes a link to page j from page i in the k-th of several forms
// that all name the same URL.
func link(host string, i, j, k int) string {
	switch k % 5 {
	case 0:
		return strconv.Itoa(j) // relative to /p/i
	case 1:
		return "http://" + host + Path(j)
	case 2:
		return Path(j) + "#sec"
	case 3:
		return "../p/" + strconv.Itoa(j)
	default:
		return "./" + strconv.Itoa(j) + "#top"
	}
}

// ServeHTTP implements http.Handler.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.init()
	if r.URL.Path == "/robots.txt" {
		s.robots.Add(1)
		if s.Robots == "" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(s.Robots))
		return
	}
	s.total.Add(1)
	if s.Delay > 0 {
		select {
		case <-time.After(s.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if r.URL.Path == "/" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<html><body><a href="/p/0">start</a></body></html>`)
		s.other.Add(1)
		return
	}
	n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/p/"))
	if !strings.HasPrefix(r.URL.Path, "/p/") || err != nil || n < 0 || n >= s.Pages {
		s.other.Add(1)
		http.NotFound(w, r)
		return
	}
	s.hits[n].Add(1)
	var b strings.Builder
	b.Grow(s.PageSize + 512)
	fmt.Fprintf(&b, "<!doctype html>\n<html><head><title>Page %d</title></head><body>\n<h1 id=sec>Page %d</h1>\n<ul>\n", n, n)
	for k, j := range s.Targets(n) {
		fmt.Fprintf(&b, "<li><a href=\"%s\">page %d</a></li>\n", link(r.Host, n, j, k), j)
	}
	b.WriteString("</ul>\n<p>")
	b.WriteString(s.filler)
	b.WriteString("</p></body></html>\n")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.Write([]byte(b.String()))
}

// Hits returns how many times page i was requested.
func (s *Site) Hits(i int) int {
	s.init()
	return int(s.hits[i].Load())
}

// RobotsHits returns how many times /robots.txt was requested.
func (s *Site) RobotsHits() int { return int(s.robots.Load()) }

// Total returns how many requests the site received, /robots.txt aside.
func (s *Site) Total() int { return int(s.total.Load()) }

// Other returns how many requests were for paths that are not pages.
func (s *Site) Other() int { return int(s.other.Load()) }
