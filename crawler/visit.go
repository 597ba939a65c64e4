package crawler

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/crawler/revisit"
	"github.com/trawl-dev/trawl/crawler/task"
	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/politeness"
	"github.com/trawl-dev/trawl/store"
)

// visit asks politeness about one leased task, fetches it, and builds its
// result. It returns nil when the task went back to the queue or ctx
// ended during the fetch.
func (c *Crawler) visit(ctx context.Context, l frontier.Lease) (*result, error) {
	u, err := url.Parse(l.URL)
	if err != nil {
		return nil, fmt.Errorf("frontier gave a bad URL %q: %w", l.URL, err)
	}
	t, err := task.Decode(l.Request)
	if err != nil {
		return nil, err
	}
	t.Request.User = c.users.Of(l.URL)
	t = c.secrets.Restore(t)
	var prev *store.Record // the URL's record when a later pass began
	if c.p.Config.Revisit {
		if prev, err = c.p.Store.Previous(t.ID()); err != nil {
			return nil, err
		}
		t.Request = revisit.Ask(t.Request, prev)
	}
	if l.OverBudget {
		return c.unfetched(ctx, l, t, prev, store.SkipHostBudget, fmt.Sprintf("host budget of %d pages spent", c.p.Config.MaxPerHost))
	}
	v := c.p.Politeness.Check(ctx, u.Scheme, l.Host, u.RequestURI(), time.Now())
	switch v.Action {
	case politeness.Later:
		return nil, ended(c.p.Frontier.Return(ctx, l, v.Until))
	case politeness.Skip:
		return c.unfetched(ctx, l, t, prev, store.SkipRobots, v.Reason)
	case politeness.Fail:
		return c.unfetched(ctx, l, t, prev, "", v.Reason)
	}
	c.active.Add(l)
	r := revisit.Fetch(t.Request, func(q fetch.Request) *fetch.Response {
		return c.p.Fetcher.Fetch(ctx, q, c.p.Sink.Open(t.Target()), c.holder(ctx, l.Host))
	})
	c.active.Remove(l)
	pace := c.p.Politeness.Pace(ctx, l.Host, politeness.Outcome{Status: r.Status, RetryAfter: r.RetryAfter, Latency: r.Latency}, time.Now())
	if err := ended(c.p.Frontier.Release(ctx, l, pace)); err != nil {
		return nil, err
	}
	c.p.Observer.Visited(Visit{Host: l.Host, Status: r.Status, Kind: fetch.Classify(r.Err), Attempts: r.Attempts,
		Duration: r.Duration, Bytes: max(int64(len(r.Payload.Data)), r.Payload.Length), Gap: pace.Gap})
	if ctx.Err() != nil {
		return nil, nil
	}
	if r.Err == nil && r.Location != "" {
		hop, err := c.redirect(l, t, r)
		if err == nil {
			fetch.Recycle(r.Payload.Data)
			return &result{done: frontier.Done{Lease: l, Found: []frontier.Request{hop}}}, nil
		}
		r.Err = err
	}
	if r.Err == nil && r.LocationErr != nil {
		r.Err = r.LocationErr
	}
	return c.fetched(ctx, l, t, prev, r)
}

// holder returns what the fetcher calls before a retry: a server that asks
// us to slow down means the whole host. The retry goes first when the hold
// ends; the host's other URLs a gap later, so that they do not arrive
// together.
func (c *Crawler) holder(ctx context.Context, host string) func(r *fetch.Response, wait time.Duration) {
	return func(r *fetch.Response, wait time.Duration) {
		if r.RetryAfter > 0 || r.Status == 429 || r.Status == 503 {
			after := max(c.p.Politeness.Current(ctx, host).Gap, fetch.MinSlowDown)
			until := time.Now().Add(max(wait, r.RetryAfter) + after)
			ended(c.p.Frontier.Hold(ctx, host, until))
			c.p.Observer.Held(host, until)
		}
	}
}

// redirect returns the hop that follows a redirect response, queued as a
// task of its own so that it meets robots.txt, its host's pace and its
// budget; or why the chain ends here.
func (c *Crawler) redirect(l frontier.Lease, t task.Task, r *fetch.Response) (frontier.Request, error) {
	if c.p.Config.Follow {
		if err := c.p.Scope.Check(r.Location); err != nil {
			return frontier.Request{}, fmt.Errorf("redirect to %s: %w", r.Location, err)
		}
	}
	return t.Redirect(l.Request, r.Location, r.Status)
}

