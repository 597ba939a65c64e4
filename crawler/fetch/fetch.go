// Package fetch makes one request's attempts: the HTTP client and its
// transport, the private-address guard, retries with exponential backoff
// that honour Retry-After, redirects checked hop by hop, and the timeouts.
// Where a response's body goes is a Sink's choice, made once per job.
package fetch

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/politeness"
	"github.com/trawl-dev/trawl/store"
)

// MaxRedirects is how many redirects one request's chain may follow.
const MaxRedirects = 10

// MaxHeaderBytes bounds a response's headers: a larger answer is an error,
// and none of it is kept.
const MaxHeaderBytes = 256 << 10

// ErrTooLarge is the error of a body longer than the job's max body size.
var ErrTooLarge = errors.New("body exceeds max-body")

// ErrHeadersTooLarge is the error of a response whose headers pass
// MaxHeaderBytes (10,000 Set-Cookie lines, a cookie of a megabyte): final,
// not tried again.
var ErrHeadersTooLarge = fmt.Errorf("response headers over %d KiB", MaxHeaderBytes>>10)

// TransportOptions size the transport NewTransport builds.
type TransportOptions struct {
	Concurrency int           // requests in flight in all
	PerHost     int           // requests in flight to one host
	Timeout     time.Duration // one attempt
	Insecure    bool          // skip TLS certificate verification
	// DenyPrivate refuses connections to private, loopback and link-local
	// addresses, but those of Allowed (the seeds' own hosts).
	DenyPrivate bool
	Allowed     []string // canonical URLs whose hosts' addresses stay allowed
	// Record keeps the bytes of every exchange (see RawExchange), over
	// HTTP/1.1 only.
	Record bool
	// Proxy, when set, is where every request goes (http, https or socks5
	// URL), whatever the environment says; NoProxy ignores the
	// environment's HTTP_PROXY, HTTPS_PROXY and NO_PROXY.
	Proxy   *url.URL
	NoProxy bool
}

// NewTransport returns the transport trawl uses when none is given:
// keep-alive sized to the job's concurrency, HTTP/2 (unless it records),
// and bounded connect and TLS waits. It sets no response-header timeout,
// which would cost a timer a request: every caller bounds its requests
// (a Fetcher each attempt, robots.txt its fetch).
func NewTransport(o TransportOptions) http.RoundTripper {
	d := &net.Dialer{Timeout: min(o.Timeout, 10*time.Second), KeepAlive: 30 * time.Second}
	proxy := http.ProxyFromEnvironment
	switch {
	case o.Proxy != nil:
		proxy = http.ProxyURL(o.Proxy)
	case o.NoProxy:
		proxy = func(*http.Request) (*url.URL, error) { return nil, nil }
	}
	if o.DenyPrivate {
		allowed := seedAddrs(context.Background(), o.Allowed)
		d.Control = denyPrivate(allowed)
		proxy = proxyDenyPrivate(proxy, allowed)
	}
	t := &http.Transport{
		Proxy:                  proxy,
		DialContext:            d.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           o.Concurrency * 4,
		MaxIdleConnsPerHost:    max(o.PerHost, 2),
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    min(o.Timeout, 10*time.Second),
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: MaxHeaderBytes,
		DisableCompression:     true, // bodies decode gzip, deflate and br themselves, with a size cap
		TLSClientConfig:        &tls.Config{InsecureSkipVerify: o.Insecure},
	}
	if o.Record {
		record(t, d)
		return recorder{t}
	}
	return t
}

