// Package render renders a crawl's pages in headless Chromium (see
// crawler/browser), with every request a page makes fetched by the
// crawl's own fetcher: robots.txt, the hosts' limits and gaps, the
// private-address guard, headers, secrets, cookies, the rate, retries and
// the body limit hold for scripts, XHR and images as for pages, and with
// --warc each of them is archived as it crossed the wire. A sub-resource
// fetched once in the crawl is answered from a bounded cache after that.
package render

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/trawl-dev/trawl/crawler/browser"
	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/crawler/links"
	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/politeness"
	"github.com/trawl-dev/trawl/store"
)

// A Mode says which pages are rendered.
type Mode string

// The modes.
const (
	Off  Mode = ""     // none (but those --render-include names)
	All  Mode = "all"  // every HTML page
	Some Mode = "auto" // the pages Auto takes as built by script
)

// Config is rendering as a job's settings give it.
type Config struct {
	Mode     Mode
	Include  []string // regexps of page URLs rendered whatever the mode
	Chromium string   // the browser's executable; "" to look on PATH
	// A page is done when the network has been quiet for Idle after its
	// load event, or, with Wait, when an element matches that selector;
	// and always by Timeout. Scroll is how many screens to scroll.
	Idle, Timeout time.Duration
	Wait          string
	Scroll        int
	Browsers      int   // tabs rendering at once
	TabPages      int   // pages a tab renders before it is replaced
	MaxMemory     int64 // JavaScript heap of one renderer, in bytes
	Screenshot    bool
	Cache         int64 // bytes of sub-resources kept for later pages
}

// On reports whether any page is rendered.
func (c Config) On() bool { return c.Mode != Off || len(c.Include) > 0 }

// Check reports a bad mode or pattern.
func (c Config) Check() error {
	switch c.Mode {
	case Off, All, Some:
	default:
		return fmt.Errorf("render %q: want all or auto", string(c.Mode))
	}
	for _, re := range c.Include {
		if _, err := regexp.Compile(re); err != nil {
			return fmt.Errorf("render-include %q: %v", re, err)
		}
	}
	return nil
}

// A Fetcher makes a request's attempts (see fetch.Fetcher).
type Fetcher interface {
	Fetch(ctx context.Context, req fetch.Request, body fetch.Body, onRetry func(r *fetch.Response, wait time.Duration)) *fetch.Response
	Describe(err error) string
}

// Politeness decides whether and when a host may be asked (see
// politeness.Policy).
type Politeness interface {
	Check(ctx context.Context, scheme, host, path string, now time.Time) politeness.Verdict
	Pace(ctx context.Context, host string, o politeness.Outcome, now time.Time) frontier.Pace
}

// Parts are what a Renderer fetches with.
type Parts struct {
	Fetcher    Fetcher
	Politeness Politeness
	// Sink receives sub-resources' bodies: in memory, and archived when
	// the job archives (see crawler/archive).
	Sink fetch.Sink
	// Archive, when the job archives, keeps each screenshot as a resource
	// record.
	Archive   Archive
	UserAgent string
	Log       *slog.Logger
}

// An Archive writes what the crawl made to its WARC files (see
// crawler/archive.Archiver).
type Archive interface {
	Resource(uri, contentType string, date time.Time, data []byte) (*store.WARCRef, error)
}

// A Renderer renders the pages its Config picks. It is safe for
// concurrent use.
type Renderer struct {
	cfg     Config
	include []*regexp.Regexp
	parts   Parts
	pool    *browser.Pool
	cache   *cache
}

