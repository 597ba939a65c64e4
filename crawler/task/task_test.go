package task

import (
	"testing"

	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/frontier"
)

func TestSecrets(t *testing.T) {
	s := NewSecrets(fetch.NewRedactor([]string{"X-Api-Key"}))
	in := Task{Request: fetch.Request{URL: "http://h/a", Header: map[string]string{"Authorization": "Bearer t", "x-api-key": "k", "Accept": "x/y"}}}
	out := s.Strip(in)
	if out.Request.Header["Authorization"] != fetch.Redacted || out.Request.Header["x-api-key"] != fetch.Redacted || out.Request.Header["Accept"] != "x/y" {
		t.Errorf("stripped: %v", out.Request.Header)
	}
	if in.Request.Header["Authorization"] != "Bearer t" {
		t.Error("Strip changed its argument's headers")
	}
	back := s.Restore(out)
	if back.Request.Header["Authorization"] != "Bearer t" || back.Request.Header["x-api-key"] != "k" {
		t.Errorf("restored: %v", back.Request.Header)
	}
	// A request whose secrets this run does not know goes without them.
	other := Task{Request: fetch.Request{URL: "http://h/b", Header: map[string]string{"Authorization": fetch.Redacted, "Accept": "x/y"}}}
	if h := s.Restore(other).Request.Header; len(h) != 1 || h["Accept"] != "x/y" {
		t.Errorf("unknown secret: %v", h)
	}
}

// The encoding is the one jobs already hold: these Specs were written by
// the trawl before tasks had a type, and must decode to the same tasks and
// encode back to the same bytes (a resumed job's identities).
func TestEncodingIsStable(t *testing.T) {
	for _, c := range []struct {
		spec string
		kind Kind
	}{
		{``, Page},
		{`{"requisite":true}`, Requisite},
		{`{"sitemap":2}`, Sitemap},
		{`{"method":"POST","headers":{"A":"b"},"body":"x=1","out":"f.json"}`, Page},
		{`{"via":{"url":"http://h/a","depth":1,"chain":["http://h/a"]},"requisite":true}`, Requisite},
	} {
		fr := frontier.Request{URL: "http://h/b", Spec: c.spec}
		tk, err := Decode(fr)
		if err != nil {
			t.Fatalf("%s: %v", c.spec, err)
		}
		if tk.Kind != c.kind {
			t.Errorf("%s: kind %v, want %v", c.spec, tk.Kind, c.kind)
		}
		back, err := tk.Encode()
		if err != nil || back != fr {
			t.Errorf("%s: encoded back as %+v, %v", c.spec, back, err)
		}
	}
}

func TestIdentity(t *testing.T) {
	page := Get("http://h/a")
	if page.ID() != "http://h/a" {
		t.Errorf("plain GET's ID %q", page.ID())
	}
	post := Task{Request: fetch.Request{URL: "http://h/a", Method: "POST", Body: "x"}}
	fr, _ := post.Encode()
	if post.ID() != fr.ID() || post.ID() == page.ID() {
		t.Errorf("POST's ID %q, its encoding's %q", post.ID(), fr.ID())
	}
	hop := post.Hop(fr, "http://h/b", 302)
	if hop.ID() != post.ID() {
		t.Errorf("a hop's ID %q, want the redirected request's %q", hop.ID(), post.ID())
	}
	if hop.Request.Method != "" || hop.Request.Body != "" || hop.Request.RedirectedFrom != "http://h/a" {
		t.Errorf("302 hop of a POST: %+v", hop.Request)
	}
	if got := hop.Chain(); len(got) != 2 || got[0] != "http://h/a" || got[1] != "http://h/b" {
		t.Errorf("chain %v", got)
	}
}