// Config is fetching as a job's settings give it: what the Fetcher, its
// transport and its limits are built with.
type Config struct {
	UserAgent string
	MaxBody   int64         // bytes of body; 0 is no limit
	Retries   int           // attempts after the first, for transient failures
	Timeout   time.Duration // one attempt (or, for a streaming Body, the most time without a byte)
	// Header is sent with every request (a request's own headers win).
	// Its secret headers (see Redactor) are not sent on a redirect hop
	// to another origin than the redirected request's.
	Header http.Header
	// Redact names headers, besides Authorization, Cookie,
	// Proxy-Authorization and Set-Cookie, whose values are secrets: never
	// written to the job, a log or an export (see Redactor).
	Redact []string
	// Insecure skips TLS certificate verification.
	Insecure bool
	// DenyPrivate refuses private, loopback and link-local addresses, but
	// the seeds' own (see TransportOptions).
	DenyPrivate bool
	// Proxy sends every request through this proxy (http://, https:// or
	// socks5:// URL) instead of the environment's; NoProxy ignores the
	// environment's proxies.
	Proxy   string
	NoProxy bool
	// Rate caps the job's requests a second (robots.txt and retries
	// included), LimitRate its body bytes a second; 0 is no limit.
	Rate      float64
	LimitRate int64
}

// Options configure a Fetcher.
type Options struct {
	Config
	Transport http.RoundTripper
	Redactor  *Redactor
	// Jar, when set, keeps the cookies of responses and sends them with
	// requests (each redirect hop is a request of its own, so a host gets
	// only its own cookies).
	Jar http.CookieJar
}

// Fetcher makes requests' attempts. It is safe for concurrent use.
type Fetcher struct {
	opts     Options
	client   *http.Client
	received atomic.Int64
}

// New returns a Fetcher with opts.
func New(opts Options) *Fetcher {
	return &Fetcher{opts: opts, client: &http.Client{
		Transport: opts.Transport,
		Jar:       opts.Jar,
		// A redirect is the caller's to schedule as a request of its own,
		// so that each hop meets robots.txt and its host's pace.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Describe turns a fetch error into a message a person can read (see the
// function Describe).
func (f *Fetcher) Describe(err error) string { return Describe(err, f.opts.Timeout) }

// Received returns how many body bytes streaming bodies received so far,
// of unfinished ones too.
func (f *Fetcher) Received() int64 { return f.received.Load() }

// Response is what fetching one request produced, after all attempts: the
// last attempt's answer.
type Response struct {
	Status      int
	FinalURL    string
	Header      http.Header
	ContentType string
	Payload     Payload
	Attempts    int
	Err         error
	RetryAfter  time.Duration // the server's Retry-After, when it sent one
	Start       time.Time     // of the last attempt
	Duration    time.Duration // of the last attempt
	Latency     time.Duration // to the response headers
	// Location is the canonical target of a redirect (301, 302, 303, 307,
	// 308); LocationErr says why a redirect's target is unusable.
	Location    string
	LocationErr error
	// Conditional says the request carried validators (see Validators);
	// Vary holds the values of the request headers the response's Vary
	// names, as they were sent.
	Conditional bool
	Vary        map[string]string
}

// RetryableStatus reports the statuses worth another attempt: 408, 425,
// 429, 500, 502, 503 and 504.
func RetryableStatus(code int) bool { return store.RetryableStatus(code) }

// afterBackOff is an exponential backoff that waits at least as long as the
// server's last Retry-After, and after a 429 or 503 that gave none, at
// least a second, doubling with each.
type afterBackOff struct {
	backoff.ExponentialBackOff
	after time.Duration
	slow  time.Duration // the least wait after the last 429/503 without Retry-After
}

// MinSlowDown is the least wait before asking again after a 429 or 503
// without Retry-After; it doubles with each such answer.
const MinSlowDown = time.Second

func (b *afterBackOff) NextBackOff() time.Duration {
	d := b.ExponentialBackOff.NextBackOff()
	if d != backoff.Stop && b.after > d {
		d = b.after
	}
	b.after = 0
	return d
}

var errRetry = errors.New("retry")

// Fetch makes req's attempts into body, retrying transient failures with
// exponential backoff and jitter. Before each wait it calls onRetry (if not
// nil) with the failed attempt and the wait.
func (f *Fetcher) Fetch(ctx context.Context, req Request, body Body, onRetry func(r *Response, wait time.Duration)) *Response {
	b := &afterBackOff{ExponentialBackOff: *backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(200*time.Millisecond),
		backoff.WithMaxInterval(10*time.Second),
		backoff.WithMaxElapsedTime(0),
	)}
	var r *Response
	attempts := 0
	op := func() error {
		attempts++
		r = f.once(ctx, req, body)
		if errors.Is(r.Err, ErrRestart) {
			// The body threw away what it had: ask again from the first
			// byte, as part of the same attempt.
			r = f.once(ctx, req, body)
		}
		if ctx.Err() != nil {
			return backoff.Permanent(ctx.Err())
		}
		if retryable(req.Method, r) {
			if r.RetryAfter > politeness.MaxRetryAfter {
				return backoff.Permanent(errRetry)
			}
			b.after = r.RetryAfter
			if r.RetryAfter == 0 && (r.Status == http.StatusTooManyRequests || r.Status == http.StatusServiceUnavailable) {
				b.slow = max(2*b.slow, MinSlowDown)
				b.after = b.slow
			}
			return errRetry
		}
		return nil
	}
	notify := func(_ error, wait time.Duration) {
		if onRetry != nil {
			onRetry(r, wait)
		}
	}
	_ = backoff.RetryNotify(op, backoff.WithContext(backoff.WithMaxRetries(b, uint64(f.opts.Retries)), ctx), notify)
	if r == nil { // cancelled before the first attempt
		r = &Response{Start: time.Now(), Err: ctx.Err()}
	}
	r.Attempts = attempts
	return r
}

// retryable reports whether an attempt is worth another. A POST or PATCH
// is sent again only when it cannot have been acted on: the connection was
// refused, or the server answered 429 or 503.
func retryable(method string, r *Response) bool {
	if method == http.MethodPost || method == http.MethodPatch {
		return r.Err != nil && errors.Is(r.Err, syscall.ECONNREFUSED) ||
			r.Err == nil && (r.Status == http.StatusTooManyRequests || r.Status == http.StatusServiceUnavailable)
	}
	return r.Err != nil && transient(r.Err) || r.Err == nil && RetryableStatus(r.Status)
}

// transient reports errors worth another attempt: connection failures and
// timeouts, not policy errors such as an oversized body.
func transient(err error) bool {
	if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrHeadersTooLarge) || errors.Is(err, errPolicy) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, ErrRestart) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, context.DeadlineExceeded)
}

