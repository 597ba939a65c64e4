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
	"sync/atomic"

	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/store/warc"
)

// Sink archives each response, then hands it to the inner sink.
type Sink struct {
	inner    fetch.Sink
	w        *warc.Writer
	redact   *fetch.Redactor // secret request headers, archived as [redacted]
	records  atomic.Int64
	revisits atomic.Int64
}

var _ fetch.Sink = (*Sink)(nil)

// New returns a Sink writing to w in front of inner. The values of the
// request headers redact names are archived as [redacted]: WARC files get
// shared, and a token in one is a leak.
func New(inner fetch.Sink, w *warc.Writer, redact *fetch.Redactor) *Sink {
	return &Sink{inner: inner, w: w, redact: redact}
}

// Open returns the body of req.
func (s *Sink) Open(req fetch.Request) fetch.Body {
	return &body{inner: s.inner.Open(req), s: s, url: req.URL}
}

// Sync makes the inner sink's bodies and every archived record durable.
func (s *Sink) Sync() error {
	return errors.Join(s.inner.Sync(), s.w.Sync())
}

// Close closes the WARC file being written.
func (s *Sink) Close() error { return s.w.Close() }

// Info returns the fields of a job's warcinfo records: its job file, user
// agent, robots policy and what it does.
func Info(job, userAgent string, ignoreRobots bool, description string) [][2]string {
	robots := "obey"
	if ignoreRobots {
		robots = "ignore"
	}
	return [][2]string{{"isPartOf", job}, {"http-header-user-agent", userAgent}, {"robots", robots}, {"description", description}}
}

// Counts returns how many responses were archived, and how many of them as
// revisits of a payload archived before.
func (s *Sink) Counts() (responses, revisits int64) { return s.records.Load(), s.revisits.Load() }

type body struct {
	inner fetch.Body
	s     *Sink
	url   string
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
	ex := fetch.RawExchange(resp)
	if ex == nil {
		return p, errors.New("archiving: the exchange was not recorded")
	}
	defer ex.Close()
	req, err := b.s.request(ex.Request)
	if err != nil {
		return p, fmt.Errorf("archiving: %w", err)
	}
	res, err := b.s.w.Write(warc.Capture{
		URL:     b.url,
		Date:    ex.Start,
		IP:      ex.RemoteIP,
		Request: func() (io.Reader, error) { return bytes.NewReader(req), nil }, RequestLen: int64(len(req)),
		Response: ex.Response.Reader, ResponseLen: ex.Response.Len(), ResponseSHA1: ex.Response.SHA1(),
		PayloadDigest: warc.Digest(d.h), PayloadLen: d.n,
	})
	if err != nil {
		return p, fmt.Errorf("archiving: %w", err)
	}
	b.s.records.Add(1)
	if res.Revisit {
		b.s.revisits.Add(1)
	}
	return p, nil
}

// request returns the request as sent, the values of its secret headers
// replaced by [redacted].
func (s *Sink) request(sp *fetch.Spool) ([]byte, error) {
	r, err := sp.Reader()
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	end := bytes.Index(raw, []byte("\r\n\r\n"))
	if end < 0 || s.redact == nil {
		return raw, nil
	}
	lines := bytes.Split(raw[:end], []byte("\r\n"))
	for i, l := range lines[1:] {
		if k, _, ok := bytes.Cut(l, []byte(":")); ok && s.redact.Secret(string(bytes.TrimSpace(k))) {
			lines[i+1] = append(append([]byte(nil), k...), ": "+fetch.Redacted...)
		}
	}
	out := bytes.Join(lines, []byte("\r\n"))
	return append(out, raw[end:]...), nil
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
