// Package crawler runs trawl jobs. A bounded pool of workers leases URLs
// from a frontier, fetches them with retries, extracts links, and hands
// each result to one writer goroutine that saves it in the job's store in
// batches. Politeness sits between the frontier and the workers: after each
// fetch the host's next allowed time goes back to the frontier.
//
// Data path: seed → frontier → politeness → fetch → extract → store.
package crawler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sync/errgroup"

	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/politeness"
	"github.com/trawl-dev/trawl/store"
)

// ErrConfig marks errors in a job's configuration.
var ErrConfig = errors.New("invalid configuration")

// Config is a job's settings. DefaultConfig gives the command line's
// defaults.
type Config struct {
	Seeds       []string      // URLs to start from (depth 0)
	Follow      bool          // extract and follow links; false only fetches what is added
	Scope       string        // which links to follow: host, domain, subtree or any
	Include     []string      // follow only URLs matching one of these regexps
	Exclude     []string      // never follow URLs matching one of these regexps
	MaxDepth    int           // most hops from a seed; 0 is no limit (default DefaultMaxDepth)
	MaxPages    int           // stop after this many pages stored in the job; 0 is no limit
	MaxPerHost  int           // most pages fetched from one host; 0 is no limit
	Concurrency int           // requests in flight in all
	PerHost     int           // requests in flight to one host
	Delay       time.Duration // least time between request starts to one host
	Retries     int           // attempts after the first, for transient failures
	Timeout     time.Duration // one attempt, body included
	UserAgent   string
	MaxBody     int64 // bytes of decoded body; 0 is no limit

	IgnoreRobots bool          // fetch what robots.txt disallows (for one's own sites)
	Insecure     bool          // skip TLS certificate verification
	DenyPrivate  bool          // refuse private, loopback and link-local addresses, but the seeds' own
	AutoThrottle bool          // pace each host by its latency (see politeness.Options)
	MaxDelay     time.Duration // most auto-throttle gap (default 60s)

	// OutDir, when set, makes every 2xx body stream to a file under it
	// instead of into the job (bulk download); records name the file.
	// Downloaded bodies are not parsed: no links, no items.
	OutDir    string
	Layout    string            // file names under OutDir: host (default), flat or hash (see store.Dir)
	Checksums map[string]string // expected hex SHA-256 by URL or file name (see ReadChecksums)
}

// DefaultUserAgent is sent when Config.UserAgent is empty.
const DefaultUserAgent = "trawl/0.1 (+https://github.com/trawl-dev/trawl)"

// DefaultConfig returns the defaults of the trawl command line.
func DefaultConfig() Config {
	return Config{
		Follow:       true,
		Scope:        "host",
		MaxDepth:     DefaultMaxDepth,
		Concurrency:  16,
		PerHost:      2,
		Retries:      3,
		Timeout:      30 * time.Second,
		UserAgent:    DefaultUserAgent,
		MaxBody:      10 << 20,
		AutoThrottle: true,
		MaxDelay:     60 * time.Second,
	}
}

// Validate checks the settings, seeds, scope and patterns, so that a bad
// job is refused before anything is opened or fetched. Its errors wrap
// ErrConfig.
func (c *Config) Validate() error {
	if err := c.validate(); err != nil {
		return err
	}
	seeds := make([]string, 0, len(c.Seeds))
	for _, s := range c.Seeds {
		u, err := frontier.Canonical(s)
		if err != nil {
			return fmt.Errorf("%w: seed: %v", ErrConfig, err)
		}
		seeds = append(seeds, u)
	}
	if _, err := newScope(c.Scope, seeds, c.Include, c.Exclude); err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return nil
}

func (c *Config) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
	}
	switch {
	case c.Concurrency < 1:
		return bad("concurrency must be at least 1, not %d", c.Concurrency)
	case c.PerHost < 1:
		return bad("per-host must be at least 1, not %d", c.PerHost)
	case c.Retries < 0:
		return bad("retries must not be negative")
	case c.Timeout <= 0:
		return bad("timeout must be positive")
	case c.Delay < 0:
		return bad("delay must not be negative")
	case c.MaxBody < 0:
		return bad("max-body must not be negative")
	case c.MaxDepth < 0:
		return bad("depth must not be negative")
	case c.MaxPages < 0:
		return bad("max-pages must not be negative")
	case c.MaxPerHost < 0:
		return bad("max-per-host must not be negative")
	case c.Layout != "" && c.Layout != store.LayoutHost && c.Layout != store.LayoutFlat && c.Layout != store.LayoutHash:
		return bad("unknown layout %q (want host, flat or hash)", c.Layout)
	}
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
	return nil
}

