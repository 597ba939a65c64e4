// Package revisit decides how a later pass over a job asks for a URL
// again, and what the answer means: the validators a stored record lends
// its request (RFC 9110 §13), whether a 304 Not Modified can be trusted,
// and the record a trusted one makes (RFC 9111 §4.3.4: the stored
// response, its headers updated from the 304).
package revisit

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/store"
	"github.com/trawl-dev/trawl/store/warc"
)

// Ask returns req asking again for prev's URL (prev may be nil): with
// prev's validators (when req is for the URL that answered them, not a
// request that was redirected there), prev's capture for the archive to
// refer to, and prev's body digest for a sink that keeps files.
func Ask(req fetch.Request, prev *store.Record) fetch.Request {
	req.Previous = Capture(prev)
	if prev != nil && prev.FinalURL == req.URL {
		req.Validators = Validators(prev)
	}
	if prev != nil && !prev.Failed() {
		req.Known = prev.SHA256
	}
	return req
}

// Capture returns the archived capture a revisit of prev refers to: prev's
// own, or, when prev's was a revisit, the one it referred to. Nil when
// prev was not archived.
func Capture(prev *store.Record) *warc.Origin {
	if prev == nil || prev.WARC == nil || prev.WARC.Digest == "" {
		return nil
	}
	w := prev.WARC
	if w.Revisit {
		if w.Of == nil {
			return nil
		}
		return &warc.Origin{URI: w.Of.URI, Date: w.Of.Date, ID: w.Of.ID, Digest: w.Digest}
	}
	return &warc.Origin{URI: prev.FinalURL, Date: w.Date, ID: w.ID, Digest: w.Digest}
}

// Validators returns what to ask for prev's URL with: its ETag and its
// Last-Modified (unless unparsable or later than when it was fetched),
// bound to the request headers its Vary named. Nil when prev is nil or
// has neither, or had no body to keep.
func Validators(prev *store.Record) *fetch.Validators {
	if prev == nil || prev.Failed() || prev.SHA256 == "" || prev.Status != http.StatusOK {
		return nil
	}
	v := &fetch.Validators{ETag: prev.Header.Get("ETag"), Vary: prev.Vary}
	if lm := prev.Header.Get("Last-Modified"); lm != "" {
		if t, err := http.ParseTime(lm); err == nil && !t.After(prev.FetchedAt.Add(time.Minute)) {
			v.LastModified = lm
		}
	}
	if v.ETag == "" && v.LastModified == "" {
		return nil
	}
	return v
}

// ErrUnasked is the error of a 304 to a request without validators.
var ErrUnasked = errors.New("304 Not Modified to a request that sent no validators")

// Fetch makes req's fetch with do and checks a 304 it gets: one to a
// request that sent no validators is an error (ErrUnasked); one naming
// another ETag than was asked for is not trusted, and the request is made
// again without validators, once.
func Fetch(req fetch.Request, do func(fetch.Request) *fetch.Response) *fetch.Response {
	r := do(req)
	if r.Err != nil || r.Status != http.StatusNotModified {
		return r
	}
	if req.Validators == nil || !r.Conditional {
		r.Err = ErrUnasked
		return r
	}
	if etag := r.Header.Get("ETag"); etag != "" && req.Validators.ETag != "" && !weakMatch(etag, req.Validators.ETag) {
		req.Validators = nil
		return do(req)
	}
	return r
}

// weakMatch compares two entity tags by the weak comparison (RFC 9110
// §8.8.3.2): the same opaque tag, W/ or not.
func weakMatch(a, b string) bool {
	return strings.TrimPrefix(strings.TrimSpace(a), "W/") == strings.TrimPrefix(strings.TrimSpace(b), "W/")
}

// Revalidated returns rec, the record of a 304 answer, as the stored
// response prev makes it: prev's status, type and final URL, prev's
// headers with those the 304 sent (rec's) put in their place.
func Revalidated(rec store.Record, prev *store.Record) store.Record {
	rec.Status, rec.ContentType, rec.FinalURL, rec.NotModified = prev.Status, prev.ContentType, prev.FinalURL, true
	rec.Header = Updated(prev.Header, rec.Header)
	if rec.Vary == nil {
		rec.Vary = prev.Vary
	}
	rec.Change = store.ChangeUnchanged
	return rec
}

// Updated returns stored with each field of fresh (a 304's headers) in
// place of its own, but those that describe the body a 304 does not
// carry (RFC 9111 §4.3.4).
func Updated(stored, fresh http.Header) http.Header {
	out := stored.Clone()
	if out == nil {
		out = make(http.Header)
	}
	for k, vs := range fresh {
		switch k {
		case "Content-Length", "Content-Encoding", "Content-Type", "Content-Range", "Transfer-Encoding", "Connection", "Keep-Alive":
			continue
		}
		out[k] = append([]string(nil), vs...)
	}
	return out
}
