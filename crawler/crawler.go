// Package crawler runs trawl jobs. A bounded pool of workers leases
// requests from a frontier, asks politeness whether and when to fetch them,
// fetches them into the job's sink, extracts links and items, and hands
// each result to one writer goroutine that saves it in the job's store in
// batches.
//
// Data path: seed → frontier → politeness → fetch → sink (job, files…) →
// extract → store. Each step is a package of its own: frontier (and its
// implementations), politeness, crawler/fetch (with crawler/download as
// the file sink), crawler/page, crawler/links and crawler/rules for
// extraction, crawler/scope for what is followed, and store. This package
// only wires them together.
package crawler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/trawl-dev/trawl/crawler/archive"
	"github.com/trawl-dev/trawl/crawler/cookies"
	"github.com/trawl-dev/trawl/crawler/download"
	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/crawler/links"
	"github.com/trawl-dev/trawl/crawler/page"
	"github.com/trawl-dev/trawl/crawler/scope"
	"github.com/trawl-dev/trawl/crawler/sitemap"
	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/frontier/bolt"
	"github.com/trawl-dev/trawl/politeness"
	"github.com/trawl-dev/trawl/politeness/boltstate"
	"github.com/trawl-dev/trawl/store"
	"github.com/trawl-dev/trawl/store/warc"
)

// An Opener opens the frontier of a job with the options the job's
// settings make (initial pace, lease time, limits, and the counts of
// earlier runs).
type Opener func(frontier.Options) (frontier.Frontier, error)

// An Option changes how New builds a Crawler.
type Option func(*Crawler)

// WithTransport makes the crawler send its requests through rt (see
// crawltest.HandlerTransport for one that serves an in-process handler).
func WithTransport(rt http.RoundTripper) Option { return func(c *Crawler) { c.transport = rt } }

// WithFrontier makes the crawler drain the frontier open returns instead of
// one kept in the job file. Results are then saved in the job first and
// completed in the frontier second: a crash in between fetches a page again,
// it never loses one.
func WithFrontier(open Opener) Option { return func(c *Crawler) { c.openFrontier = open } }

// WithPolitenessState makes the crawler keep what politeness learns of
// hosts in s, which other processes may share, instead of in the job.
func WithPolitenessState(s politeness.State) Option { return func(c *Crawler) { c.state = s } }

// WithSink makes the crawler stream bodies into s instead of the job (or
// the files of Config.OutDir).
func WithSink(s fetch.Sink) Option { return func(c *Crawler) { c.sink = s } }

// WithLogger makes the crawler log to l (each fetch at Info, failures at
// Info with their error).
func WithLogger(l *slog.Logger) Option { return func(c *Crawler) { c.log = l } }

// WithExtractor makes the crawler pass every 2xx page to e, saving the
// items it returns with the page and following the links it returns
// instead of every link (see package rules for the declarative one).
func WithExtractor(e page.Extractor) Option { return func(c *Crawler) { c.extractor = e } }

// Crawler runs one job against one store.
type Crawler struct {
	cfg          Config
	store        *store.Store
	fr           frontier.Frontier
	joint        *bolt.Frontier    // fr, when it is kept in the store's file
	archive      *archive.Archiver // when the job writes WARC files
	openFrontier Opener
	state        politeness.State
	sink         fetch.Sink
	extractor    page.Extractor // nil: no items, every link
	known        *links.Known   // links handed on, when extractor is nil
	policy       *politeness.Policy
	fetcher      *fetch.Fetcher
	scope        *scope.Scope
	seeds        []string
	transport    http.RoundTripper
	log          *slog.Logger
	stats        *stats
	active       leases // being fetched, extended while they are
	users        users  // credentials by origin, from seeds and lists
	redactor     *fetch.Redactor
	secrets      *fetch.Secrets   // secret header values of list lines, kept out of the job
	jar          *cookies.Jar     // with Config.Cookies: saved with each batch of results
	lastmods     sitemap.Lastmods // what sitemaps said of the URLs they listed
	observer     Observer
}

