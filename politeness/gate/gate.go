// Package gate is an http.RoundTripper that bounds the requests in flight
// to each host and keeps each host's gap from the end of one response to
// the start of the next request.
//
// A crawl's page fetches are paced by their frontier leases; a rendered
// page's own requests (scripts, XHR, images) are not leased. With
// rendering on, every request of the process goes through one Gate, so
// that the two together keep the host's limits.
package gate

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// A Gate is an http.RoundTripper; see New.
type Gate struct {
	rt      http.RoundTripper
	perHost int
	gap     func(ctx context.Context, host string) time.Duration
	mu      sync.Mutex
	hosts   map[string]*host
}

type host struct {
	n       int           // requests in flight
	next    time.Time     // the earliest next start
	changed chan struct{} // closed when n or next changes
}

// New returns a Gate sending requests through rt, at most perHost at once
// to one host (host:port, as in the URL), each started at least gap(host)
// after the end of the host's last response. gap is asked when a response
// ends; it must be quick and safe for concurrent use.
func New(rt http.RoundTripper, perHost int, gap func(ctx context.Context, host string) time.Duration) *Gate {
	return &Gate{rt: rt, perHost: max(perHost, 1), gap: gap, hosts: map[string]*host{}}
}

// RoundTrip waits for the request's host to have room, then sends it. The
// room is held until the response's body is closed, or the request fails.
func (g *Gate) RoundTrip(req *http.Request) (*http.Response, error) {
	h := strings.ToLower(req.URL.Host)
	if err := g.acquire(req.Context(), h); err != nil {
		return nil, err
	}
	resp, err := g.rt.RoundTrip(req)
	if err != nil {
		g.release(req.Context(), h)
		return nil, err
	}
	resp.Body = &body{ReadCloser: resp.Body, done: func() { g.release(req.Context(), h) }}
	return resp, nil
}

// InFlight returns how many requests to host are in flight.
func (g *Gate) InFlight(h string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s := g.hosts[h]; s != nil {
		return s.n
	}
	return 0
}

func (g *Gate) acquire(ctx context.Context, h string) error {
	for {
		g.mu.Lock()
		s := g.hosts[h]
		if s == nil {
			s = &host{changed: make(chan struct{})}
			g.hosts[h] = s
		}
		wait := time.Until(s.next)
		if s.n < g.perHost && wait <= 0 {
			s.n++
			g.mu.Unlock()
			return nil
		}
		changed, full := s.changed, s.n >= g.perHost
		g.mu.Unlock()
		if err := await(ctx, changed, full, wait); err != nil {
			return err
		}
	}
}

// await waits for changed to close, ctx to end, or (when the host is not
// full) wait to pass.
func await(ctx context.Context, changed <-chan struct{}, full bool, wait time.Duration) error {
	var timer <-chan time.Time
	if !full {
		t := time.NewTimer(wait)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-changed:
	case <-timer:
	}
	return nil
}

func (g *Gate) release(ctx context.Context, h string) {
	gap := time.Duration(0)
	if g.gap != nil {
		gap = g.gap(ctx, h)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.hosts[h]
	s.n--
	if next := time.Now().Add(gap); next.After(s.next) {
		s.next = next
	}
	close(s.changed)
	s.changed = make(chan struct{})
	if s.n == 0 && gap <= 0 {
		delete(g.hosts, h) // nothing to remember: the map keeps to busy hosts
	}
}

// body releases its request's room once, when closed.
type body struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *body) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.done)
	return err
}

// Unwrap returns the body it wraps (see fetch.RawExchange).
func (b *body) Unwrap() io.ReadCloser { return b.ReadCloser }
