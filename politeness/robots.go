package politeness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/trawl-dev/trawl/politeness/robotstxt"
)

// maxRobotsSize is the most of a robots.txt that is read (Google reads 500 KiB).
const maxRobotsSize = 500 << 10

// An Action is what Check tells the crawler to do with a URL.
type Action int

const (
	Fetch Action = iota // fetch it now
	Skip                // do not fetch it; record it as skipped (robots.txt disallows it)
	Later               // return it to the queue; its host may be asked again at Verdict.Until
	Fail                // do not fetch it; record it as failed with Verdict.Reason
)

// A Verdict is Check's answer.
type Verdict struct {
	Action Action
	Reason string    // for Skip and Fail
	Until  time.Time // for Later
}

// robotsEntry is one host's robots.txt, or the attempt to get it.
type robotsEntry struct {
	done      chan struct{} // closed when the fields below are set
	group     *robotstxt.Group
	sitemaps  []string // the file's Sitemap lines
	fetchedAt time.Time
	// answeredAt is when the host's robots.txt answer ended, when this
	// process fetched it: that request counts toward the host's pace.
	answeredAt time.Time
	err        string    // why it is unavailable (5xx or no answer); empty when usable
	noConnect  bool      // no connection could be made: the host itself is unreachable
	fails      int       // unavailable answers in a row
	retryAt    time.Time // when to ask again after an unavailable answer
}

// Sitemaps returns the Sitemap lines of host's robots.txt, fetching it
// first if it is not known yet (none when robots.txt is ignored or
// unavailable).
func (p *Policy) Sitemaps(ctx context.Context, scheme, host string) []string {
	if p.opts.Robots == nil {
		return nil
	}
	e, err := p.robots(ctx, scheme, host, time.Now())
	if err != nil || e == nil || e.err != "" {
		return nil
	}
	return e.sitemaps
}

// Check decides whether a URL of host may be fetched now: the host's
// circuit must let it through, and its robots.txt (fetched once per host,
// before any other request to it, and cached in the job) must allow it.
func (p *Policy) Check(ctx context.Context, scheme, host, path string, now time.Time) Verdict {
	var down Verdict
	p.opts.State.UpdateHost(ctx, host, func(s *Host) {
		if s.OpenAt.IsZero() {
			return
		}
		if now.Before(s.ProbeAt) {
			down = Verdict{Action: Fail, Reason: fmt.Sprintf("host down: the last %d URLs got no answer (circuit open)", s.Failures)}
			return
		}
		s.ProbeAt = now.Add(p.opts.BreakProbe) // this URL is the probe
	})
	if down.Action == Fail {
		return down
	}
	if p.opts.Robots == nil {
		return Verdict{Action: Fetch}
	}
	e, err := p.robots(ctx, scheme, host, now)
	if err != nil { // interrupted
		return Verdict{Action: Later, Until: now}
	}
	switch {
	case e.noConnect:
		// Nothing listens: no request can reach the host, so its URLs fail
		// now (and open its circuit) rather than wait for robots.txt.
		p.Pace(ctx, host, Outcome{}, now)
		return Verdict{Action: Fail, Reason: e.err}
	case e.err == "":
		if !e.group.Allowed(path) {
			return Verdict{Action: Skip, Reason: "robots.txt disallows it"}
		}
		if rest := p.rest(e.crawlDelay()); rest > 0 && now.Before(e.answeredAt.Add(rest)) {
			until := e.answeredAt.Add(rest)
			return Verdict{Action: Later, Until: until} // robots.txt was a request too
		}
		return Verdict{Action: Fetch}
	case e.fails >= p.opts.RobotsTries:
		return Verdict{Action: Fail, Reason: fmt.Sprintf("robots.txt unavailable after %d tries (%s)", e.fails, e.err)}
	default:
		return Verdict{Action: Later, Until: e.retryAt}
	}
}

