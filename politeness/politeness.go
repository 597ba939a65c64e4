// Package politeness decides how hard trawl may press each host: whether
// robots.txt lets a URL be fetched, how many requests may be in flight to a
// host, how long to wait between them, and when a host that asked us to
// back off, or keeps failing, may be tried again.
//
// It stands between the frontier and the fetchers. Before a fetch, the
// crawler asks Check; after it, it reports the outcome to Pace and hands
// the resulting frontier.Pace back to the frontier, which holds the host
// until then. No worker ever sleeps for politeness.
package politeness

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/trawl-dev/trawl/frontier"
)

// MaxRetryAfter bounds how long a server's Retry-After may hold a host.
const MaxRetryAfter = 10 * time.Minute

// MaxCrawlDelay bounds a robots.txt Crawl-delay, as Heritrix does.
const MaxCrawlDelay = 5 * time.Minute

// Config is politeness as a job's settings give it.
type Config struct {
	PerHost int           // requests in flight to one host (default 2)
	Delay   time.Duration // least gap between request starts to one host (default 0)
	// RatePerHost, when positive, is the most requests a second to one
	// host: a gap of 1/RatePerHost between starts, with PerHost still
	// allowed in flight (unlike Delay, which allows one).
	RatePerHost float64
	// AutoThrottle paces each host by its latency: gap = latency/PerHost,
	// never below Delay nor above MaxDelay; 429 and 503 double it.
	AutoThrottle bool
	MaxDelay     time.Duration // default 60s
	// IgnoreRobots fetches what robots.txt disallows (for one's own
	// sites): the assembler then gives the policy no Robots client.
	IgnoreRobots bool
}

// Options configure a Policy. The zero value of each field has the
// default given.
type Options struct {
	Config
	UserAgent string // matched against robots.txt groups

	// Robots, when set, is the client that fetches robots.txt; nil ignores
	// robots.txt.
	Robots *http.Client
	// State keeps what the policy learns of hosts, robots.txt files
	// included (cached for RobotsTTL, default 24h). Policies that share a
	// State share what they learn. Default: NewMemoryState().
	State     State
	RobotsTTL time.Duration
	// RobotsRetry is the first wait before asking again for a robots.txt
	// that answered 5xx or not at all; it doubles each time, and after
	// RobotsTries such answers the host's URLs fail (default 10s, 4).
	RobotsRetry time.Duration
	RobotsTries int
	// RobotsTimeout bounds one fetch of a robots.txt, body included: at
	// least 5s, at most and by default 30s.
	RobotsTimeout time.Duration

	// BreakAfter consecutive URLs that got no answer open a host's
	// circuit: its URLs fail at once, except one probe every BreakProbe
	// (defaults 5, 30s).
	BreakAfter int
	BreakProbe time.Duration
}

// Policy holds the politeness rules of a job; what it learns of hosts is
// in its State. It is safe for concurrent use.
type Policy struct {
	opts Options

	mu       sync.Mutex
	fetching map[string]*robotsEntry // robots.txt being fetched or parsed, by host
}

// New returns a Policy with opts.
func New(opts Options) *Policy {
	if opts.PerHost <= 0 {
		opts.PerHost = 2
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = 60 * time.Second
	}
	if opts.RobotsTTL <= 0 {
		opts.RobotsTTL = 24 * time.Hour
	}
	if opts.RobotsRetry <= 0 {
		opts.RobotsRetry = 10 * time.Second
	}
	if opts.RobotsTries <= 0 {
		opts.RobotsTries = 4
	}
	if opts.RobotsTimeout <= 0 || opts.RobotsTimeout > 30*time.Second {
		opts.RobotsTimeout = 30 * time.Second
	}
	opts.RobotsTimeout = max(opts.RobotsTimeout, 5*time.Second)
	if opts.BreakAfter <= 0 {
		opts.BreakAfter = 5
	}
	if opts.BreakProbe <= 0 {
		opts.BreakProbe = 30 * time.Second
	}
	if opts.State == nil {
		opts.State = NewMemoryState()
	}
	return &Policy{opts: opts, fetching: make(map[string]*robotsEntry)}
}

// host returns host's state; a State that fails gives a host nothing is
// known of (the politeness of a new host).
func (p *Policy) host(ctx context.Context, host string) Host {
	h, _ := p.opts.State.UpdateHost(ctx, host, nil)
	return h
}

// rateGap is the gap RatePerHost makes.
func (p *Policy) rateGap() time.Duration {
	if p.opts.RatePerHost <= 0 {
		return 0
	}
	return time.Duration(float64(time.Second) / p.opts.RatePerHost)
}

