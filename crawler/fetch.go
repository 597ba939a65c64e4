package crawler

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/zlib"
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
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/cenkalti/backoff/v4"
	"github.com/klauspost/compress/gzip"

	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/politeness"
)

// MaxRedirects is how many redirect hops one fetch follows.
const MaxRedirects = 10

// ErrTooLarge is the error of a body longer than the job's max body size.
var ErrTooLarge = errors.New("body exceeds max-body")

// newTransport returns the transport trawl uses when none is given: keep-alive
// sized to the job's concurrency, HTTP/2, and bounded connect, TLS and
// response-header waits.
func newTransport(cfg *Config, seeds []string) *http.Transport {
	d := &net.Dialer{Timeout: min(cfg.Timeout, 10*time.Second), KeepAlive: 30 * time.Second}
	if cfg.DenyPrivate {
		d.Control = denyPrivate(seedAddrs(context.Background(), seeds))
	}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          cfg.Concurrency * 4,
		MaxIdleConnsPerHost:   max(cfg.PerHost, 2),
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   min(cfg.Timeout, 10*time.Second),
		ResponseHeaderTimeout: cfg.Timeout,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true, // we ask for and decode gzip, deflate and br ourselves, with a size cap
		TLSClientConfig:       &tls.Config{InsecureSkipVerify: cfg.Insecure},
	}
}

// fetcher does one URL's attempts: request, bounded body read, retries.
type fetcher struct {
	client    *http.Client
	userAgent string
	maxBody   int64
	retries   int
	timeout   time.Duration
	// allow checks each redirect target; nil allows all.
	allow func(canonical string) error
	// received counts download bytes as they arrive, for progress.
	received atomic.Int64
}

// response is what fetching one URL produced, after all attempts.
type response struct {
	status      int
	finalURL    string
	header      http.Header
	contentType string
	body        []byte // nil for a download
	length      int64  // of a download
	sum         string // hex SHA-256 of a download
	attempts    int
	err         error
	retryAfter  time.Duration
	start       time.Time
	duration    time.Duration
	latency     time.Duration
}

type ctxKey struct{}

func newClient(rt http.RoundTripper) *http.Client {
	return &http.Client{
		Transport: rt,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= MaxRedirects {
				return fmt.Errorf("stopped after %d redirects", MaxRedirects)
			}
			target, err := frontier.Canonical(req.URL.String())
			if err != nil {
				return fmt.Errorf("redirect to %w", err)
			}
			for _, v := range via {
				if c, _ := frontier.Canonical(v.URL.String()); c == target {
					return fmt.Errorf("redirect loop at %s", target)
				}
			}
			if allow, _ := req.Context().Value(ctxKey{}).(func(string) error); allow != nil {
				if err := allow(target); err != nil {
					return fmt.Errorf("redirect to %s: %w", target, err)
				}
			}
			return nil
		},
	}
}

// retryableStatus reports the statuses worth another attempt.
func retryableStatus(code int) bool {
	switch code {
	case 408, 425, 429, 500, 502, 503, 504:
		return true
	}
	return false
}

// afterBackOff is an exponential backoff that waits at least as long as the
// server's last Retry-After.
type afterBackOff struct {
	backoff.ExponentialBackOff
	after time.Duration
}

func (b *afterBackOff) NextBackOff() time.Duration {
	d := b.ExponentialBackOff.NextBackOff()
	if d != backoff.Stop && b.after > d {
		d = b.after
	}
	b.after = 0
	return d
}

var errRetry = errors.New("retry")

// fetch gets rawURL, retrying transient failures with exponential backoff
// and jitter. Before each wait it calls onRetry (if not nil) with the
// failed attempt and the wait. The returned response describes the last
// attempt.
func (f *fetcher) fetch(ctx context.Context, req *fetchReq, onRetry func(r *response, wait time.Duration)) *response {
	b := &afterBackOff{ExponentialBackOff: *backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(200*time.Millisecond),
		backoff.WithMaxInterval(10*time.Second),
		backoff.WithMaxElapsedTime(0),
	)}
	var r *response
	attempts := 0
	op := func() error {
		attempts++
		r = f.once(ctx, req)
		if errors.Is(r.err, errRestart) {
			// The partial file is gone: ask again from the first byte, as
			// part of the same attempt.
			r = f.once(ctx, req)
		}
		if ctx.Err() != nil {
			return backoff.Permanent(ctx.Err())
		}
		if retryable(req.Method, r) {
			if r.retryAfter > politeness.MaxRetryAfter {
				return backoff.Permanent(errRetry)
			}
			b.after = r.retryAfter
			return errRetry
		}
		return nil
	}
	notify := func(_ error, wait time.Duration) {
		if onRetry != nil {
			onRetry(r, wait)
		}
	}
	_ = backoff.RetryNotify(op, backoff.WithContext(backoff.WithMaxRetries(b, uint64(f.retries)), ctx), notify)
	if r == nil { // cancelled before the first attempt
		r = &response{start: time.Now(), err: ctx.Err()}
	}
	r.attempts = attempts
	return r
}

// retryable reports whether an attempt is worth another. A POST or PATCH
// is sent again only when it cannot have been acted on: the connection was
// refused, or the server answered 429 or 503.
func retryable(method string, r *response) bool {
	if method == http.MethodPost || method == http.MethodPatch {
		return r.err != nil && errors.Is(r.err, syscall.ECONNREFUSED) ||
			r.err == nil && (r.status == http.StatusTooManyRequests || r.status == http.StatusServiceUnavailable)
	}
	return r.err != nil && transient(r.err) || r.err == nil && retryableStatus(r.status)
}