// robots returns host's robots.txt entry, fetching it if it is missing,
// expired, or due for another try. One caller fetches; the others wait.
func (p *Policy) robots(ctx context.Context, scheme, host string, now time.Time) (*robotsEntry, error) {
	p.mu.Lock()
	e := p.fetching[host]
	stale := e != nil && isClosed(e.done) &&
		(e.noConnect ||
			e.err == "" && now.Sub(e.fetchedAt) > p.opts.RobotsTTL ||
			e.err != "" && e.fails < p.opts.RobotsTries && !now.Before(e.retryAt))
	if e != nil && !stale {
		p.mu.Unlock()
		select {
		case <-e.done:
			return e, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	next := &robotsEntry{done: make(chan struct{})}
	if e != nil {
		next.fails = e.fails
	}
	p.fetching[host] = next
	p.mu.Unlock()

	p.load(ctx, scheme, host, now, next)
	if ctx.Err() != nil {
		p.mu.Lock()
		if p.fetching[host] == next {
			p.fetching[host] = e // let a later caller try again
		}
		p.mu.Unlock()
		close(next.done)
		return nil, ctx.Err()
	}
	if next.err == "" && next.group.HasCrawlDelay && next.group.CrawlDelay > 0 {
		p.opts.State.UpdateHost(ctx, host, func(s *Host) {
			s.CrawlDelay = min(next.group.CrawlDelay, MaxCrawlDelay)
		})
	}
	close(next.done)
	return next, nil
}

// crawlDelay is the Crawl-delay of the group that applies, bounded.
func (e *robotsEntry) crawlDelay() time.Duration {
	if e.group == nil || !e.group.HasCrawlDelay {
		return 0
	}
	return min(max(e.group.CrawlDelay, 0), MaxCrawlDelay)
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// load fills e from the job's cache or from the host.
func (p *Policy) load(ctx context.Context, scheme, host string, now time.Time, e *robotsEntry) {
	if c, ok, _ := p.opts.State.Robots(ctx, host); ok && now.Sub(c.FetchedAt) <= p.opts.RobotsTTL {
		p.parse(e, c.Status, []byte(c.Body), c.FetchedAt)
		return
	}
	status, body, err := p.fetchRobots(ctx, scheme+"://"+host+"/robots.txt")
	e.answeredAt = time.Now()
	var oe *net.OpError
	switch {
	case errors.As(err, &oe) && oe.Op == "dial":
		msg := oe.Err.Error()
		if errors.Is(err, syscall.ECONNREFUSED) {
			msg = "connection refused"
		}
		e.err, e.noConnect = msg+" (fetching robots.txt)", true
		return
	case err != nil:
		e.err = err.Error()
	case status >= 500:
		e.err = fmt.Sprintf("HTTP %d", status)
	}
	if e.err != "" {
		// RFC 9309: an unreachable robots.txt means the whole site is
		// disallowed for now; ask again later.
		e.fails++
		e.retryAt = now.Add(p.opts.RobotsRetry << (e.fails - 1))
		return
	}
	p.parse(e, status, body, now)
	// A cache: losing it costs one more fetch of robots.txt.
	_ = p.opts.State.PutRobots(ctx, host, Robots{FetchedAt: now, Status: status, Body: string(body)})
}

// parse reads a robots.txt answer: 2xx is parsed, 4xx allows everything.
func (p *Policy) parse(e *robotsEntry, status int, body []byte, at time.Time) {
	file := &robotstxt.File{} // a 4xx (or anything but 2xx): no rules
	if status >= 200 && status <= 299 {
		file = robotstxt.Parse(body)
	}
	e.group = file.Group(agentToken(p.opts.UserAgent))
	e.sitemaps = file.Sitemaps
	e.fetchedAt = at
	e.err, e.fails = "", 0
}

// agentToken is the product token of a User-Agent ("trawl" of "trawl/0.1 (…)").
func agentToken(ua string) string {
	if i := strings.IndexAny(ua, "/ "); i > 0 {
		return ua[:i]
	}
	return ua
}

// MaxRobotsRedirects is how many redirects a robots.txt fetch follows: a
// robots.txt further away is unavailable, and allows everything (RFC 9309
// §2.3.1.2).
const MaxRobotsRedirects = 5

var errRobotsRedirects = errors.New("robots.txt: more than 5 redirects")

// fetchRobots fetches a robots.txt, within the policy's timeout, and
// returns its status and at most maxRobotsSize of its body. One that is
// more than MaxRobotsRedirects redirects away is a 404.
func (p *Policy) fetchRobots(ctx context.Context, url string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, p.opts.RobotsTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("User-Agent", p.opts.UserAgent)
	client := *p.opts.Robots
	client.CheckRedirect = func(_ *http.Request, via []*http.Request) error {
		if len(via) > MaxRobotsRedirects {
			return errRobotsRedirects
		}
		return nil
	}
	resp, err := client.Do(req)
	if errors.Is(err, errRobotsRedirects) {
		return http.StatusNotFound, nil, nil
	}
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRobotsSize))
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, body, nil
}