// errPolicy marks errors of the job's own rules (redirect limits, scope).
var errPolicy = errors.New("policy")

type policyError struct{ err error }

func (e policyError) Error() string        { return e.err.Error() }
func (e policyError) Is(target error) bool { return target == errPolicy }
func (e policyError) Unwrap() error        { return e.err }

// once makes one attempt. The timeout covers the whole exchange, body
// included; for a streaming body, which may rightly take long, it is the
// most time without a byte arriving.
func (f *Fetcher) once(ctx context.Context, fr Request, body Body) *Response {
	r := &Response{Start: time.Now()}
	defer func() { r.Duration = time.Since(r.Start) }()
	tick := func(int) {}
	if body.Streaming() {
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		dog := newWatchdog(f.opts.Timeout, cancel)
		defer dog.stop()
		defer func() { r.Err = stalled(ctx, r.Err) }()
		tick = func(n int) {
			dog.kick()
			f.received.Add(int64(n))
		}
	} else {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.opts.Timeout)
		defer cancel()
	}
	req, err := fr.httpRequest(ctx, f.opts.UserAgent)
	if err != nil {
		r.Err = policyError{err}
		return r
	}
	from := body.Prepare(req.Header)
	cross := fr.RedirectedFrom != "" && Origin(fr.URL) != Origin(fr.RedirectedFrom)
	for k, vs := range f.opts.Header {
		if cross && f.opts.Redactor != nil && f.opts.Redactor.Secret(k) {
			continue
		}
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	for k, v := range fr.Header {
		req.Header.Set(k, v)
	}
	r.Conditional = fr.Validators.apply(req.Header)
	resp, err := f.client.Do(req)
	r.Latency = time.Since(r.Start)
	if err != nil {
		r.Err = err
		if strings.Contains(err.Error(), "server response headers exceeded") { // net/http's words; it has no error value for it
			r.Err = ErrHeadersTooLarge
		}
		return r
	}
	defer resp.Body.Close()
	r.Status = resp.StatusCode
	r.Header = resp.Header
	r.FinalURL = resp.Request.URL.String()
	r.ContentType = resp.Header.Get("Content-Type")
	r.RetryAfter = politeness.RetryAfter(resp.Header.Get("Retry-After"), time.Now())
	r.Location, r.LocationErr = location(resp)
	r.Vary = varied(resp.Header, req.Header)
	tick(0)
	r.Payload, r.Err = body.Receive(resp, from, f.opts.MaxBody, tick)
	return r
}

