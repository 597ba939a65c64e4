// Package crawler is trawl's engine. A bounded pool of workers leases
// tasks from a frontier, asks politeness whether and when to fetch them,
// fetches them into a sink, discovers links and items in what came back,
// and hands each result to one writer goroutine that saves it in batches.
//
// Data path: seed → frontier → politeness → fetch → sink (job, files,
// WARC) → discover (links, items) → store. The engine holds every part
// through an interface of its own (see Parts); package crawler/job builds
// them from a job's settings.
package crawler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/crawler/keeper"
	"github.com/trawl-dev/trawl/crawler/links"
	"github.com/trawl-dev/trawl/crawler/page"
	"github.com/trawl-dev/trawl/crawler/sitemap"
	"github.com/trawl-dev/trawl/crawler/task"
	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/politeness"
	"github.com/trawl-dev/trawl/store"
)

// Store is where a job's results are kept (package store's Store is one). The
// engine reads it; it writes through a Saver.
type Store interface {
	// NewPage returns the page to save for rec, with its body and items.
	NewPage(rec store.Record, body []byte, items ...store.Item) (*store.Page, error)
	// NewVersion is NewPage for a record of a later pass: prev is the
	// URL's record when the pass began (see Previous). NewUnchanged
	// returns the page of a revisit that found prev unchanged.
	NewVersion(prev *store.Record, rec store.Record, body []byte, items ...store.Item) (*store.Page, error)
	NewUnchanged(rec store.Record, prev *store.Record) (*store.Page, error)
	// Previous returns the record the request id had when the pass
	// began; nil for none.
	Previous(id string) (*store.Record, error)
	// Count returns how many URLs the job holds, and their bytes.
	Count() (urls int, bytes int64, err error)
	// Each calls fn with the latest record of each URL.
	Each(fn func(*store.Record) error) error
	// CatchUp brings the store's indexes up to date with what was saved.
	CatchUp(ctx context.Context) (int, error)
	// Attach adds a rendering's DOM and screenshot to what is saved
	// with p.
	Attach(p *store.Page, r *store.Rendering) error
}

// A Saver makes a batch of results durable: their pages, and the
// completion of their leases in the frontier, in that order or in one
// transaction. The engine calls it from one goroutine at a time. lost is
// the frontier's error for leases that had expired (a
// *frontier.LostError), which does not stop the job; err is a failure.
type Saver interface {
	Save(ctx context.Context, pages []*store.Page, done []frontier.Done) (lost, err error)
}

// Politeness decides whether and when a host may be asked (see
// politeness.Policy). Its methods are safe for concurrent use.
type Politeness interface {
	Check(ctx context.Context, scheme, host, path string, now time.Time) politeness.Verdict
	Pace(ctx context.Context, host string, o politeness.Outcome, now time.Time) frontier.Pace
	Current(ctx context.Context, host string) frontier.Pace
	Down(ctx context.Context, now time.Time) map[string]time.Duration
	Sitemaps(ctx context.Context, scheme, host string) []string
}

// A Fetcher makes a request's attempts (see fetch.Fetcher). It is safe for
// concurrent use.
type Fetcher interface {
	Fetch(ctx context.Context, req fetch.Request, body fetch.Body, onRetry func(r *fetch.Response, wait time.Duration)) *fetch.Response
	// Received returns the body bytes streaming bodies received so far.
	Received() int64
	// Describe turns a fetch error into a message a person can read.
	Describe(err error) string
}

// A Scope says which links are followed (see scope.Scope).
type Scope interface {
	Check(u string) error
}

// A Renderer runs fetched pages' scripts in a browser (see crawler/render).
// It is safe for concurrent use.
type Renderer interface {
	// Render returns what the browser made of the page at url, fetched as
	// r: nil when the page is not rendered, or ctx ended first.
	Render(ctx context.Context, url string, r *fetch.Response) *store.Rendering
	Close() error // ends the browser: Run calls it as it ends
}

