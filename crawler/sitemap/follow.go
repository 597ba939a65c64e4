package sitemap

import (
	"net/url"
	"strings"

	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/crawler/task"
	"github.com/trawl-dev/trawl/frontier"
)

// Task returns the frontier request of the sitemap at u, level indexes
// deep (1: a host's own).
func Task(u string, level int) (frontier.Request, error) {
	t, err := task.Task{Kind: task.Sitemap, Level: level, Request: fetch.Request{URL: u}}.Canonical()
	if err != nil {
		return frontier.Request{}, err
	}
	return t.Encode()
}

// Follow returns what the sitemap at loc, level indexes deep, lists in
// data: the URLs keep takes (canonical, at depth 1), with their Lastmod
// put in lastmods, and the sitemaps of an index (at most MaxDepth deep);
// a note for its record when some were left out; and the sitemap, nil
// when data is none.
func Follow(loc *url.URL, level int, data []byte, keep func(canonical string) bool, lastmods *Lastmods) ([]frontier.Request, string, *Map) {
	m, err := Parse(loc, data)
	if m == nil {
		return nil, err.Error(), nil
	}
	note := m.Note(err)
	var found []frontier.Request
	for _, e := range m.URLs {
		u, err := frontier.Canonical(e.Loc)
		if err != nil || !keep(u) {
			continue
		}
		if e.Lastmod != "" {
			lastmods.Put(u, e.Lastmod)
		}
		found = append(found, frontier.Request{URL: u, Depth: 1})
	}
	if level < MaxDepth {
		for _, s := range m.Sitemaps {
			if fr, err := Task(s, level+1); err == nil {
				found = append(found, fr)
			}
		}
	} else if len(m.Sitemaps) > 0 {
		note = strings.TrimPrefix(note+"; sitemap: indexes nested deeper than 3 not followed", "; ")
	}
	return found, note, m
}