// Frontier is the queue a Crawler drains; frontier.Bolt implements it.
type Frontier interface {
	Add(ctx context.Context, reqs []frontier.Request) (int, error)
	Requeue(ctx context.Context, reqs []frontier.Request) (int, error)
	Next(ctx context.Context) (frontier.Lease, error)
	Release(l frontier.Lease, p frontier.Pace)
	Return(l frontier.Lease, notBefore time.Time)
	Hold(host string, until time.Time)
	Complete(ctx context.Context, done []frontier.Done) error
	Stats() frontier.Stats
}

// txFrontier is a Frontier kept in the store's own bbolt file, whose
// completions can join the store's write transaction.
type txFrontier interface {
	DB() *bolt.DB
	CompleteTx(tx *bolt.Tx, done []frontier.Done) error
}

// An Option changes how New builds a Crawler.
type Option func(*Crawler)

// WithTransport makes the crawler send its requests through rt, for example
// one that serves an in-process http.Handler.
func WithTransport(rt http.RoundTripper) Option { return func(c *Crawler) { c.transport = rt } }

// WithFrontier makes the crawler drain f instead of a frontier kept in the
// store's file.
func WithFrontier(f Frontier) Option { return func(c *Crawler) { c.fr = f } }

// WithLogger makes the crawler log to l (each fetch at Info, failures at
// Info with their error).
func WithLogger(l *slog.Logger) Option { return func(c *Crawler) { c.log = l } }

// WithExtractor makes the crawler pass every 2xx page to e, saving the
// items it returns with the page and following the links it returns
// instead of every link (see Rules for the declarative one).
func WithExtractor(e Extractor) Option { return func(c *Crawler) { c.extractor = e } }

// Crawler runs one job against one store.
type Crawler struct {
	cfg       Config
	store     *store.Store
	fr        Frontier
	frTx      txFrontier   // fr, when it shares the store's file
	extractor Extractor    // nil: no items, every link
	dir       *store.Dir   // Config.OutDir, or nil
	durable   func() error // flushes OutDir's file system
	policy    *politeness.Policy
	fetcher   *fetcher
	scope     *scope
	budget    *budget
	seeds     []string
	transport http.RoundTripper
	log       *slog.Logger

	storedAtStart int
	taken         atomic.Int64 // leases taken this run

	mu          sync.Mutex
	byStatus    map[int]int
	errs        map[string]int
	stored      int
	failed      int
	bytes       int64
	retries     int
	offsite     int
	skipped     int
	traps       int
	overBudget  int
	items       int
	failures    []Failure
	extractErrs int
	maxDepth    int
}

