package job

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/trawl-dev/trawl/configs"
	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/crawler/archive"
	"github.com/trawl-dev/trawl/crawler/browser"
	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/crawler/render"
	"github.com/trawl-dev/trawl/politeness"
	"github.com/trawl-dev/trawl/politeness/gate"
)

// WithRenderer hands the job's renderer, when it renders, to fn (to show
// its counts, say). The job closes it when its run ends.
func WithRenderer(fn func(*render.Renderer)) Option { return func(a *assembly) { a.onRender = fn } }

// gated returns rt behind a gate that keeps each host's limits for every
// request of the job, when the job renders: a page's own requests hold no
// lease. The gate asks the policy set in the returned pointer for each
// host's gap.
func gated(j configs.Job, rt http.RoundTripper) (http.RoundTripper, **politeness.Policy) {
	var policy *politeness.Policy
	if !j.Render.On() {
		return rt, &policy
	}
	gap := func(ctx context.Context, host string) time.Duration {
		if policy == nil {
			return 0
		}
		return policy.Current(ctx, host).Gap
	}
	return gate.New(rt, j.Politeness.PerHost, gap), &policy
}

// openRenderer starts the job's browser, when it renders. Its requests
// are fetched by f under policy, and archived by arch.
func (a *assembly) openRenderer(j configs.Job, f *fetch.Fetcher, policy *politeness.Policy, arch *archive.Archiver) (*render.Renderer, error) {
	if !j.Render.On() {
		return nil, nil
	}
	parts := render.Parts{Fetcher: f, Politeness: policy, Sink: fetch.Memory{}, UserAgent: j.Fetch.UserAgent, Log: a.log}
	if arch != nil {
		parts.Sink, parts.Archive = archive.New(parts.Sink, arch), arch
	}
	r, err := render.New(context.Background(), j.Render, parts)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", crawler.ErrConfig, err)
	}
	if a.onRender != nil {
		a.onRender(r)
	}
	return r, nil
}

// checkRender reports a job that renders without a browser to do it.
func checkRender(j configs.Job) error {
	if !j.Render.On() {
		return nil
	}
	if _, err := browser.Find(j.Render.Chromium); err != nil {
		return fmt.Errorf("%w: --render: %v", crawler.ErrConfig, err)
	}
	return nil
}