// transient reports errors worth another attempt: connection failures and
// timeouts, not policy errors such as an oversized body.
func transient(err error) bool {
	if errors.Is(err, ErrTooLarge) || errors.Is(err, errPolicy) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, errRestart) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, context.DeadlineExceeded)
}

// errPolicy marks errors of the job's own rules (redirect limits, scope).
var errPolicy = errors.New("policy")

type policyError struct{ err error }

func (e policyError) Error() string        { return e.err.Error() }
func (e policyError) Is(target error) bool { return target == errPolicy }
func (e policyError) Unwrap() error        { return e.err }

// fetchReq is one request to make, and where its body goes.
type fetchReq struct {
	Request
	dl *download // stream a 2xx body to this file instead of memory
}

// once makes one attempt. The timeout covers the whole exchange, body
// included; for a download, which may rightly take long, it is the most
// time without a byte arriving.
func (f *fetcher) once(ctx context.Context, fr *fetchReq) *response {
	r := &response{start: time.Now()}
	defer func() { r.duration = time.Since(r.start) }()
	var dog *watchdog
	if fr.dl != nil {
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		dog = newWatchdog(f.timeout, cancel)
		defer dog.stop()
		defer func() { r.err = stalled(ctx, r.err) }()
	} else {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	if f.allow != nil {
		ctx = context.WithValue(ctx, ctxKey{}, f.allow)
	}
	method := fr.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if fr.Body != "" {
		body = strings.NewReader(fr.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, fr.URL, body)
	if err != nil {
		r.err = policyError{err}
		return r
	}
	req.Header.Set("User-Agent", f.userAgent)
	var from int64
	if fr.dl == nil {
		req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
		req.Header.Set("Accept-Encoding", "gzip, deflate, br")
	} else if n, validator := fr.dl.resumable(); n > 0 {
		from = n
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", n))
		if validator != "" {
			req.Header.Set("If-Range", validator)
		}
	}
	for k, v := range fr.Header {
		req.Header.Set(k, v)
	}
	resp, err := f.client.Do(req)
	r.latency = time.Since(r.start)
	if err != nil {
		var ue *url.Error
		if resp != nil && errors.As(err, &ue) && !ue.Timeout() && ctx.Err() == nil {
			// CheckRedirect refused: the last response answered.
			r.status = resp.StatusCode
			r.header = resp.Header
			r.finalURL = resp.Request.URL.String()
			r.err = policyError{ue.Err}
			return r
		}
		r.err = err
		return r
	}
	defer resp.Body.Close()
	r.status = resp.StatusCode
	r.header = resp.Header
	r.finalURL = resp.Request.URL.String()
	r.contentType = resp.Header.Get("Content-Type")
	r.retryAfter = politeness.RetryAfter(resp.Header.Get("Retry-After"), time.Now())
	switch {
	case fr.dl != nil && resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && from > 0:
		fr.dl.remove()
		r.err = errRestart
	case fr.dl != nil && resp.StatusCode >= 200 && resp.StatusCode <= 299:
		dog.kick()
		r.length, r.sum, r.err = fr.dl.save(resp, from, f.maxBody, func(n int) {
			dog.kick()
			f.received.Add(int64(n))
		})
	case fr.dl != nil: // an error page: not saved
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	default:
		r.body, r.err = readBody(resp, f.maxBody)
	}
	return r
}

// readBody reads and decodes resp's body, failing with ErrTooLarge as soon
// as more than max decoded bytes arrive: nothing larger is ever held.
func readBody(resp *http.Response, max int64) ([]byte, error) {
	var rd io.Reader = resp.Body
	enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding")))
	switch enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("bad gzip body: %w", err)
		}
		defer zr.Close()
		rd = zr
	case "deflate":
		rd = newDeflateReader(resp.Body)
	case "br":
		rd = brotli.NewReader(resp.Body)
	default:
		return nil, fmt.Errorf("unsupported Content-Encoding %q", enc)
	}
	if max <= 0 {
		max = 1<<63 - 2
	}
	capacity := int64(16 << 10)
	if resp.ContentLength > 0 && enc == "" {
		// bytes.Buffer.ReadFrom wants 512 bytes free before each read.
		capacity = min(resp.ContentLength, max) + bytes.MinRead
	}
	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	buf.Grow(int(min(capacity, 1<<20)))
	n, err := buf.ReadFrom(io.LimitReader(rd, max+1))
	if n > max {
		putBody(buf.Bytes())
		return nil, fmt.Errorf("%w (%s)", ErrTooLarge, FormatSize(max))
	}
	return buf.Bytes(), err
}

// bodyPool recycles body buffers: a crawl reads thousands of pages a
// second, and each body is garbage once stored and parsed.
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putBody returns a body's buffer to the pool. Large ones are dropped so
// that one huge page does not pin its memory.
func putBody(b []byte) {
	if b == nil || cap(b) > 1<<20 {
		return
	}
	bodyPool.Put(bytes.NewBuffer(b[:0]))
}

// newDeflateReader reads "deflate" bodies, which servers send either
// zlib-wrapped (as the RFC says) or raw.
func newDeflateReader(r io.Reader) io.Reader {
	br := bufio.NewReader(r)
	hdr, _ := br.Peek(2)
	if len(hdr) == 2 && hdr[0]&0x0f == 8 && (uint16(hdr[0])<<8|uint16(hdr[1]))%31 == 0 {
		if zr, err := zlib.NewReader(br); err == nil {
			return zr
		}
	}
	return flate.NewReader(br)
}

// describe turns a fetch error into a message a person can read.
func describe(err error, timeout time.Duration) string {
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
