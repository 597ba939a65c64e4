package crawler

import (
	"context"
	"net/url"

	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/crawler/links"
	"github.com/trawl-dev/trawl/crawler/page"
	"github.com/trawl-dev/trawl/crawler/scope"
	"github.com/trawl-dev/trawl/crawler/sitemap"
	"github.com/trawl-dev/trawl/crawler/task"
	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/store"
)

// discovery is what a fetched body gave: the tasks to queue, the items to
// save, and notes for its record.
type discovery struct {
	found     []frontier.Request
	items     []store.Item
	truncated bool   // more links than are followed from one page
	note      string // why extraction failed, in part or whole
	lastmod   string // what a sitemap said of the page
}

// discover dispatches on the task's kind: a sitemap lists URLs, a
// requisite (a stylesheet) more requisites, a page links, items and
// requisites.
func (c *Crawler) discover(l frontier.Lease, t task.Task, depth int, r *fetch.Response) discovery {
	var d discovery
	if r.Status < 200 || r.Status > 299 {
		return d
	}
	base, err := url.Parse(r.FinalURL)
	if err != nil {
		return d
	}
	switch t.Kind {
	case task.Sitemap:
		d.found, d.note = c.sitemap(t, base, r.Payload.Data)
	case task.Requisite:
		d.found = c.requisites(depth, base, r, true)
	default:
		var outlinks []string
		d.items, outlinks, d.truncated, d.note = c.extract(depth, base, r)
		d.found = append(c.follow(depth, outlinks), c.requisites(depth, base, r, false)...)
		d.lastmod = c.lastmods.Take(l.URL)
	}
	return d
}

// extract returns the items and links of a 2xx page: the Extractor's when
// the job has one, else every link when links are followed.
func (c *Crawler) extract(depth int, base *url.URL, r *fetch.Response) (items []store.Item, found []string, cut bool, xerr string) {
	if c.p.Extractor == nil {
		// Links already handed on from another page are left out here,
		// unresolved: only while the page's links are followed, so that
		// a link first seen beyond the depth limit is queued when seen
		// again nearer.
		if c.following(depth) && links.IsHTML(r.ContentType, r.Payload.Data) {
			found, cut = links.ExtractN(base, r.ContentType, r.Payload.Data, c.p.Config.MaxLinks, c.known)
		}
		return nil, found, cut, ""
	}
	p := page.New(base, r.ContentType, r.Payload.Data, r.Start.UTC())
	p.Status, p.Header = r.Status, r.Header
	items, found, err := c.p.Extractor.Extract(p)
	if err != nil {
		xerr = err.Error()
	}
	found, cut = links.Truncate(found, c.p.Config.MaxLinks)
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
		if c.p.Scope.Check(u) != nil {
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
	return c.p.Config.Follow && (c.p.Config.MaxDepth <= 0 || depth < c.p.Config.MaxDepth)
}

// requisites returns what a fetched page (or, cssOnly, a fetched
// requisite) needs to render, queued at the page's depth from any host,
// when the job fetches requisites.
func (c *Crawler) requisites(depth int, base *url.URL, r *fetch.Response, cssOnly bool) []frontier.Request {
	if !c.p.Config.Requisites {
		return nil
	}
	urls := links.RequisitesOf(base, r.ContentType, r.Payload.Data, cssOnly)
	out := make([]frontier.Request, 0, len(urls))
	for _, u := range urls {
		if fr, err := (task.Task{Kind: task.Requisite, Request: fetch.Request{URL: u}}).Encode(); err == nil {
			fr.Depth = depth
			out = append(out, fr)
		}
	}
	return out
}

// addSitemaps queues the sitemaps of the seeds' hosts: the Sitemap lines
// of their robots.txt, and /sitemap.xml.
func (c *Crawler) addSitemaps(ctx context.Context) error {
	var frs []frontier.Request
	seen := map[string]bool{}
	for _, s := range c.p.Seeds {
		u, err := url.Parse(s.Request.URL)
		if err != nil || seen[u.Host] {
			continue
		}
		seen[u.Host] = true
		maps := append(c.p.Politeness.Sitemaps(ctx, u.Scheme, u.Host), u.Scheme+"://"+u.Host+"/sitemap.xml")
		for _, m := range maps {
			if fr, err := sitemap.Task(m, 1); err == nil {
				frs = append(frs, fr)
			}
		}
	}
	_, err := c.p.Frontier.Add(ctx, frs)
	return err
}

// sitemap returns what a fetched sitemap lists: the URLs in scope, and
// the sitemaps of an index; and a note for its record.
func (c *Crawler) sitemap(t task.Task, loc *url.URL, data []byte) ([]frontier.Request, string) {
	keep := func(u string) bool { return c.p.Scope.Check(u) == nil && scope.Trap(u) == nil }
	found, note, m := sitemap.Follow(loc, t.Level, data, keep, &c.lastmods)
	if m != nil {
		c.p.Log.Info("sitemap", "url", t.Request.URL, "urls", len(m.URLs), "sitemaps", len(m.Sitemaps), "note", note)
	}
	return found, note
}