// An Archive is the WARC archive a job writes, when it writes one.
type Archive interface {
	Close() error
	Counts() (responses, revisits int64)
}

// Parts are what a Crawler runs with. Every field but Archive, Extractor,
// Renderer, Observer and Log is required.
type Parts struct {
	Config     Config
	Seeds      []task.Task // canonical
	Scope      Scope
	Frontier   frontier.Frontier
	Store      Store
	Saver      Saver
	Politeness Politeness
	Fetcher    Fetcher
	Sink       fetch.Sink
	Redactor   *fetch.Redactor
	Archive    Archive
	// Extractor, when set, is given every 2xx page: the items it returns
	// are saved with the page and the links it returns are followed
	// instead of every link (see package rules for the declarative one).
	Extractor page.Extractor
	Renderer  Renderer     // default: none rendered
	Observer  Observer     // default: none
	Log       *slog.Logger // default: none
}

// Crawler runs one job.
type Crawler struct {
	p        Parts
	known    *links.Known  // links handed on, when there is no Extractor
	secrets  *task.Secrets // secret header values of list lines, kept out of the job
	users    task.Users    // credentials by origin, from seeds and lists
	stats    *stats
	active   keeper.Keeper    // being fetched, extended while they are
	lastmods sitemap.Lastmods // what sitemaps said of the URLs they listed
}

// New returns a Crawler that runs with p.
func New(p Parts) (*Crawler, error) {
	if err := p.Config.Check(); err != nil {
		return nil, err
	}
	if p.Frontier == nil || p.Store == nil || p.Saver == nil || p.Politeness == nil || p.Fetcher == nil || p.Sink == nil || p.Scope == nil || p.Redactor == nil {
		return nil, errors.New("crawler: a required part is missing")
	}
	c := &Crawler{p: p}
	if c.p.Log == nil {
		c.p.Log = slog.New(slog.DiscardHandler)
	}
	if c.p.Observer == nil {
		c.p.Observer = nopObserver{}
	}
	if c.p.Extractor == nil {
		c.known = links.NewKnown()
	}
	c.secrets = task.NewSecrets(c.p.Redactor)
	for _, s := range p.Seeds {
		c.users.Remember(s.Request)
	}
	held, _, err := c.p.Store.Count()
	if err != nil {
		return nil, err
	}
	c.stats = newStats(held)
	return c, nil
}

// Enqueue adds URLs to fetch at depth 0, as seeds are, and returns how many
// were new to the job.
func (c *Crawler) Enqueue(ctx context.Context, urls ...string) (int, error) {
	ts := make([]task.Task, len(urls))
	for i, u := range urls {
		ts[i] = task.Get(u)
	}
	return c.Add(ctx, ts...)
}

// Add queues tasks at depth 0 and returns how many were new to the job.
// One URL with different methods, headers or bodies is that many tasks.
func (c *Crawler) Add(ctx context.Context, ts ...task.Task) (int, error) {
	frs := make([]frontier.Request, 0, len(ts))
	for _, t := range ts {
		raw := t.Request.URL
		t, err := t.Canonical()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", raw, err)
		}
		c.users.Remember(t.Request)
		fr, err := c.secrets.Strip(t).Encode()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", t.Request.URL, err)
		}
		frs = append(frs, fr)
	}
	return c.p.Frontier.Add(ctx, frs)
}

// RetryFailed queues again every URL of the job whose last attempt failed
// in a way another attempt may fix: no answer, 408, 425, 429 or 5xx, or a
// 2xx whose body was cut off or failed its checksum. A 404, a body over
// max-body and the like are final. It returns how many it queued.
func (c *Crawler) RetryFailed(ctx context.Context) (int, error) {
	var reqs []frontier.Request
	err := c.p.Store.Each(func(r *store.Record) error {
		if r.Retryable() {
			reqs = append(reqs, frontier.Request{URL: r.URL, Depth: r.Depth, Spec: string(r.Request)})
		}
		return nil
	})
	if err != nil || len(reqs) == 0 {
		return 0, err
	}
	return c.p.Frontier.Requeue(ctx, reqs)
}

