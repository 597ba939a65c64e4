// Package archive is the sink that writes every response a job receives
// to WARC files (see store/warc) on its way to the job's own sink: the
// request as sent and the response as received, for the crawl's transport
// records its exchanges (fetch.TransportOptions.Record).
package archive

import (
	"bytes"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/store"
	"github.com/trawl-dev/trawl/store/warc"
)

// An Archiver writes exchanges to WARC files. It is safe for concurrent
// use.
type Archiver struct {
	w        *warc.Writer
	redact   *fetch.Redactor // secret request headers, archived as [redacted]
	records  atomic.Int64
	revisits atomic.Int64
}

// NewArchiver returns an Archiver writing to w. The values of the request
// headers redact names are archived as [redacted]: WARC files get shared,
// and a token in one is a leak.
func NewArchiver(w *warc.Writer, redact *fetch.Redactor) *Archiver {
	return &Archiver{w: w, redact: redact}
}

// Sync makes every archived record durable.
func (a *Archiver) Sync() error { return a.w.Sync() }

// Close closes the WARC file being written.
func (a *Archiver) Close() error { return a.w.Close() }

// Resource archives data, which the crawl made (a rendered page's
// screenshot), as a resource record named uri, and returns where it went.
func (a *Archiver) Resource(uri, contentType string, date time.Time, data []byte) (*store.WARCRef, error) {
	res, err := a.w.Resource(uri, contentType, date, data)
	if err != nil {
		return nil, fmt.Errorf("archiving %s: %w", uri, err)
	}
	return &store.WARCRef{File: filepath.Base(res.File), Offset: res.Offset, ID: res.ID, Digest: res.Digest, Date: date.UTC()}, nil
}

// Counts returns how many responses were archived, and how many of them as
// revisits of a payload archived before.
func (a *Archiver) Counts() (responses, revisits int64) { return a.records.Load(), a.revisits.Load() }

// archive writes the exchange that carried resp, whose entity d read to
// its end; prev is the URL's capture by an earlier pass, or nil. It
// returns where the exchange went.
func (a *Archiver) archive(resp *http.Response, url string, d *digester, prev *warc.Origin) (*store.WARCRef, error) {
	ex := fetch.RawExchange(resp)
	if ex == nil {
		return nil, errors.New("archiving: the exchange was not recorded")
	}
	defer ex.Close()
	req, err := a.request(ex.Request)
	if err != nil {
		return nil, fmt.Errorf("archiving: %w", err)
	}
	c := warc.Capture{
		URL:     url,
		Date:    ex.Start,
		IP:      ex.RemoteIP,
		Request: func() (io.Reader, error) { return bytes.NewReader(req), nil }, RequestLen: int64(len(req)),
		Response: ex.Response.Reader, ResponseLen: ex.Response.Len(), ResponseSHA1: ex.Response.SHA1(),
		PayloadDigest: warc.Digest(d.h), PayloadLen: d.n,
		Previous: prev, NotModified: resp.StatusCode == http.StatusNotModified,
	}
	skipInterim(&c, ex.Response)
	res, err := a.w.Write(c)
	if err != nil {
		return nil, fmt.Errorf("archiving: %w", err)
	}
	a.records.Add(1)
	ref := &store.WARCRef{File: filepath.Base(res.File), Offset: res.Offset, ID: res.ID, Digest: res.Digest, Date: ex.Start.UTC(), Revisit: res.Revisit}
	if res.Revisit {
		a.revisits.Add(1)
		ref.Of = &store.WARCOrigin{URI: res.Of.URI, ID: res.Of.ID, Date: res.Of.Date.UTC()}
	}
	return ref, nil
}

// Sink archives each response, then hands it to the inner sink.
type Sink struct {
	*Archiver
	inner fetch.Sink
}

var _ fetch.Sink = (*Sink)(nil)

// New returns a Sink archiving with a in front of inner.
func New(inner fetch.Sink, a *Archiver) *Sink { return &Sink{Archiver: a, inner: inner} }

// Open returns the body of req.
func (s *Sink) Open(req fetch.Target) fetch.Body {
	return &body{inner: s.inner.Open(req), a: s.Archiver, url: req.URL, prev: req.Previous}
}

// Sync makes the inner sink's bodies and every archived record durable.
func (s *Sink) Sync() error {
	return errors.Join(s.inner.Sync(), s.Archiver.Sync())
}

type body struct {
	inner fetch.Body
	a     *Archiver
	url   string
	prev  *warc.Origin
}

func (b *body) Streaming() bool                    { return b.inner.Streaming() }
func (b *body) Prepare(h http.Header) (from int64) { return b.inner.Prepare(h) }