// record returns the record of t, leased as l, before anything of its
// fetch is known.
func (c *Crawler) record(l frontier.Lease, t task.Task) store.Record {
	src := t.Source(l.Request)
	rec := store.Record{URL: src.URL, FinalURL: l.URL, Depth: src.Depth, Pass: c.p.Config.Pass}
	if src.Spec != "" {
		rec.Request = []byte(src.Spec)
	}
	return rec
}

// fetched builds the result of a fetch: the record, the body kept in
// memory (with its items and the links to follow), or the file it went to.
func (c *Crawler) fetched(ctx context.Context, l frontier.Lease, t task.Task, prev *store.Record, r *fetch.Response) (*result, error) {
	rec := c.record(l, t)
	if r.FinalURL != "" {
		rec.FinalURL = r.FinalURL
	}
	rec.Status, rec.ContentType, rec.Attempts = r.Status, r.ContentType, r.Attempts
	rec.Error, rec.ErrorKind = c.p.Fetcher.Describe(r.Err), string(fetch.Classify(r.Err))
	rec.FetchedAt, rec.DurationMS = r.Start.UTC(), r.Duration.Milliseconds()
	rec.Header, rec.Vary = c.p.Redactor.Header(r.Header), r.Vary
	rec.File, rec.Length, rec.SHA256, rec.WARC = r.Payload.File, r.Payload.Length, r.Payload.SHA256, r.Payload.Archived
	if r.Payload.Resumed && r.Err == nil {
		rec.Status = http.StatusOK // the whole file, continued from an earlier run
	}
	if r.Err == nil && r.Status == http.StatusNotModified && prev != nil { // asked for (see revisit.Fetch)
		fetch.Recycle(r.Payload.Data) // prev's body and items stand; its links are all in this pass too
		p, err := c.p.Store.NewUnchanged(revisit.Revalidated(rec, prev), prev)
		return &result{page: p, done: frontier.Done{Lease: l}}, err
	}
	var body []byte
	var d discovery
	var ren *store.Rendering
	if r.Err == nil && r.Payload.Data != nil {
		body = r.Payload.Data
		seen := r // as discovery sees it: rendered, when it is
		if ren, seen = c.render(ctx, l, t, r, &rec); ren == nil && ctx.Err() != nil {
			return nil, nil // stopped while it rendered: fetched again on resume
		}
		d = c.discover(l, t, rec.Depth, seen)
		rec.ExtractError, rec.LinksTruncated, rec.Lastmod = d.note, d.truncated, d.lastmod
	}
	if rec.Error != "" {
		c.p.Log.Info("failed", "url", l.URL, "status", r.Status, "attempts", r.Attempts, "error", rec.Error)
	} else {
		c.p.Log.Info("fetched", "url", l.URL, "status", r.Status, "bytes", max(int64(len(body)), rec.Length), "links", len(d.found), "ms", rec.DurationMS)
	}
	p, err := c.p.Store.NewVersion(prev, rec, body, d.items...)
	fetch.Recycle(r.Payload.Data)
	if err == nil && ren != nil {
		err = c.p.Store.Attach(p, ren)
	}
	if err != nil {
		return nil, err
	}
	return &result{page: p, done: frontier.Done{Lease: l, Found: d.found}}, nil
}

// unfetched releases l and returns its result with no fetch made: the
// record holds why, and skipped (if set) says it was by choice.
func (c *Crawler) unfetched(ctx context.Context, l frontier.Lease, t task.Task, prev *store.Record, skipped store.Skip, reason string) (*result, error) {
	pace := c.p.Politeness.Current(ctx, l.Host)
	if err := ended(c.p.Frontier.Release(ctx, l, pace)); err != nil {
		return nil, err
	}
	v := Visit{Host: l.Host, Skipped: skipped, Gap: pace.Gap}
	if skipped == "" {
		v.Kind = fetch.KindHostDown
	}
	c.p.Observer.Visited(v)
	if t.Via != nil {
		reason = "redirect to " + l.URL + ": " + reason
	}
	rec := c.record(l, t)
	rec.Error, rec.Skipped, rec.FetchedAt = reason, skipped, time.Now().UTC()
	if skipped == "" {
		rec.ErrorKind = string(fetch.KindHostDown)
	}
	c.p.Log.Info("not fetched", "url", l.URL, "reason", reason)
	p, err := c.p.Store.NewVersion(prev, rec, nil)
	if err != nil {
		return nil, err
	}
	return &result{page: p, done: frontier.Done{Lease: l}}, nil
}