// A Reason says why a run ended.
type Reason string

// The reasons a run ends.
const (
	Done        Reason = "done"        // nothing is left to fetch
	MaxPages    Reason = "max-pages"   // the job holds Config.MaxPages pages
	Interrupted Reason = "interrupted" // its context ended; run again to resume
	Failed      Reason = "error"       // an error stopped it
)

// Run crawls until the frontier is drained, MaxPages is reached, or ctx is
// done. Work in flight when ctx ends is left queued for the next run; all
// finished results are saved before Run returns. It returns ctx's error
// when interrupted, with the summary of what was done.
func (c *Crawler) Run(ctx context.Context) (*Summary, error) {
	start := time.Now()
	if err := c.queueSeeds(ctx); err != nil {
		return nil, err
	}
	w := newWriter(c)
	g, gctx := errgroup.WithContext(ctx)
	for range c.p.Config.Concurrency {
		g.Go(func() error { return c.work(gctx, w) })
	}
	stopExtending := c.active.Extend(gctx, c.p.Frontier, c.p.Config.Lease/3, c.p.Log)
	runErr := g.Wait()
	stopExtending()
	writeErr := w.close()
	if c.p.Archive != nil {
		writeErr = errors.Join(writeErr, c.p.Archive.Close())
	}
	if c.p.Renderer != nil {
		writeErr = errors.Join(writeErr, c.p.Renderer.Close())
	}
	if writeErr == nil && ctx.Err() == nil {
		// The indexes catch up with what this run saved (see
		// store.Store.CatchUp); an interrupted run leaves that to the next.
		if _, err := c.p.Store.CatchUp(ctx); err != nil && ctx.Err() == nil {
			writeErr = err
		}
	}
	sum := c.summary(ctx, time.Since(start))
	switch {
	case writeErr != nil:
		sum.Reason = Failed
		return sum, writeErr
	case runErr != nil && ctx.Err() == nil:
		sum.Reason = Failed
		return sum, runErr
	case ctx.Err() != nil:
		sum.Reason = Interrupted
		return sum, ctx.Err()
	case sum.Queued > 0 && c.p.Config.MaxPages > 0:
		sum.Reason = MaxPages
	default:
		sum.Reason = Done
	}
	return sum, nil
}

// queueSeeds adds the seeds, and their hosts' sitemaps when the job reads
// them.
func (c *Crawler) queueSeeds(ctx context.Context) error {
	if _, err := c.Add(ctx, c.p.Seeds...); err != nil {
		return err
	}
	if c.p.Config.Sitemaps && c.p.Config.Follow {
		return c.addSitemaps(ctx)
	}
	return nil
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

// ended reports a frontier error that must stop the worker: a lost lease
// is not one (its result is saved all the same).
func ended(err error) error {
	if err == nil || errors.Is(err, frontier.ErrLeaseLost) {
		return nil
	}
	return err
}

// Progress returns counts of the job so far; it is safe to call while Run
// is running.
func (c *Crawler) Progress() Progress {
	fs, _ := c.p.Frontier.Stats(context.Background())
	return c.stats.progress(fs, c.p.Fetcher.Received())
}

func (c *Crawler) summary(ctx context.Context, elapsed time.Duration) *Summary {
	fs, _ := c.p.Frontier.Stats(context.WithoutCancel(ctx))
	total := -1
	if n, _, err := c.p.Store.Count(); err == nil {
		total = n
	}
	p := c.stats.progress(fs, c.p.Fetcher.Received())
	sum := c.stats.summary(p, fs, elapsed, total, c.p.Politeness.Down(context.WithoutCancel(ctx), time.Now()))
	if c.p.Archive != nil {
		sum.Archived, sum.Revisits = c.p.Archive.Counts()
	}
	return sum
}
