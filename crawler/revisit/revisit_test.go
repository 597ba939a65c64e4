package revisit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/store"
)

func TestValidators(t *testing.T) {
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	rec := func(h http.Header) *store.Record {
		return &store.Record{Status: 200, SHA256: "ab", FetchedAt: at, Header: h}
	}
	for _, c := range []struct {
		name     string
		prev     *store.Record
		etag, lm string
	}{
		{"none", nil, "", ""},
		{"both", rec(http.Header{"Etag": {`W/"x"`}, "Last-Modified": {"Tue, 14 Apr 2026 10:00:00 GMT"}}), `W/"x"`, "Tue, 14 Apr 2026 10:00:00 GMT"},
		{"future Last-Modified", rec(http.Header{"Last-Modified": {"Tue, 14 Apr 2099 10:00:00 GMT"}}), "", ""},
		{"unparsable Last-Modified", rec(http.Header{"Etag": {`"e"`}, "Last-Modified": {"yesterday"}}), `"e"`, ""},
		{"failed", &store.Record{Status: 500, Header: http.Header{"Etag": {`"e"`}}}, "", ""},
	} {
		v := Validators(c.prev)
		switch {
		case c.etag == "" && c.lm == "":
			if v != nil {
				t.Errorf("%s: %+v, want none", c.name, v)
			}
		case v == nil || v.ETag != c.etag || v.LastModified != c.lm:
			t.Errorf("%s: %+v, want ETag %q, Last-Modified %q", c.name, v, c.etag, c.lm)
		}
	}
}

// TestFetch asks a real server, through trawl's fetcher, with validators
// and without, and checks what Fetch makes of each 304.
func TestFetch(t *testing.T) {
	var requests, plain atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		inm := r.Header.Get("If-None-Match")
		if inm == "" {
			plain.Add(1)
		}
		switch r.URL.Path {
		case "/always304": // a broken server: 304 whatever was asked
			w.WriteHeader(http.StatusNotModified)
		case "/other": // a 304 naming another version than asked for
			if inm != "" {
				w.Header().Set("ETag", `"v2"`)
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", `"v2"`)
			w.Write([]byte("version 2"))
		case "/vary":
			w.Header().Set("Vary", "Accept-Language")
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Write([]byte("body"))
		default:
			w.Header().Set("ETag", `"v1"`)
			w.Header().Set("Cache-Control", "max-age=5")
			if inm == `W/"v1"` || inm == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Write([]byte("version 1"))
		}
	}))
	defer srv.Close()
	f := fetch.New(fetch.Options{Config: fetch.Config{Timeout: 5 * time.Second}, Transport: srv.Client().Transport})
	do := func(req fetch.Request) *fetch.Response {
		return f.Fetch(context.Background(), req, fetch.Memory{}.Open(fetch.Target{URL: req.URL}), nil)
	}
	v1 := &fetch.Validators{ETag: `"v1"`}

	if r := Fetch(fetch.Request{URL: srv.URL + "/always304"}, do); r.Err != ErrUnasked {
		t.Errorf("a 304 to a plain request: err %v, want ErrUnasked", r.Err)
	}
	r := Fetch(fetch.Request{URL: srv.URL + "/page", Validators: v1}, do)
	if r.Err != nil || r.Status != http.StatusNotModified || !r.Conditional {
		t.Errorf("a 304 to If-None-Match: status %d, err %v, conditional %v", r.Status, r.Err, r.Conditional)
	}
	requests.Store(0)
	plain.Store(0)
	r = Fetch(fetch.Request{URL: srv.URL + "/other", Validators: v1}, do)
	if r.Err != nil || r.Status != 200 || string(r.Payload.Data) != "version 2" || requests.Load() != 2 || plain.Load() != 1 {
		t.Errorf("a 304 naming another ETag: status %d, body %q, %d requests (%d plain); want 200 after one plain request more",
			r.Status, r.Payload.Data, requests.Load(), plain.Load())
	}
	// The validators of a response that varied by Accept-Language hold
	// for the language it was asked in, not another.
	vary := &fetch.Validators{ETag: `"v1"`, Vary: map[string]string{"Accept-Language": "fr"}}
	en := fetch.Request{URL: srv.URL + "/vary", Header: map[string]string{"Accept-Language": "en"}, Validators: vary}
	if r := Fetch(en, do); r.Conditional || r.Status != 200 {
		t.Errorf("another language than the validators': conditional %v, status %d", r.Conditional, r.Status)
	}
	fr := en
	fr.Header = map[string]string{"Accept-Language": "fr"}
	if r := Fetch(fr, do); !r.Conditional || r.Status != 304 || r.Vary["Accept-Language"] != "fr" {
		t.Errorf("the validators' language: conditional %v, status %d, vary %v", r.Conditional, r.Status, r.Vary)
	}
}

func TestRevalidated(t *testing.T) {
	prev := &store.Record{Status: 200, ContentType: "text/html", FinalURL: "http://h/x", SHA256: "ab",
		Header: http.Header{"Etag": {`"v1"`}, "Content-Type": {"text/html"}, "Content-Length": {"120"}, "Date": {"old"}, "Cache-Control": {"max-age=5"}}}
	rec := Revalidated(store.Record{URL: "http://h/x", Status: 304,
		Header: http.Header{"Date": {"new"}, "Cache-Control": {"max-age=60"}, "Expires": {"later"}, "Content-Length": {"0"}, "Etag": {`"v1"`}}}, prev)
	h := rec.Header
	if rec.Status != 200 || !rec.NotModified || rec.Change != store.ChangeUnchanged || rec.ContentType != "text/html" {
		t.Errorf("record: %+v", rec)
	}
	if h.Get("Date") != "new" || h.Get("Cache-Control") != "max-age=60" || h.Get("Expires") != "later" ||
		h.Get("Content-Length") != "120" || h.Get("Content-Type") != "text/html" || h.Get("Etag") != `"v1"` {
		t.Errorf("headers after the 304: %v", h)
	}
	if prev.Header.Get("Date") != "old" {
		t.Error("the stored record's headers changed")
	}
}

// TestAskSendsValidatorsWhereTheyCameFrom: a record of a request that was
// redirected holds the final URL's validators, sent to the final URL (the
// hop), not to the URL that redirected.
func TestAskSendsValidatorsWhereTheyCameFrom(t *testing.T) {
	prev := &store.Record{URL: "http://h/old", FinalURL: "http://h/new", Status: 200, SHA256: "ab", FetchedAt: time.Now(),
		Header: http.Header{"Etag": {`"n1"`}}}
	if r := Ask(fetch.Request{URL: "http://h/old"}, prev); r.Validators != nil {
		t.Errorf("the redirected URL is asked with %+v", r.Validators)
	}
	if r := Ask(fetch.Request{URL: "http://h/new", RedirectedFrom: "http://h/old"}, prev); r.Validators == nil || r.Validators.ETag != `"n1"` {
		t.Errorf("the hop is asked with %+v", r.Validators)
	}
}
