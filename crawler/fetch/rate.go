package fetch

import (
	"context"
	"io"
	"net/http"

	"golang.org/x/time/rate"
)

// Limits caps what a job asks of the network as a whole, whatever the
// hosts: requests a second (robots.txt and retries included) and body
// bytes a second.
type Limits struct {
	Requests float64 // requests a second, in bursts of one; 0 is no limit
	Bytes    int64   // body bytes a second; 0 is no limit
}

// Limit returns rt with l applied: each request waits for its turn, and
// each body read for its bytes.
func Limit(rt http.RoundTripper, l Limits) http.RoundTripper {
	if l.Requests <= 0 && l.Bytes <= 0 {
		return rt
	}
	lt := &limited{rt: rt}
	if l.Requests > 0 {
		lt.reqs = rate.NewLimiter(rate.Limit(l.Requests), 1)
	}
	if l.Bytes > 0 {
		lt.bytes = rate.NewLimiter(rate.Limit(l.Bytes), int(min(max(l.Bytes/10, 1), 64<<10)))
	}
	return lt
}

type limited struct {
	rt    http.RoundTripper
	reqs  *rate.Limiter
	bytes *rate.Limiter
}

func (l *limited) RoundTrip(req *http.Request) (*http.Response, error) {
	if l.reqs != nil {
		if err := l.reqs.Wait(req.Context()); err != nil {
			return nil, err
		}
	}
	resp, err := l.rt.RoundTrip(req)
	if err != nil || l.bytes == nil {
		return resp, err
	}
	resp.Body = &slowBody{ReadCloser: resp.Body, ctx: req.Context(), l: l.bytes}
	return resp, nil
}

func (l *limited) CloseIdleConnections() {
	if c, ok := l.rt.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// slowBody reads no faster than its limiter allows.
type slowBody struct {
	io.ReadCloser
	ctx context.Context
	l   *rate.Limiter
}

// Unwrap returns the body it slows (see RawExchange).
func (b *slowBody) Unwrap() io.ReadCloser { return b.ReadCloser }

func (b *slowBody) Read(p []byte) (int, error) {
	if len(p) > b.l.Burst() {
		p = p[:b.l.Burst()]
	}
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		if werr := b.l.WaitN(b.ctx, n); werr != nil && err == nil {
			err = werr
		}
	}
	return n, err
}