// New returns a Crawler for the job in st. It checks cfg and fails with an
// error wrapping ErrConfig when a setting or seed is bad.
func New(st *store.Store, cfg Config, opts ...Option) (*Crawler, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Crawler{
		cfg:      cfg,
		store:    st,
		byStatus: make(map[int]int),
		errs:     make(map[string]int),
	}
	for _, o := range opts {
		o(c)
	}
	if c.log == nil {
		c.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	for _, s := range cfg.Seeds {
		u, err := frontier.Canonical(s)
		if err != nil {
			return nil, fmt.Errorf("%w: seed: %v", ErrConfig, err)
		}
		c.seeds = append(c.seeds, u)
	}
	var err error
	if c.scope, err = newScope(cfg.Scope, c.seeds, cfg.Include, cfg.Exclude); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if c.transport == nil {
		c.transport = newTransport(&c.cfg, c.seeds)
	}
	popts := politeness.Options{
		PerHost:      cfg.PerHost,
		Delay:        cfg.Delay,
		UserAgent:    c.cfg.UserAgent,
		AutoThrottle: cfg.AutoThrottle,
		MaxDelay:     cfg.MaxDelay,
		DB:           st.DB(),
	}
	if !cfg.IgnoreRobots {
		popts.Robots = &http.Client{Transport: c.transport}
	}
	c.policy = politeness.New(popts)
	if c.fr == nil {
		b, err := frontier.OpenBolt(st.DB(), frontier.Options{Pace: c.policy.Initial()})
		if err != nil {
			return nil, err
		}
		c.fr = b
	}
	if t, ok := c.fr.(txFrontier); ok && t.DB() == st.DB() {
		c.frTx = t
	}
	c.fetcher = &fetcher{
		client:    newClient(c.transport),
		userAgent: cfg.UserAgent,
		maxBody:   cfg.MaxBody,
		retries:   cfg.Retries,
		timeout:   cfg.Timeout,
	}
	if cfg.Follow {
		c.fetcher.allow = c.scope.check
	}

	if c.storedAtStart, _, err = st.Count(); err != nil {
		return nil, err
	}
	if c.budget, err = newBudget(cfg.MaxPerHost, st); err != nil {
		return nil, err
	}
	if cfg.OutDir != "" {
		if c.dir, err = openDir(cfg.OutDir, cfg.Layout, st); err != nil {
			return nil, err
		}
		root := c.dir.Root()
		c.durable = func() error { return flushFS(root) }
	}
	return c, nil
}

// Enqueue adds URLs to fetch at depth 0, as seeds are, and returns how many
// were new to the job.
func (c *Crawler) Enqueue(ctx context.Context, urls ...string) (int, error) {
	reqs := make([]frontier.Request, 0, len(urls))
	for _, raw := range urls {
		u, err := frontier.Canonical(raw)
		if err != nil {
			return 0, err
		}
		reqs = append(reqs, frontier.Request{URL: u})
		c.budget.seed(u)
	}
	return c.fr.Add(ctx, reqs)
}

// RetryFailed queues again every URL of the job whose last attempt failed
// in a way another attempt may fix: no answer, 408, 425, 429 or 5xx, or a
// 2xx whose body was cut off or failed its checksum. A 404, a body over
// max-body and the like are final. It returns how many it queued.
func (c *Crawler) RetryFailed(ctx context.Context) (int, error) {
	var reqs []frontier.Request
	err := c.store.Each(func(r *store.Record) error {
		cut := r.Status >= 200 && r.Status <= 299 && r.Error != "" && !strings.Contains(r.Error, ErrTooLarge.Error())
		if r.Skipped == "" && (r.Status == 0 || retryableStatus(r.Status) || cut) {
			reqs = append(reqs, frontier.Request{URL: r.URL, Depth: r.Depth, Spec: string(r.Request)})
		}
		return nil
	})
	if err != nil || len(reqs) == 0 {
		return 0, err
	}
	return c.fr.Requeue(ctx, reqs)
}

// result is one finished lease on its way to the writer.
type result struct {
	page *store.Page
	done frontier.Done
}

// A batch of results is committed when it holds writeBatch results or
// writeLinger after its first result arrived, whichever comes first: large
// enough batches that bbolt writes each touched page once for many records.
const (
	writeBatch  = 1024
	writeLinger = 20 * time.Millisecond
)

// Run crawls until the frontier is drained, MaxPages is reached, or ctx is
// done. Work in flight when ctx ends is left queued for the next run; all
// finished results are saved before Run returns. It returns ctx's error
// when interrupted, with the summary of what was done.
func (c *Crawler) Run(ctx context.Context) (*Summary, error) {
	start := time.Now()
	if _, err := c.Enqueue(ctx, c.seeds...); err != nil {
		return nil, err
	}
	results := make(chan *result, writeBatch)
	writerFailed := make(chan struct{})
	var writeErr error
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		writeErr = c.write(results, writerFailed)
	}()

	g, gctx := errgroup.WithContext(ctx)
	for range c.cfg.Concurrency {
		g.Go(func() error { return c.work(gctx, results, writerFailed) })
	}
	runErr := g.Wait()
	close(results)
	<-writerDone

	sum := c.summary(time.Since(start))
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

// work is one worker: lease, fetch, extract, hand to the writer.
func (c *Crawler) work(ctx context.Context, results chan<- *result, writerFailed <-chan struct{}) error {
	budget := int64(c.cfg.MaxPages - c.storedAtStart)
	for {
		if c.cfg.MaxPages > 0 && c.taken.Add(1) > budget {
			return nil
		}
		l, err := c.fr.Next(ctx)
		if errors.Is(err, frontier.ErrDrained) || ctx.Err() != nil {
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
		select {
		case results <- r:
		case <-writerFailed:
			return errors.New("writer failed")
		}
	}
}

// visit asks politeness about one leased URL, fetches it, and builds its
// result. It returns nil when the URL went back to the queue or ctx ended
// during the fetch.
func (c *Crawler) visit(ctx context.Context, l frontier.Lease) (*result, error) {
	u, err := url.Parse(l.URL)
	if err != nil {
		return nil, fmt.Errorf("frontier gave a bad URL %q: %w", l.URL, err)
	}
	v := c.policy.Check(ctx, u.Scheme, l.Host, u.RequestURI(), time.Now())
	switch v.Action {
	case politeness.Later:
		c.fr.Return(l, v.Until)
		return nil, nil
	case politeness.Skip:
		return c.unfetched(l, "robots", v.Reason)
	case politeness.Fail:
		return c.unfetched(l, "", v.Reason)
	}
	if !c.budget.take(l.Host) {
		return c.unfetched(l, "host-budget", fmt.Sprintf("host budget of %d pages spent", c.cfg.MaxPerHost))
	}
	hold := func(r *response, wait time.Duration) {
		// A server that asks us to slow down means the whole host.
		if r.retryAfter > 0 || r.status == 429 || r.status == 503 {
			c.fr.Hold(l.Host, time.Now().Add(max(wait, r.retryAfter)))
		}
	}
	req, err := request(l)
	if err != nil {
		return nil, err
	}
	fr := &fetchReq{Request: req}
	if c.dir != nil && req.Method != http.MethodHead {
		fr.dl = c.newDownload(l, req)
	}
	r := c.fetcher.fetch(ctx, fr, hold)
	pace := c.policy.Pace(l.Host, politeness.Outcome{Status: r.status, RetryAfter: r.retryAfter, Latency: r.latency}, time.Now())
	c.fr.Release(l, pace)
	if ctx.Err() != nil {
		return nil, nil
	}
	rec := store.Record{
		URL:         l.URL,
		FinalURL:    r.finalURL,
		Status:      r.status,
		Depth:       l.Depth,
		ContentType: r.contentType,
		Attempts:    r.attempts,
		Error:       describe(r.err, c.cfg.Timeout),
		FetchedAt:   r.start.UTC(),
		DurationMS:  r.duration.Milliseconds(),
		Header:      r.header,
	}
	if rec.FinalURL == "" {
		rec.FinalURL = l.URL
	}
	if l.Spec != "" {
		rec.Request = json.RawMessage(l.Spec)
	}
	var body []byte
	var found []frontier.Request
	var items []store.Item
	switch {
	case fr.dl != nil && r.err == nil && r.status >= 200 && r.status <= 299:
		path, err := c.finish(fr.dl, r)
		if err != nil {
			rec.Error = err.Error()
		}
		rec.File, rec.Length, rec.SHA256 = path, r.length, r.sum
	case fr.dl != nil:
	case r.err == nil:
		body = r.body
		if body == nil {
			body = []byte{}
		}
		var links []string
		items, links, rec.ExtractError = c.extract(r)
		found = c.follow(l, links)
	}
	if rec.Error != "" {
		c.log.Info("failed", "url", l.URL, "status", r.status, "attempts", r.attempts, "error", rec.Error)
	} else {
		c.log.Info("fetched", "url", l.URL, "status", r.status, "bytes", max(int64(len(body)), rec.Length), "links", len(found), "ms", rec.DurationMS)
	}
	page, err := c.store.NewPage(rec, body, items...)
	putBody(r.body)
	if err != nil {
		return nil, err
	}
	return &result{page: page, done: frontier.Done{Lease: l, Found: found}}, nil
}

// openDir opens the download folder and reserves the names of the files
// the job's records already name there.
func openDir(root, layout string, st *store.Store) (*store.Dir, error) {
	d, err := store.OpenDir(root, layout)
	if err != nil {
		return nil, fmt.Errorf("%w: out-dir: %v", ErrConfig, err)
	}
	err = st.Each(func(r *store.Record) error {
		if rel, err := filepath.Rel(d.Root(), r.File); r.File != "" && err == nil {
			d.Reserve(frontier.Request{URL: r.URL, Spec: string(r.Request)}.ID(), rel)
		}
		return nil
	})
	return d, err
}

// unfetched releases l and returns its result with no fetch made: the
// record holds why, and skipped (if set) says it was by choice.
func (c *Crawler) unfetched(l frontier.Lease, skipped, reason string) (*result, error) {
	c.fr.Release(l, c.policy.Current(l.Host))
	rec := store.Record{URL: l.URL, FinalURL: l.URL, Depth: l.Depth, Error: reason, Skipped: skipped, FetchedAt: time.Now().UTC()}
	c.log.Info("not fetched", "url", l.URL, "reason", reason)
	page, err := c.store.NewPage(rec, nil)
	if err != nil {
		return nil, err
	}
	return &result{page: page, done: frontier.Done{Lease: l}}, nil
}

// extract returns the items and links of a 2xx response: the Extractor's
// when the job has one, else every link when links are followed.
func (c *Crawler) extract(r *response) (items []store.Item, links []string, xerr string) {
	if r.status < 200 || r.status > 299 {
		return nil, nil, ""
	}
	base, err := url.Parse(r.finalURL)
	if err != nil {
		return nil, nil, ""
	}
	p := NewPage(base, r.contentType, r.body, r.start.UTC())
	if c.extractor == nil {
		if c.cfg.Follow {
			links = p.Links()
		}
		return nil, links, ""
	}
	items, links, err = c.extractor.Extract(p)
	if err != nil {
		xerr = err.Error()
	}
	canon := make([]string, 0, len(links))
	for _, u := range links {
		if u, err := frontier.Canonical(u); err == nil {
			canon = append(canon, u)
		}
	}
	return items, canon, xerr
}

// follow returns the links of a fetched page that are to be queued: in
// scope, not traps, within the depth limit and the host's budget.
func (c *Crawler) follow(l frontier.Lease, links []string) []frontier.Request {
	if !c.cfg.Follow || len(links) == 0 || (c.cfg.MaxDepth > 0 && l.Depth >= c.cfg.MaxDepth) {
		return nil
	}
	found := make([]frontier.Request, 0, len(links))
	offsite, traps, over := 0, 0, 0
	for _, u := range links {
		if c.scope.check(u) != nil {
			offsite++
			continue
		}
		if trap(u) != nil {
			traps++
			continue
		}
		if !c.budget.admit(u) {
			over++
			continue
		}
		found = append(found, frontier.Request{URL: u, Depth: l.Depth + 1})
	}
	if offsite > 0 || traps > 0 || over > 0 {
		c.mu.Lock()
		c.offsite += offsite
		c.traps += traps
		c.overBudget += over
		c.mu.Unlock()
	}
	return found
}

// write is the single writer: it commits results in batches, each page's
// record and its frontier completion in one transaction, until results is
// closed.
func (c *Crawler) write(results <-chan *result, failed chan<- struct{}) error {
	var err error
	batch := make([]*result, 0, writeBatch)
	linger := time.NewTimer(writeLinger)
	defer linger.Stop()
	for r := range results {
		if err != nil {
			continue // keep draining so no worker blocks
		}
		batch = append(batch[:0], r)
		linger.Reset(writeLinger)
	fill:
		for len(batch) < writeBatch {
			select {
			case r, ok := <-results:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			case <-linger.C:
				break fill
			}
		}
		if err = c.commit(batch); err != nil {
			close(failed)
		}
	}
	return err
}

func (c *Crawler) commit(batch []*result) error {
	pages := make([]*store.Page, len(batch))
	done := make([]frontier.Done, len(batch))
	for i, r := range batch {
		pages[i], done[i] = r.page, r.done
	}
	if c.durable != nil {
		// Downloads are on disk before their records say they are done.
		for _, p := range pages {
			if p.Record.File != "" {
				if err := c.durable(); err != nil {
					return fmt.Errorf("flushing downloads: %w", err)
				}
				break
			}
		}
	}
	var err error
	if c.frTx != nil {
		err = c.store.DB().Update(func(tx *bolt.Tx) error {
			if err := c.store.PutTx(tx, pages...); err != nil {
				return err
			}
			return c.frTx.CompleteTx(tx, done)
		})
	} else if err = c.store.Put(pages...); err == nil {
		// Saved first, completed second: a crash in between fetches the
		// page again, it never loses it.
		err = c.fr.Complete(context.Background(), done)
	}
	if err != nil {
		return fmt.Errorf("saving results: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range pages {
		rec := &p.Record
		c.stored++
		c.bytes += rec.Length
		c.byStatus[rec.Status]++
		c.retries += max(rec.Attempts-1, 0)
		c.maxDepth = max(c.maxDepth, rec.Depth)
		if rec.Skipped != "" {
			c.skipped++
		}
		if rec.Failed() {
			c.failed++
			if rec.Error != "" {
				c.errs[store.ErrorKind(rec.Error)]++
			}
			if len(c.failures) < maxFailures {
				c.failures = append(c.failures, Failure{URL: rec.URL, Status: rec.Status, Error: rec.Error})
			}
		}
		c.items += rec.Items
		if rec.ExtractError != "" {
			c.extractErrs++
		}
	}
	return nil
}

// A Failure is a URL that failed: no answer, an error, or a 4xx/5xx status.
type Failure struct {
	URL    string
	Status int
	Error  string
}

const maxFailures = 20

// Progress is a snapshot of a running job.
type Progress struct {
	Stored        int   // pages saved this run
	Total         int   // pages in the job, earlier runs included
	Failed        int   // saved this run with an error or a 4xx/5xx status
	Skipped       int   // saved this run unfetched: robots.txt disallows them, or their host's budget is spent
	Bytes         int64 // body bytes saved this run
	Received      int64 // download bytes received this run, of files not yet finished too
	Queued        int   // URLs waiting
	Leased        int   // URLs being fetched or saved
	Hosts         int   // hosts with work
	Offsite       int   // links outside the scope, not followed
	Traps         int   // links not followed as spider traps (see MaxPathSegments)
	Budget        int   // links not followed as their host's budget is spent (MaxPerHost)
	Items         int   // items extracted and saved this run
	ExtractErrors int   // pages saved this run whose extraction failed, in part or whole
}

// Progress returns counts of the job so far; it is safe to call while Run
// is running.
func (c *Crawler) Progress() Progress {
	fs := c.fr.Stats()
	c.mu.Lock()
	defer c.mu.Unlock()
	return Progress{
		Stored:        c.stored,
		Total:         c.storedAtStart + c.stored,
		Failed:        c.failed,
		Skipped:       c.skipped,
		Bytes:         c.bytes,
		Received:      c.fetcher.received.Load(),
		Queued:        fs.Queued,
		Leased:        fs.Leased,
		Hosts:         fs.Hosts,
		Offsite:       c.offsite,
		Traps:         c.traps,
		Budget:        c.overBudget,
		Items:         c.items,
		ExtractErrors: c.extractErrs,
	}
}

// Summary tells what one Run did.
type Summary struct {
	Progress
	Elapsed    time.Duration
	ByStatus   map[int]int    // records saved this run, by HTTP status (0: no answer)
	Errors     map[string]int // records saved this run, by error
	Retries    int            // attempts after the first, in all
	Duplicates int            // links dropped as already seen
	MaxDepth   int
	DownHosts  []string  // hosts whose circuit was open at the end
	Failures   []Failure // the first failed URLs of the run (at most 20)
	Reason     string    // done, max-pages, interrupted or error
}

// PagesPerSecond is the rate of pages saved this run.
func (s *Summary) PagesPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Stored) / s.Elapsed.Seconds()
}

// TopErrors returns the most frequent errors, most frequent first.
func (s *Summary) TopErrors(n int) []string {
	keys := make([]string, 0, len(s.Errors))
	for k := range s.Errors {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if s.Errors[keys[i]] != s.Errors[keys[j]] {
			return s.Errors[keys[i]] > s.Errors[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys[:min(n, len(keys))]
}

func (c *Crawler) summary(elapsed time.Duration) *Summary {
	p := c.Progress()
	if n, _, err := c.store.Count(); err == nil {
		p.Total = n // distinct URLs: a page fetched again counts once
	}
	fs := c.fr.Stats()
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &Summary{
		Progress:   p,
		Elapsed:    elapsed,
		ByStatus:   make(map[int]int, len(c.byStatus)),
		Errors:     make(map[string]int, len(c.errs)),
		Retries:    c.retries,
		Duplicates: fs.Filtered,
		MaxDepth:   c.maxDepth,
		Failures:   append([]Failure(nil), c.failures...),
	}
	for k, v := range c.byStatus {
		s.ByStatus[k] = v
	}
	for k, v := range c.errs {
		s.Errors[k] = v
	}
	for h := range c.policy.Down(time.Now()) {
		s.DownHosts = append(s.DownHosts, h)
	}
	sort.Strings(s.DownHosts)
	return s
}