// Initial returns the pace of a host nothing is known of yet: one request
// at a time until its robots.txt (and so its Crawl-delay) is known.
func (p *Policy) Initial() frontier.Pace {
	pace := frontier.Pace{Gap: max(p.opts.Delay, p.rateGap()), Limit: p.opts.PerHost}
	if p.opts.Delay > 0 || p.opts.Robots != nil {
		pace.Limit = 1
	}
	return pace
}

// Current returns host's pace as it stands, for a lease that made no
// request.
func (p *Policy) Current(ctx context.Context, host string) frontier.Pace {
	return p.pace(p.host(ctx, host))
}

func (p *Policy) pace(s Host) frontier.Pace {
	fixed := max(p.opts.Delay, s.CrawlDelay)
	pace := frontier.Pace{Gap: max(fixed, s.Auto, p.rateGap()), Limit: p.opts.PerHost}
	if fixed > 0 {
		// A fixed delay spaces request starts; overlapping requests would
		// break it, so one at a time, as Heritrix and Scrapy do.
		pace.Limit = 1
	}
	// An open circuit does not hold the host: its URLs fail at once in
	// Check, without a request, so the queue drains instead of waiting.
	return pace
}

// An Outcome is what one fetch told us about its host.
type Outcome struct {
	Status     int           // HTTP status of the last attempt; 0 when nothing answered
	RetryAfter time.Duration // the server's Retry-After, when it sent one
	Latency    time.Duration // time to the response headers
}

// Pace records the outcome of a fetch from host that ended at now, and
// returns when the host may be fetched again.
func (p *Policy) Pace(ctx context.Context, host string, o Outcome, now time.Time) frontier.Pace {
	s, _ := p.opts.State.UpdateHost(ctx, host, func(s *Host) {
		if p.opts.AutoThrottle {
			p.throttle(s, o)
		}
		p.trackFailures(s, o, now)
	})
	pace := p.pace(s)
	if t := now.Add(min(o.RetryAfter, MaxRetryAfter)); o.RetryAfter > 0 && t.After(pace.NotBefore) {
		pace.NotBefore = t
	}
	// A fixed delay runs from the end of this response, as the server
	// sees it (Yandex's definition of Crawl-delay), not only from the
	// request's start, which a slow answer or a busy machine would eat.
	if t := now.Add(p.rest(s.CrawlDelay)); t.After(pace.NotBefore) && t.After(now) {
		pace.NotBefore = t
	}
	return pace
}

// rest is the least time from the end of one response of a host to the
// start of its next request: --delay, Crawl-delay or --rate-per-host.
func (p *Policy) rest(crawlDelay time.Duration) time.Duration {
	return max(p.opts.Delay, crawlDelay, p.rateGap())
}

// throttle adjusts the host's auto-throttle gap, as Scrapy's AutoThrottle:
// aim at PerHost requests in flight (gap = latency/PerHost), move halfway
// there each response, never faster after a 5xx, and double the gap on 429
// or 503. A quick 4xx (a 404 say) is an answer like any other: the server
// is not struggling.
func (p *Policy) throttle(s *Host, o Outcome) {
	switch {
	case o.Status == http.StatusTooManyRequests || o.Status == http.StatusServiceUnavailable:
		s.Auto = max(2*s.Auto, time.Second)
	case o.Latency > 0 && o.Status != 0:
		target := o.Latency / time.Duration(p.opts.PerHost)
		next := max(target, (s.Auto+target)/2)
		if o.Status >= 500 && next < s.Auto {
			next = s.Auto
		}
		s.Auto = next
	}
	s.Auto = min(max(s.Auto, p.opts.Delay), p.opts.MaxDelay)
}

// trackFailures counts URLs of the host that got no answer, and opens or
// closes the host's circuit.
func (p *Policy) trackFailures(s *Host, o Outcome, now time.Time) {
	if o.Status != 0 {
		s.Failures, s.OpenAt, s.ProbeAt = 0, time.Time{}, time.Time{}
		return
	}
	s.Failures++
	if s.Failures >= p.opts.BreakAfter {
		if s.OpenAt.IsZero() {
			s.OpenAt = now
		}
		s.ProbeAt = now.Add(p.opts.BreakProbe)
	}
}

// Down returns the hosts whose circuit is open, with how long ago it opened.
func (p *Policy) Down(ctx context.Context, now time.Time) map[string]time.Duration {
	down := map[string]time.Duration{}
	opened, _ := p.opts.State.Down(ctx)
	for h, at := range opened {
		down[h] = now.Sub(at)
	}
	return down
}

// RetryAfter parses a Retry-After header value (seconds or an HTTP date)
// relative to now. It returns 0 when v is empty or unreadable.
func RetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var secs int64
	digits := true
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			digits = false
			break
		}
		secs = secs*10 + int64(c-'0')
		if secs > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
	}
	if digits {
		return time.Duration(secs) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	if d := t.Sub(now); d > 0 {
		return min(d, MaxRetryAfter)
	}
	return 0
}