// New starts the browser and returns the Renderer.
func New(ctx context.Context, cfg Config, p Parts) (*Renderer, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	path, err := browser.Find(cfg.Chromium)
	if err != nil {
		return nil, err
	}
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	r := &Renderer{cfg: cfg, parts: p, cache: newCache(max(cfg.Cache, 1<<20))}
	for _, re := range cfg.Include {
		r.include = append(r.include, regexp.MustCompile(re))
	}
	r.pool, err = browser.Start(ctx, browser.Options{Path: path, Tabs: cfg.Browsers, TabPages: cfg.TabPages,
		UserAgent: p.UserAgent, MaxMemory: cfg.MaxMemory, Log: p.Log})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Close ends the browser.
func (r *Renderer) Close() error { return r.pool.Close() }

// Stats returns the browser pool's counts.
func (r *Renderer) Stats() browser.Stats { return r.pool.Stats() }

// Wants says why the page at pageURL, fetched as resp, is rendered; ""
// when it is not.
func (r *Renderer) Wants(pageURL string, resp *fetch.Response) string {
	if resp.Status < 200 || resp.Status > 299 || !links.IsHTML(resp.ContentType, resp.Payload.Data) {
		return ""
	}
	for _, re := range r.include {
		if re.MatchString(pageURL) {
			return "render-include " + re.String()
		}
	}
	switch r.cfg.Mode {
	case All:
		return "render: every page"
	case Some:
		_, why := Auto(resp.Payload.Data)
		return why
	}
	return ""
}

// Render renders the page at pageURL, fetched as resp, when the Config
// picks it: nil when it does not. A render that failed is a Rendering
// whose Render says why. When ctx ends first it returns nil.
func (r *Renderer) Render(ctx context.Context, pageURL string, resp *fetch.Response) *store.Rendering {
	why := r.Wants(pageURL, resp)
	if why == "" {
		return nil
	}
	l := &loader{r: r}
	pg := &browser.Page{URL: resp.FinalURL, Status: resp.Status, Header: resp.Header, Body: resp.Payload.Data,
		Idle: r.cfg.Idle, Wait: r.cfg.Wait, Timeout: r.cfg.Timeout, Scroll: r.cfg.Scroll, Screenshot: r.cfg.Screenshot}
	start := time.Now()
	res, err := r.pool.Render(ctx, pg, l)
	if ctx.Err() != nil {
		return nil
	}
	out := &store.Rendering{Render: store.Render{Reason: why, MS: time.Since(start).Milliseconds()}}
	out.Render.Requests, out.Render.Note = l.done()
	if err != nil {
		out.Render.Error = "render: " + err.Error()
		r.parts.Log.Info("render failed", "url", pageURL, "error", err)
		return out
	}
	out.DOM, out.Screenshot = res.DOM, res.Screenshot
	out.Render.DOM = store.BlobOf(res.DOM)
	if res.Screenshot != nil {
		out.Render.Screenshot = store.BlobOf(res.Screenshot)
		if r.parts.Archive != nil {
			ref, err := r.parts.Archive.Resource("urn:view:"+pageURL, "image/png", start, res.Screenshot)
			if err != nil {
				out.Render.Error = err.Error()
				return out
			}
			out.Render.ScreenshotWARC = ref
		}
	}
	out.Render.Navigations = res.Navigations
	if res.Note != "" {
		out.Render.Note = strings.TrimPrefix(out.Render.Note+"; "+res.Note, "; ")
	}
	return out
}

// maxRequests is how many of a page's requests its record lists.
const maxRequests = 500

// loader answers one page's requests, and lists them.
type loader struct {
	r    *Renderer
	mu   sync.Mutex
	reqs []store.Subrequest
	left int // requests past maxRequests
}

func (l *loader) done() ([]store.Subrequest, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.left > 0 {
		return l.reqs, fmt.Sprintf("%d more requests not listed", l.left)
	}
	return l.reqs, ""
}

// Load answers req: from the cache, or fetched by the crawl's rules.
func (l *loader) Load(ctx context.Context, req *browser.Request) *browser.Response {
	sub := store.Subrequest{URL: req.URL, Type: req.Type, From: store.SubNet}
	if req.Method != http.MethodGet {
		sub.Method = req.Method
	}
	var a *answer
	var cached bool
	var err error
	if req.Method == http.MethodGet && len(req.Body) == 0 {
		a, cached, err = l.r.cache.get(req.URL, func() (*answer, error) { return l.r.fetch(ctx, req) })
	} else {
		a, err = l.r.fetch(ctx, req)
	}
	var blocked blockedError
	switch {
	case errors.As(err, &blocked):
		sub.From, sub.Error = store.SubBlocked, err.Error()
	case err != nil:
		sub.From, sub.Error = store.SubFailed, err.Error()
	case cached:
		sub.From = store.SubCache
	}
	if a != nil {
		sub.Status, sub.Bytes = a.status, int64(len(a.body))
	}
	l.mu.Lock()
	if len(l.reqs) < maxRequests {
		l.reqs = append(l.reqs, sub)
	} else {
		l.left++
	}
	l.mu.Unlock()
	if err != nil {
		return &browser.Response{Err: err, Blocked: sub.From == store.SubBlocked}
	}
	return &browser.Response{Status: a.status, Header: a.header, Body: a.body}
}

// blockedError is a request the crawl's rules refuse.
type blockedError struct{ reason string }

func (e blockedError) Error() string { return e.reason }

// fetch fetches req with the crawl's fetcher, once politeness lets it.
func (r *Renderer) fetch(ctx context.Context, req *browser.Request) (*answer, error) {
	u, err := url.Parse(req.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("not an http(s) URL: %.200s", req.URL)
	}
	host := strings.ToLower(u.Host)
	if err := r.allowed(ctx, u, host); err != nil {
		return nil, err
	}
	fr := fetch.Request{URL: req.URL, Header: forward(req.Header), Body: string(req.Body)}
	if req.Method != http.MethodGet {
		fr.Method = req.Method
	}
	resp := r.parts.Fetcher.Fetch(ctx, fr, r.parts.Sink.Open(fetch.Target{URL: req.URL, Method: fr.Method}), nil)
	r.parts.Politeness.Pace(ctx, host, politeness.Outcome{Status: resp.Status, RetryAfter: resp.RetryAfter, Latency: resp.Latency}, time.Now())
	if resp.Err != nil {
		return nil, errors.New(r.parts.Fetcher.Describe(resp.Err))
	}
	return &answer{status: resp.Status, header: resp.Header, body: resp.Payload.Data}, nil
}

// allowed waits until politeness lets u be fetched, and returns why not
// when it does not.
func (r *Renderer) allowed(ctx context.Context, u *url.URL, host string) error {
	for {
		v := r.parts.Politeness.Check(ctx, u.Scheme, host, u.RequestURI(), time.Now())
		switch v.Action {
		case politeness.Fetch:
			return nil
		case politeness.Skip:
			return blockedError{v.Reason}
		case politeness.Fail:
			return errors.New(v.Reason)
		}
		t := time.NewTimer(max(time.Until(v.Until), time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: the page's deadline came first", host)
		case <-t.C:
		}
	}
}

// forward returns the browser's request headers that go on the wire:
// not its User-Agent, encodings or cookies, which are trawl's.
func forward(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		switch ck := http.CanonicalHeaderKey(k); {
		case ck == "User-Agent", ck == "Accept-Encoding", ck == "Cookie", ck == "Host", ck == "Connection", ck == "Content-Length",
			strings.HasPrefix(ck, "Sec-Ch-Ua"):
		default:
			out[ck] = strings.Join(vs, ", ")
		}
	}
	return out
}