// New returns a Crawler for the job in st. It checks cfg and fails with an
// error wrapping ErrConfig when a setting or seed is bad.
func New(st *store.Store, cfg Config, opts ...Option) (*Crawler, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Crawler{cfg: cfg, store: st, active: leases{m: make(map[uint64]frontier.Lease)}, users: users{m: make(map[string]*url.Userinfo)}}
	for _, o := range opts {
		o(c)
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.observer == nil {
		c.observer = nopObserver{}
	}
	if c.extractor == nil {
		c.known = links.NewKnown()
	}
	c.redactor = fetch.NewRedactor(cfg.Redact)
	c.secrets = fetch.NewSecrets(c.redactor)
	var err error
	if c.seeds, c.scope, err = c.cfg.scope(); err != nil {
		return nil, err
	}
	for _, s := range cfg.Seeds {
		if r, err := (fetch.Request{URL: s}).Canonical(); err == nil {
			c.users.remember(r)
		}
	}
	if c.transport == nil {
		c.transport = fetch.NewTransport(fetch.TransportOptions{
			Concurrency: cfg.Concurrency, PerHost: cfg.PerHost, Timeout: cfg.Timeout,
			Insecure: cfg.Insecure, DenyPrivate: cfg.DenyPrivate, Allowed: c.seeds,
			Record: cfg.WARC.Dir != "", Proxy: cfg.Proxy, NoProxy: cfg.NoProxy,
		})
	}
	c.transport = fetch.Limit(c.transport, fetch.Limits{Requests: cfg.Rate, Bytes: cfg.LimitRate})
	if err := c.openArchive(); err != nil {
		return nil, err
	}
	c.policy = c.newPolicy()
	var jar http.CookieJar
	if cfg.Cookies || cfg.CookieFile != "" {
		if c.jar, err = cookies.Open(st.File(), cfg.CookieFile); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
		jar = c.jar
	}
	c.fetcher = fetch.New(fetch.Options{Transport: c.transport, UserAgent: cfg.UserAgent, MaxBody: cfg.MaxBody, Retries: cfg.Retries, Timeout: cfg.Timeout,
		Header: cfg.Header, Redactor: c.redactor, Jar: jar})
	if err := c.openParts(); err != nil {
		return nil, err
	}
	return c, nil
}

// description says what the job does, for its archive.
func (c *Crawler) description() string {
	if !c.cfg.Follow {
		return "fetch of a URL list"
	}
	return fmt.Sprintf("crawl of %s, scope %s, depth %d, requisites %v", strings.Join(c.cfg.Seeds, " "), c.cfg.Scope, c.cfg.MaxDepth, c.cfg.Requisites)
}

// newPolicy returns the job's politeness, its state in the job file
// unless an option gave another.
func (c *Crawler) newPolicy() *politeness.Policy {
	if c.state == nil {
		c.state = boltstate.New(c.store.File())
	}
	popts := politeness.Options{
		PerHost:      c.cfg.PerHost,
		Delay:        c.cfg.Delay,
		RatePerHost:  c.cfg.RatePerHost,
		UserAgent:    c.cfg.UserAgent,
		AutoThrottle: c.cfg.AutoThrottle,
		MaxDelay:     c.cfg.MaxDelay,
		State:        c.state,
	}
	if !c.cfg.IgnoreRobots {
		rt := c.transport
		if c.archive != nil { // robots.txt answers are archived too
			rt = c.archive.Transport(rt)
		}
		popts.Robots = &http.Client{Transport: rt}
	}
	return politeness.New(popts)
}

// openParts opens the frontier and the sink, with what earlier runs of the
// job left.
func (c *Crawler) openParts() error {
	held, _, err := c.store.Count()
	if err != nil {
		return err
	}
	c.stats = newStats(held)
	fo := frontier.Options{Pace: c.policy.Initial(), LeaseTTL: c.cfg.Lease, MaxPages: c.cfg.MaxPages, MaxPerHost: c.cfg.MaxPerHost, Done: held}
	if c.cfg.MaxPerHost > 0 {
		fo.Fetched = make(map[string]int)
		err := c.store.Each(func(r *store.Record) error {
			if r.Skipped == "" {
				fo.Fetched[frontier.Host(r.URL)]++
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if c.openFrontier != nil {
		c.fr, err = c.openFrontier(fo)
	} else {
		c.joint, err = bolt.Open(c.store.File(), fo)
		c.fr = c.joint
	}
	if err != nil {
		return err
	}
	if c.sink == nil && c.cfg.OutDir != "" {
		if c.sink, err = download.New(c.cfg.OutDir, c.cfg.Layout, c.cfg.Checksums, c.store); err != nil {
			return fmt.Errorf("%w: out-dir: %v", ErrConfig, err)
		}
	}
	if c.sink == nil {
		c.sink = fetch.Memory{}
	}
	if c.archive != nil {
		c.sink = archive.New(c.sink, c.archive)
	}
	return nil
}

// openArchive opens the job's WARC files, when it writes them.
func (c *Crawler) openArchive() error {
	if c.cfg.WARC.Dir == "" {
		return nil
	}
	w, err := warc.Open(warc.Options{Dir: c.cfg.WARC.Dir, Prefix: c.cfg.WARC.Prefix, MaxSize: c.cfg.WARC.MaxSize,
		Dedup: c.cfg.WARC.Dedup, CDX: c.cfg.WARC.CDX, Software: "trawl/" + Version,
		Info: archive.Info(c.store.Path(), c.cfg.UserAgent, c.cfg.IgnoreRobots, c.description())})
	if err != nil {
		return fmt.Errorf("%w: warc: %v", ErrConfig, err)
	}
	c.archive = archive.NewArchiver(w, c.redactor)
	return nil
}

// Enqueue adds URLs to fetch at depth 0, as seeds are, and returns how many
// were new to the job.
func (c *Crawler) Enqueue(ctx context.Context, urls ...string) (int, error) {
	reqs := make([]fetch.Request, len(urls))
	for i, u := range urls {
		reqs[i] = fetch.Request{URL: u}
	}
	return c.Add(ctx, reqs...)
}

// Add queues requests at depth 0 and returns how many were new to the job.
// One URL with different methods, headers or bodies is that many requests.
func (c *Crawler) Add(ctx context.Context, reqs ...fetch.Request) (int, error) {
	frs := make([]frontier.Request, 0, len(reqs))
	for _, r := range reqs {
		r, err := r.Canonical()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", r.URL, err)
		}
		c.users.remember(r)
		fr, err := c.secrets.Strip(r).CanonicalFrontier()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", r.URL, err)
		}
		frs = append(frs, fr)
	}
	return c.fr.Add(ctx, frs)
}

// RetryFailed queues again every URL of the job whose last attempt failed
// in a way another attempt may fix: no answer, 408, 425, 429 or 5xx, or a
// 2xx whose body was cut off or failed its checksum. A 404, a body over
// max-body and the like are final. It returns how many it queued.
func (c *Crawler) RetryFailed(ctx context.Context) (int, error) {
	var reqs []frontier.Request
	err := c.store.Each(func(r *store.Record) error {
		cut := r.Status >= 200 && r.Status <= 299 && r.Error != "" && !strings.Contains(r.Error, fetch.ErrTooLarge.Error())
		if r.Skipped == "" && (r.Status == 0 || fetch.RetryableStatus(r.Status) || cut) {
			reqs = append(reqs, frontier.Request{URL: r.URL, Depth: r.Depth, Spec: string(r.Request)})
		}
		return nil
	})
	if err != nil || len(reqs) == 0 {
		return 0, err
	}
	return c.fr.Requeue(ctx, reqs)
}

// Run crawls until the frontier is drained, MaxPages is reached, or ctx is
// done. Work in flight when ctx ends is left queued for the next run; all
// finished results are saved before Run returns. It returns ctx's error
// when interrupted, with the summary of what was done.
func (c *Crawler) Run(ctx context.Context) (*Summary, error) {
	start := time.Now()
	if _, err := c.Enqueue(ctx, c.seeds...); err != nil {
		return nil, err
	}
	if c.cfg.Sitemaps && c.cfg.Follow {
		if err := c.addSitemaps(ctx); err != nil {
			return nil, err
		}
	}
	w := newWriter(c)
	g, gctx := errgroup.WithContext(ctx)
	for range c.cfg.Concurrency {
		g.Go(func() error { return c.work(gctx, w) })
	}
	stopExtending := c.active.extend(gctx, c.fr, c.cfg.Lease/3, c.log)
	runErr := g.Wait()
	stopExtending()
	writeErr := w.close()
	if c.archive != nil {
		writeErr = errors.Join(writeErr, c.archive.Close())
	}
	if writeErr == nil && ctx.Err() == nil {
		// The indexes catch up with what this run saved (see
		// store.Store.CatchUp); an interrupted run leaves that to the next.
		if _, err := c.store.CatchUp(ctx); err != nil && ctx.Err() == nil {
			writeErr = err
		}
	}

	sum := c.summary(ctx, time.Since(start))
	switch {
	case writeErr != nil:
		sum.Reason = "error"
		return sum, writeErr
	case runErr != nil && ctx.Err() == nil:
		sum.Reason = "error"
		return sum, runErr
	case ctx.Err() != nil:
		sum.Reason = "interrupted"
		return sum, ctx.Err()
	case sum.Queued > 0 && c.cfg.MaxPages > 0:
		sum.Reason = "max-pages"
	default:
		sum.Reason = "done"
	}
	return sum, nil
}

// work is one worker: lease, visit, hand the result to the writer.
func (c *Crawler) work(ctx context.Context, w *writer) error {
	for {
		l, err := w.lease(ctx)
		if errors.Is(err, frontier.ErrDrained) || errors.Is(err, frontier.ErrLimit) || ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		r, err := c.visit(ctx, l)
		if err != nil {
			return err
		}
		if r == nil { // returned to the queue, or interrupted mid-fetch
			continue
		}
		if err := w.put(ctx, r); err != nil {
			if ctx.Err() != nil { // interrupted: the result is fetched again next run
				return nil
			}
			return err
		}
	}
}

// visit asks politeness about one leased request, fetches it, and builds
// its result. It returns nil when the request went back to the queue or
// ctx ended during the fetch.
func (c *Crawler) visit(ctx context.Context, l frontier.Lease) (*result, error) {
	u, err := url.Parse(l.URL)
	if err != nil {
		return nil, fmt.Errorf("frontier gave a bad URL %q: %w", l.URL, err)
	}
	req, err := fetch.FromFrontier(l.Request)
	if err != nil {
		return nil, err
	}
	req.User = c.users.of(l.URL)
	req = c.secrets.Restore(req)
	if l.OverBudget {
		return c.unfetched(ctx, l, req, store.SkipHostBudget, fmt.Sprintf("host budget of %d pages spent", c.cfg.MaxPerHost))
	}
	v := c.policy.Check(ctx, u.Scheme, l.Host, u.RequestURI(), time.Now())
	switch v.Action {
	case politeness.Later:
		return nil, c.ended(c.fr.Return(ctx, l, v.Until))
	case politeness.Skip:
		return c.unfetched(ctx, l, req, store.SkipRobots, v.Reason)
	case politeness.Fail:
		return c.unfetched(ctx, l, req, "", v.Reason)
	}
	hold := func(r *fetch.Response, wait time.Duration) {
		// A server that asks us to slow down means the whole host. The
		// retry goes first when the hold ends; the host's other URLs a gap
		// later, so that they do not arrive together.
		if r.RetryAfter > 0 || r.Status == 429 || r.Status == 503 {
			after := max(c.policy.Current(ctx, l.Host).Gap, fetch.MinSlowDown)
			until := time.Now().Add(max(wait, r.RetryAfter) + after)
			c.ended(c.fr.Hold(ctx, l.Host, until))
			c.observer.Held(l.Host, until)
		}
	}
	c.active.add(l)
	r := c.fetcher.Fetch(ctx, req, c.sink.Open(req), hold)
	c.active.remove(l)
	pace := c.policy.Pace(ctx, l.Host, politeness.Outcome{Status: r.Status, RetryAfter: r.RetryAfter, Latency: r.Latency}, time.Now())
	if err := c.ended(c.fr.Release(ctx, l, pace)); err != nil {
		return nil, err
	}
	c.observer.Visited(Visit{Host: l.Host, Status: r.Status, Kind: fetch.Classify(r.Err), Attempts: r.Attempts,
		Duration: r.Duration, Bytes: max(int64(len(r.Payload.Data)), r.Payload.Length), Gap: pace.Gap})
	if ctx.Err() != nil {
		return nil, nil
	}
	if r.Err == nil && r.Location != "" {
		hop, err := c.redirect(l, req, r)
		if err == nil {
			fetch.Recycle(r.Payload.Data)
			return &result{done: frontier.Done{Lease: l, Found: []frontier.Request{hop}}}, nil
		}
		r.Err = err
	}
	if r.Err == nil && r.LocationErr != nil {
		r.Err = r.LocationErr
	}
	return c.fetched(l, req, r)
}

// redirect returns the hop that follows a redirect response, queued as a
// request of its own so that it meets robots.txt, its host's pace and its
// budget; or why the chain ends here.
func (c *Crawler) redirect(l frontier.Lease, req fetch.Request, r *fetch.Response) (frontier.Request, error) {
	chain := []string{l.URL}
	if req.Via != nil {
		chain = append(slices.Clone(req.Via.Chain), l.URL)
	}
	switch {
	case slices.Contains(chain, r.Location):
		return frontier.Request{}, fmt.Errorf("redirect loop at %s", r.Location)
	case len(chain) >= fetch.MaxRedirects:
		return frontier.Request{}, fmt.Errorf("stopped after %d redirects", fetch.MaxRedirects)
	}
	if c.cfg.Follow {
		if err := c.scope.Check(r.Location); err != nil {
			return frontier.Request{}, fmt.Errorf("redirect to %s: %w", r.Location, err)
		}
	}
	return req.Hop(l.Request, r.Location, r.Status).CanonicalFrontier()
}

// source returns the request a record is for: the one that was
// redirected, for a hop.
func source(l frontier.Lease, req fetch.Request) (url, spec string, depth int) {
	if req.Via != nil {
		return req.Via.URL, req.Via.Spec, req.Via.Depth
	}
	return l.URL, l.Spec, l.Depth
}

// users are the credentials that seeds and list lines gave in their URLs,
// by origin: kept in memory only, so no job file or export holds them.
type users struct {
	mu sync.Mutex
	m  map[string]*url.Userinfo
}

// origin is the scheme and host of a canonical URL.
func origin(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
			return u[:i+3+j]
		}
	}
	return u
}

func (us *users) remember(r fetch.Request) {
	if r.User == nil {
		return
	}
	us.mu.Lock()
	us.m[origin(r.URL)] = r.User
	us.mu.Unlock()
}

func (us *users) of(u string) *url.Userinfo {
	us.mu.Lock()
	defer us.mu.Unlock()
	if len(us.m) == 0 {
		return nil
	}
	return us.m[origin(u)]
}

// ended reports a frontier error that must stop the worker: a lost lease
// is not one (its result is saved all the same).
func (c *Crawler) ended(err error) error {
	if err == nil || errors.Is(err, frontier.ErrLeaseLost) {
		return nil
	}
	return err
}

// fetched builds the result of a fetch: the record, the body kept in
// memory (with its items and the links to follow), or the file it went to.
func (c *Crawler) fetched(l frontier.Lease, req fetch.Request, r *fetch.Response) (*result, error) {
	from, spec, depth := source(l, req)
	rec := store.Record{
		URL:         from,
		FinalURL:    r.FinalURL,
		Status:      r.Status,
		Depth:       depth,
		ContentType: r.ContentType,
		Attempts:    r.Attempts,
		Error:       fetch.Describe(r.Err, c.cfg.Timeout),
		FetchedAt:   r.Start.UTC(),
		DurationMS:  r.Duration.Milliseconds(),
		Header:      c.redactor.Header(r.Header),
		File:        r.Payload.File,
		Length:      r.Payload.Length,
		SHA256:      r.Payload.SHA256,
	}
	if rec.FinalURL == "" {
		rec.FinalURL = l.URL
	}
	if spec != "" {
		rec.Request = []byte(spec)
	}
	if r.Payload.Resumed && r.Err == nil {
		rec.Status = http.StatusOK // the whole file, continued from an earlier run
	}
	var body []byte
	var found []frontier.Request
	var items []store.Item
	if r.Err == nil && r.Payload.Data != nil {
		body = r.Payload.Data
		switch {
		case req.Sitemap > 0:
			found, rec.ExtractError = c.sitemap(req, r)
		case req.Requisite:
			found = c.requisites(depth, r, true)
		default:
			var outlinks []string
			items, outlinks, rec.LinksTruncated, rec.ExtractError = c.extract(depth, r)
			found = append(c.follow(depth, outlinks), c.requisites(depth, r, false)...)
			rec.Lastmod = c.lastmods.Take(l.URL)
		}
	}
	if rec.Error != "" {
		c.log.Info("failed", "url", l.URL, "status", r.Status, "attempts", r.Attempts, "error", rec.Error)
	} else {
		c.log.Info("fetched", "url", l.URL, "status", r.Status, "bytes", max(int64(len(body)), rec.Length), "links", len(found), "ms", rec.DurationMS)
	}
	p, err := c.store.NewPage(rec, body, items...)
	fetch.Recycle(r.Payload.Data)
	if err != nil {
		return nil, err
	}
	return &result{page: p, done: frontier.Done{Lease: l, Found: found}}, nil
}

// unfetched releases l and returns its result with no fetch made: the
// record holds why, and skipped (if set) says it was by choice.
func (c *Crawler) unfetched(ctx context.Context, l frontier.Lease, req fetch.Request, skipped store.Skip, reason string) (*result, error) {
	pace := c.policy.Current(ctx, l.Host)
	if err := c.ended(c.fr.Release(ctx, l, pace)); err != nil {
		return nil, err
	}
	v := Visit{Host: l.Host, Skipped: skipped, Gap: pace.Gap}
	if skipped == "" {
		v.Kind = fetch.KindHostDown
	}
	c.observer.Visited(v)
	from, spec, depth := source(l, req)
	if req.Via != nil {
		reason = "redirect to " + l.URL + ": " + reason
	}
	rec := store.Record{URL: from, FinalURL: l.URL, Depth: depth, Error: reason, Skipped: skipped, FetchedAt: time.Now().UTC()}
	if spec != "" {
		rec.Request = []byte(spec)
	}
	c.log.Info("not fetched", "url", l.URL, "reason", reason)
	p, err := c.store.NewPage(rec, nil)
	if err != nil {
		return nil, err
	}
	return &result{page: p, done: frontier.Done{Lease: l}}, nil
}

// extract returns the items and links of a 2xx response: the Extractor's
// when the job has one, else every link when links are followed.
func (c *Crawler) extract(depth int, r *fetch.Response) (items []store.Item, found []string, cut bool, xerr string) {
	if r.Status < 200 || r.Status > 299 {
		return nil, nil, false, ""
	}
	base, err := url.Parse(r.FinalURL)
	if err != nil {
		return nil, nil, false, ""
	}
	if c.extractor == nil {
		// Links already handed on from another page are left out here,
		// unresolved: only while the page's links are followed, so that
		// a link first seen beyond the depth limit is queued when seen
		// again nearer.
		if c.following(depth) && links.IsHTML(r.ContentType, r.Payload.Data) {
			found, cut = links.ExtractN(base, r.ContentType, r.Payload.Data, c.cfg.MaxLinks, c.known)
		}
		return nil, found, cut, ""
	}
	p := page.New(base, r.ContentType, r.Payload.Data, r.Start.UTC())
	p.Status, p.Header = r.Status, r.Header
	items, found, err = c.extractor.Extract(p)
	if err != nil {
		xerr = err.Error()
	}
	found, cut = links.Truncate(found, c.cfg.MaxLinks)
	canon := make([]string, 0, len(found))
	for _, u := range found {
		if u, err := frontier.Canonical(u); err == nil {
			canon = append(canon, u)
		}
	}
	return items, canon, cut, xerr
}

// follow returns the links of a fetched page that are to be queued: in
// scope, not traps, within the depth limit. (The frontier applies the
// host budgets.)
func (c *Crawler) follow(depth int, links []string) []frontier.Request {
	if !c.following(depth) || len(links) == 0 {
		return nil
	}
	found := make([]frontier.Request, 0, len(links))
	offsite, traps := 0, 0
	for _, u := range links {
		if c.scope.Check(u) != nil {
			offsite++
			continue
		}
		if scope.Trap(u) != nil {
			traps++
			continue
		}
		found = append(found, frontier.Request{URL: u, Depth: depth + 1})
	}
	c.stats.dropped(offsite, traps)
	return found
}

// following reports whether the links of a page at depth are followed.
func (c *Crawler) following(depth int) bool {
	return c.cfg.Follow && (c.cfg.MaxDepth <= 0 || depth < c.cfg.MaxDepth)
}

// requisites returns what a fetched page (or, cssOnly, a fetched
// requisite) needs to render, queued at the page's depth from any host,
// when the job fetches requisites.
func (c *Crawler) requisites(depth int, r *fetch.Response, cssOnly bool) []frontier.Request {
	if !c.cfg.Requisites || r.Status < 200 || r.Status > 299 {
		return nil
	}
	base, err := url.Parse(r.FinalURL)
	if err != nil {
		return nil
	}
	urls := links.RequisitesOf(base, r.ContentType, r.Payload.Data, cssOnly)
	out := make([]frontier.Request, 0, len(urls))
	for _, u := range urls {
		if fr, err := (fetch.Request{URL: u, Requisite: true}).CanonicalFrontier(); err == nil {
			fr.Depth = depth
			out = append(out, fr)
		}
	}
	return out
}

// Progress returns counts of the job so far; it is safe to call while Run
// is running.
func (c *Crawler) Progress() Progress {
	fs, _ := c.fr.Stats(context.Background())
	return c.stats.progress(fs, c.fetcher.Received())
}

func (c *Crawler) summary(ctx context.Context, elapsed time.Duration) *Summary {
	fs, _ := c.fr.Stats(context.WithoutCancel(ctx))
	total := -1
	if n, _, err := c.store.Count(); err == nil {
		total = n
	}
	p := c.stats.progress(fs, c.fetcher.Received())
	sum := c.stats.summary(p, fs, elapsed, total, c.policy.Down(context.WithoutCancel(ctx), time.Now()))
	if c.archive != nil {
		sum.Archived, sum.Revisits = c.archive.Counts()
	}
	return sum
}
