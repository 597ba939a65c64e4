// Package politeness decides how hard trawl may press each host: how many
// requests may be in flight to it, how long to wait between them, and when
// a host that asked us to back off may be fetched again.
//
// It stands between the frontier and the fetchers: after each fetch the
// crawler reports the outcome to a Policy and hands the resulting
// frontier.Pace back to the frontier, which holds the host until then.
package politeness

import (
	"net/http"
	"sync"
	"time"

	"github.com/trawl-dev/trawl/frontier"
)

// MaxRetryAfter bounds how long a server's Retry-After may hold a host.
const MaxRetryAfter = 10 * time.Minute

// An Outcome is what one fetch told us about its host.
type Outcome struct {
	Status     int           // HTTP status of the last attempt; 0 when nothing answered
	RetryAfter time.Duration // the server's Retry-After, when it sent one
	Latency    time.Duration // time to the response headers
}

// Policy holds the politeness rules of a job and what it learned per host.
// It is safe for concurrent use.
type Policy struct {
	perHost int
	delay   time.Duration

	mu    sync.Mutex
	hosts map[string]*hostState
}

type hostState struct {
	crawlDelay time.Duration // from robots.txt, when known
}

// New returns a Policy allowing perHost requests in flight to one host and
// spacing request starts to one host by at least delay.
func New(perHost int, delay time.Duration) *Policy {
	if perHost <= 0 {
		perHost = 2
	}
	return &Policy{perHost: perHost, delay: delay, hosts: make(map[string]*hostState)}
}

// SetCrawlDelay records a host's robots.txt Crawl-delay, which raises the
// job's delay for that host.
func (p *Policy) SetCrawlDelay(host string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state(host).crawlDelay = d
}

func (p *Policy) state(host string) *hostState {
	s := p.hosts[host]
	if s == nil {
		s = &hostState{}
		p.hosts[host] = s
	}
	return s
}

// Initial returns the pace of a host nothing is known of yet.
func (p *Policy) Initial() frontier.Pace {
	return p.Pace("", Outcome{}, time.Time{})
}

// Pace returns when host may be fetched again after a fetch with outcome o
// that ended at now.
func (p *Policy) Pace(host string, o Outcome, now time.Time) frontier.Pace {
	p.mu.Lock()
	gap := max(p.delay, p.state(host).crawlDelay)
	p.mu.Unlock()
	pace := frontier.Pace{Gap: gap, Limit: p.perHost}
	if gap > 0 {
		// Spacing applies between request starts, so overlapping requests
		// would break it: one at a time, as Heritrix and Scrapy do.
		pace.Limit = 1
	}
	if o.RetryAfter > 0 {
		pace.NotBefore = now.Add(min(o.RetryAfter, MaxRetryAfter))
	}
	return pace
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
