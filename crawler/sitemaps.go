package crawler

import (
	"context"
	"net/url"
	"strings"

	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/crawler/scope"
	"github.com/trawl-dev/trawl/crawler/sitemap"
	"github.com/trawl-dev/trawl/frontier"
)

// addSitemaps queues the sitemaps of the seeds' hosts: the Sitemap lines
// of their robots.txt, and /sitemap.xml.
func (c *Crawler) addSitemaps(ctx context.Context) error {
	var reqs []fetch.Request
	seen := map[string]bool{}
	for _, s := range c.seeds {
		u, err := url.Parse(s)
		if err != nil || seen[u.Host] {
			continue
		}
		seen[u.Host] = true
		maps := append(c.policy.Sitemaps(ctx, u.Scheme, u.Host), u.Scheme+"://"+u.Host+"/sitemap.xml")
		for _, m := range maps {
			reqs = append(reqs, fetch.Request{URL: m, Sitemap: 1})
		}
	}
	var frs []frontier.Request
	for _, r := range reqs {
		if fr, err := r.Frontier(); err == nil {
			frs = append(frs, fr)
		}
	}
	_, err := c.fr.Add(ctx, frs)
	return err
}

// sitemap returns what a fetched sitemap lists: the URLs in scope, at
// depth 1, and the sitemaps of an index (at most sitemap.MaxDepth deep);
// and a note for the record when some were left out.
func (c *Crawler) sitemap(req fetch.Request, r *fetch.Response) ([]frontier.Request, string) {
	if r.Status < 200 || r.Status > 299 {
		return nil, ""
	}
	loc, err := url.Parse(r.FinalURL)
	if err != nil {
		return nil, ""
	}
	m, err := sitemap.Parse(loc, r.Payload.Data)
	if m == nil {
		return nil, err.Error()
	}
	note := m.Note(err)
	c.log.Info("sitemap", "url", req.URL, "urls", len(m.URLs), "sitemaps", len(m.Sitemaps), "note", note)
	var found []frontier.Request
	for _, e := range m.URLs {
		u, err := frontier.Canonical(e.Loc)
		if err != nil || c.scope.Check(u) != nil || scope.Trap(u) != nil {
			continue
		}
		if e.Lastmod != "" {
			c.lastmods.Put(u, e.Lastmod)
		}
		found = append(found, frontier.Request{URL: u, Depth: 1})
	}
	if req.Sitemap < sitemap.MaxDepth {
		for _, s := range m.Sitemaps {
			if fr, err := (fetch.Request{URL: s, Sitemap: req.Sitemap + 1}).Frontier(); err == nil {
				found = append(found, fr)
			}
		}
	} else if len(m.Sitemaps) > 0 {
		note = strings.TrimPrefix(note+"; sitemap: indexes nested deeper than 3 not followed", "; ")
	}
	return found, note
}
