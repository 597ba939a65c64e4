package crawler

import (
	"context"

	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/crawler/task"
	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/store"
)

// render runs the page r answered in the browser, when the job renders
// it, and notes it in rec. It returns the rendering and the response as
// discovery is to see it: the rendered DOM as its body. A render that
// failed leaves the response as fetched, and rec says why.
func (c *Crawler) render(ctx context.Context, l frontier.Lease, t task.Task, r *fetch.Response, rec *store.Record) (*store.Rendering, *fetch.Response) {
	if c.p.Renderer == nil || t.Kind != task.Page {
		return nil, r
	}
	c.active.Add(l) // its lease is extended while it renders
	ren := c.p.Renderer.Render(ctx, l.URL, r)
	c.active.Remove(l)
	if ren == nil {
		return nil, r
	}
	if rec.Render = &ren.Render; ren.DOM == nil {
		rec.Error, rec.ErrorKind = ren.Render.Error, string(fetch.KindRender)
		return ren, r
	}
	seen := *r
	seen.Payload.Data, seen.ContentType = ren.DOM, "text/html; charset=utf-8"
	return ren, &seen
}