// Receive passes resp to the inner body while digesting its entity, reads
// what the inner body left, and archives the exchange.
func (b *body) Receive(resp *http.Response, from, max int64, tick func(int)) (fetch.Payload, error) {
	raw := resp.Body
	d := &digester{r: raw, h: warc.NewHash()}
	resp.Body = d
	p, err := b.inner.Receive(resp, from, max, tick)
	resp.Body = raw
	if err != nil {
		return p, err // nothing whole to archive
	}
	if _, err := io.Copy(io.Discard, d); err != nil {
		return p, fmt.Errorf("archiving: reading the rest of the body: %w", err)
	}
	p.Archived, err = b.a.archive(resp, b.url, d, b.prev)
	return p, err
}

// Transport returns rt whose responses a archives once their bodies are
// read to the end: for the requests that pass through no sink (robots.txt).
// A response not read whole is not archived.
func (a *Archiver) Transport(rt http.RoundTripper) http.RoundTripper {
	return archivingTransport{rt, a}
}

type archivingTransport struct {
	rt http.RoundTripper
	a  *Archiver
}

func (t archivingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	d := &digester{r: resp.Body, h: warc.NewHash()}
	resp.Body = &archivedBody{digester: d, done: func() { t.a.archive(resp, req.URL.String(), d, nil) }}
	return resp, nil
}

// archivedBody archives its exchange when it is read to the end.
type archivedBody struct {
	*digester
	done func()
	once bool
}

func (b *archivedBody) Read(p []byte) (int, error) {
	n, err := b.digester.Read(p)
	if err == io.EOF && !b.once {
		b.once = true
		b.done()
	}
	return n, err
}

// request returns the request as sent, the values of its secret headers
// replaced by [redacted]. It may be the spool's own bytes.
func (a *Archiver) request(sp *fetch.Spool) ([]byte, error) {
	raw, ok := sp.Bytes()
	if !ok {
		r, err := sp.Reader()
		if err != nil {
			return nil, err
		}
		if raw, err = io.ReadAll(r); err != nil {
			return nil, err
		}
	}
	end := bytes.Index(raw, []byte("\r\n\r\n"))
	if end < 0 || a.redact == nil {
		return raw, nil
	}
	lines := bytes.Split(raw[:end], []byte("\r\n"))
	redacted := false
	for i, l := range lines[1:] {
		if k, _, ok := bytes.Cut(l, []byte(":")); ok && a.redact.SecretBytes(bytes.TrimSpace(k)) {
			lines[i+1] = append(append([]byte(nil), k...), ": "+fetch.Redacted...)
			redacted = true
		}
	}
	if !redacted { // the spool's bytes as they are
		return raw, nil
	}
	return append(bytes.Join(lines, []byte("\r\n")), raw[end:]...), nil
}

// digester hashes the entity body as it is read.
type digester struct {
	r io.ReadCloser
	h hash.Hash
	n int64
}

func (d *digester) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	d.h.Write(p[:n])
	d.n += int64(n)
	return n, err
}

func (d *digester) Close() error { return d.r.Close() }

// Unwrap returns the body it digests (see fetch.RawExchange).
func (d *digester) Unwrap() io.ReadCloser { return d.r }

// Info returns the fields of a job's warcinfo records: its job file, user
// agent, robots policy and what it does.
func Info(job, userAgent string, ignoreRobots bool, description string) [][2]string {
	robots := "obey"
	if ignoreRobots {
		robots = "ignore"
	}
	return [][2]string{{"isPartOf", job}, {"http-header-user-agent", userAgent}, {"robots", robots}, {"description", description}}
}

// skipInterim makes c's response record hold the final response only:
// a reader takes its first status line for the response's, and 103 Early
// Hints or 100 Continue before it are hints, not the answer.
func skipInterim(c *warc.Capture, sp *fetch.Spool) {
	if h := sp.Head(12); len(h) < 12 || h[9] != '1' { // the rule: look no further
		return
	}
	skip := interim(sp.Head(64 << 10))
	if skip == 0 {
		return
	}
	c.Response = func() (io.Reader, error) {
		r, err := sp.Reader()
		if err == nil {
			_, err = io.CopyN(io.Discard, r, skip)
		}
		return r, err
	}
	c.ResponseLen, c.ResponseSHA1 = sp.Len()-skip, nil
}

// interim returns the length of the interim (1xx but 101) responses at
// the start of head, the first bytes of a response as received.
func interim(head []byte) int64 {
	n := 0
	for {
		rest := head[n:]
		if len(rest) < 12 || !bytes.HasPrefix(rest, []byte("HTTP/1.")) || rest[9] != '1' || bytes.HasPrefix(rest[9:], []byte("101")) {
			return int64(n)
		}
		end, sep := bytes.Index(rest, []byte("\r\n\r\n")), 4
		if lf := bytes.Index(rest, []byte("\n\n")); lf >= 0 && (end < 0 || lf < end) {
			end, sep = lf, 2
		}
		if end < 0 {
			return int64(n)
		}
		n += end + sep
	}
}
