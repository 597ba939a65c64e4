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

// Changing is a site that changes between passes of a re-crawl: pages
// /c/0 … /c/N-1, all linked from /, a quarter of them with ETag and
// Last-Modified, a quarter ETag only, a quarter Last-Modified only and a
// quarter neither (page i: i%4 says which). Change, Remove and Add alter
// it; it answers conditional requests as RFC 9110 says, and counts what
// it saw.
type Changing struct {
	// Filler pads each page with this many bytes.
	Filler int
	// Start is the Last-Modified of a page never changed.
	Start time.Time
	// Words, when set, pads each page with this many words of text that
	// differs from page to page and version to version (compressing as
	// prose does), instead of Filler's repetition.
	Words int
	// Validated gives every page both validators, whatever its number.
	Validated bool

	mu      sync.Mutex
	pages   int
	version map[int]int  // page → times changed
	removed map[int]bool // page → 404 from now on
	every   map[int]bool // page → changes after each answer
	stamp   map[int]time.Time

	delay       atomic.Int64 // how long each page takes to answer (see SetDelay)
	hits        Counter
	conditional atomic.Int64 // requests with If-None-Match or If-Modified-Since
	notModified atomic.Int64 // 304s sent
	bodyBytes   atomic.Int64 // body bytes sent
	unasked     atomic.Int64 // page requests without validators to a page that had some
}

// NewChanging returns a site of n pages.
func NewChanging(n int) *Changing {
	return &Changing{pages: n, Start: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		version: map[int]int{}, removed: map[int]bool{}, every: map[int]bool{}, stamp: map[int]time.Time{}}
}

// The validators page i has: i%4 is 0 (both), 1 (ETag), 2 (Last-Modified)
// or 3 (neither).
func hasETag(i int) bool { return i%4 == 0 || i%4 == 1 }
func hasLM(i int) bool   { return i%4 == 0 || i%4 == 2 }

// Change makes page i's body (and its validators) new.
func (c *Changing) Change(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.version[i]++
	c.stamp[i] = c.Start.Add(time.Duration(c.version[i]) * time.Hour)
}

// SetDelay makes each page take d to answer, from now on.
func (c *Changing) SetDelay(d time.Duration) { c.delay.Store(int64(d)) }

// ChangeAlways makes page i change after each answer it gives.
func (c *Changing) ChangeAlways(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.every[i] = true
}

// Remove makes page i answer 404 and drops its link.
func (c *Changing) Remove(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removed[i] = true
}

// Add adds a page, linked from /, and returns its number.
func (c *Changing) Add() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pages++
	return c.pages - 1
}

// Pages returns how many pages the site has had, removed ones included.
func (c *Changing) Pages() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pages
}

// Path is page i's path.
func (c *Changing) Path(i int) string { return "/c/" + strconv.Itoa(i) }

// Hits returns how many requests path got.
func (c *Changing) Hits(path string) int { return c.hits.Get(path) }

// Total returns how many requests the site got.
func (c *Changing) Total() int { return c.hits.Total() }

// Counts returns the conditional requests seen, the 304s sent, the body
// bytes sent and the requests without validators to pages that have some.
func (c *Changing) Counts() (conditional, notModified, bodyBytes, unasked int64) {
	return c.conditional.Load(), c.notModified.Load(), c.bodyBytes.Load(), c.unasked.Load()
}

// Reset zeroes the counts.
func (c *Changing) Reset() {
	c.hits.Reset()
	c.conditional.Store(0)
	c.notModified.Store(0)
	c.bodyBytes.Store(0)
	c.unasked.Store(0)
}

// ServeHTTP implements http.Handler.
func (c *Changing) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.hits.Add(r.URL.Path)
	switch p := r.URL.Path; {
	case p == "/robots.txt":
		http.NotFound(w, r)
	case p == "/":
		c.index(w)
	case strings.HasPrefix(p, "/c/"):
		i, err := strconv.Atoi(strings.TrimPrefix(p, "/c/"))
		c.mu.Lock()
		ok := err == nil && i >= 0 && i < c.pages && !c.removed[i]
		version, stamp := c.version[i], c.stamp[i]
		c.mu.Unlock()
		if ok && c.every[i] {
			defer c.Change(i)
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		if stamp.IsZero() {
			stamp = c.Start
		}
		if d := time.Duration(c.delay.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		c.page(w, r, i, version, stamp)
	default:
		http.NotFound(w, r)
	}
}

func (c *Changing) index(w http.ResponseWriter) {
	c.mu.Lock()
	var b strings.Builder
	b.WriteString("<!doctype html><title>index</title>\n")
	for i := range c.pages {
		if !c.removed[i] {
			fmt.Fprintf(&b, "<a href=\"/c/%d\">page %d</a>\n", i, i)
		}
	}
	c.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	n, _ := w.Write([]byte(b.String()))
	c.bodyBytes.Add(int64(n))
}

// page answers page i at its version, conditionally when asked to.
func (c *Changing) page(w http.ResponseWriter, r *http.Request, i, version int, stamp time.Time) {
	etag := fmt.Sprintf(`"p%d-v%d"`, i, version)
	if i%8 == 1 {
		etag = "W/" + etag // some weak ones
	}
	h := w.Header()
	withETag, withLM := hasETag(i) || c.Validated, hasLM(i) || c.Validated
	if withETag {
		h.Set("ETag", etag)
	}
	if withLM {
		h.Set("Last-Modified", stamp.Format(http.TimeFormat))
	}
	h.Set("Cache-Control", "max-age=60")
	inm, ims := r.Header.Get("If-None-Match"), r.Header.Get("If-Modified-Since")
	if inm != "" || ims != "" {
		c.conditional.Add(1)
	} else if withETag || withLM {
		c.unasked.Add(1)
	}
	if notModified(inm, ims, etag, stamp, withETag, withLM) {
		c.notModified.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	filler := strings.Repeat("lorem ipsum ", c.Filler/12)
	if c.Words > 0 {
		filler = prose(uint64(i)<<20|uint64(version), c.Words)
	}
	body := fmt.Sprintf("<!doctype html><title>page %d</title><p>version %d</p><a href=\"/\">home</a>\n<p>%s</p>\n",
		i, version, filler)
	n, _ := w.Write([]byte(body))
	c.bodyBytes.Add(int64(n))
}

// notModified applies RFC 9110 §13.2.2: If-None-Match first, by weak
// comparison; If-Modified-Since only without it.
func notModified(inm, ims, etag string, stamp time.Time, withETag, withLM bool) bool {
	if inm != "" {
		if !withETag {
			return false
		}
		for tag := range strings.SplitSeq(inm, ",") {
			if strings.TrimPrefix(strings.TrimSpace(tag), "W/") == strings.TrimPrefix(etag, "W/") {
				return true
			}
		}
		return false
	}
	if ims != "" && withLM {
		t, err := http.ParseTime(ims)
		return err == nil && !stamp.After(t)
	}
	return false
}

var words = strings.Fields(`the of and to in is was for on that with as by at from his her an which or
be are were this had not but have one their all its has been they who more also when some other into
time after first two new city year between under most only many where while made both during known
system water people world river state found such used same however house music called part early`)

// prose returns n words of text drawn from seed.
func prose(seed uint64, n int) string {
	var b strings.Builder
	x := seed*0x9e3779b97f4a7c15 + 1
	for j := range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		if j > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[x%uint64(len(words))])
	}
	return b.String()
}