// location returns the canonical target of a redirect response.
func location(resp *http.Response) (string, error) {
	switch resp.StatusCode {
	case 301, 302, 303, 307, 308:
	default:
		return "", nil
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", nil // a 3xx without a target is an answer like any other
	}
	base, err := frontier.ParseBase(resp.Request.URL.String())
	if err != nil {
		return "", err
	}
	target, err := base.Resolve(loc)
	if err != nil {
		return "", fmt.Errorf("redirect to %w", err)
	}
	return target, nil
}

// Describe turns a fetch error into a message a person can read; timeout
// is the job's attempt timeout.
func Describe(err error, timeout time.Duration) string {
	var ne net.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, errPolicy):
		var pe policyError
		if errors.As(err, &pe) {
			return pe.Error()
		}
		return err.Error()
	case errors.Is(err, ErrTooLarge):
		return err.Error()
	case errors.Is(err, errStalled):
		return fmt.Sprintf("timeout: no data for %s", timeout)
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("timeout after %s", timeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by peer"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before the body was complete"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Sprintf("timeout after %s", timeout)
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "DNS: " + dns.Err + " (" + dns.Name + ")"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// watchdog cancels an attempt when no byte has arrived for idle: a
// download may take long, but must not stall.
type watchdog struct {
	t    *time.Timer
	idle time.Duration
}

// errStalled is the cause a watchdog cancels with; it is a timeout.
var errStalled = fmt.Errorf("no data: %w", context.DeadlineExceeded)

func newWatchdog(idle time.Duration, cancel context.CancelCauseFunc) *watchdog {
	return &watchdog{t: time.AfterFunc(idle, func() { cancel(errStalled) }), idle: idle}
}

// stalled returns err as a timeout when the watchdog cut the attempt.
func stalled(ctx context.Context, err error) error {
	if err != nil && errors.Is(context.Cause(ctx), errStalled) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", errStalled, err)
	}
	return err
}

func (w *watchdog) kick() { w.t.Reset(w.idle) }
func (w *watchdog) stop() { w.t.Stop() }

// An ErrorKind is a fetch failure's class: a small, fixed set, fit for
// metric labels and summaries.
type ErrorKind string

// The kinds of failure.
const (
	KindTimeout   ErrorKind = "timeout"
	KindRefused   ErrorKind = "refused"
	KindReset     ErrorKind = "reset"
	KindDNS       ErrorKind = "dns"
	KindTLS       ErrorKind = "tls"
	KindTooLarge  ErrorKind = "too_large"
	KindTruncated ErrorKind = "truncated"
	KindPolicy    ErrorKind = "policy"
	KindHostDown  ErrorKind = "unavailable" // not asked: its host is down, or its robots.txt unavailable
	KindRender    ErrorKind = "render"      // fetched, but its render failed (a hung or crashed page)
	KindOther     ErrorKind = "other"
)

// Classify returns the kind of a fetch error ("" for nil).
func Classify(err error) ErrorKind {
	var dns *net.DNSError
	var tlsErr *tls.CertificateVerificationError
	var ne net.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrTooLarge), errors.Is(err, ErrHeadersTooLarge):
		return KindTooLarge
	case errors.Is(err, errPolicy):
		return KindPolicy
	case errors.Is(err, errStalled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return KindTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused
	case errors.Is(err, syscall.ECONNRESET):
		return KindReset
	case errors.As(err, &dns):
		return KindDNS
	case errors.As(err, &tlsErr):
		return KindTLS
	case errors.Is(err, io.ErrUnexpectedEOF):
		return KindTruncated
	}
	return KindOther
}
