package links

import (
	"encoding/json"
	"net/url"
	"os"
	"slices"
	"testing"

	"github.com/trawl-dev/trawl/frontier"
)

// A link's key holds all that decides what it resolves to: over the
// WHATWG URL test inputs against their bases (and each base with a
// query, a fragment and another last segment), links with one key always
// resolve alike.
func TestKnownKeyDecidesResolution(t *testing.T) {
	data, err := os.ReadFile("../../frontier/testdata/wpt_urltestdata_http.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Input string  `json:"input"`
		Base  *string `json:"base"`
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	refs := []string{"x", "./x", "../x", "x?q", "?q", "#f", "", "/x", "//h/x", "\\x", "/\\h/x", "x:y", "a/b:c", " x", "x\ty"}
	bases := map[string]bool{"http://h": true, "http://h/": true, "https://u:p@h:8/a/b?q#f": true}
	for _, c := range cases {
		refs = append(refs, c.Input)
		if c.Base != nil {
			for _, b := range []string{*c.Base, *c.Base + "?q=1", *c.Base + "#frag", *c.Base + "/sib", *c.Base + "x"} {
				bases[b] = true
			}
		}
	}
	type outcome struct {
		url string
		err bool
	}
	seen := make(map[string]outcome)
	from := make(map[string]string)
	checked := 0
	for b := range bases {
		u, err := url.Parse(b)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			continue
		}
		fb, err := frontier.ParseBase(u.String())
		if err != nil {
			continue
		}
		a := newAgainst(u, u.String())
		for _, ref := range refs {
			s, err := fb.Resolve(ref)
			got := outcome{s, err != nil}
			k := a.prefix(ref) + "\x00" + ref
			if want, ok := seen[k]; ok {
				checked++
				if want != got {
					t.Errorf("%q against %q gives %v, but against %q it gave %v", ref, b, got, from[k], want)
				}
				continue
			}
			seen[k], from[k] = got, b
		}
	}
	if checked < 1000 {
		t.Fatalf("only %d links shared a key: the test checks too little", checked)
	}
}

// A second page repeating a first page's links gives only its new ones;
// a relative link is new again in another directory.
func TestKnownLeavesOutRepeats(t *testing.T) {
	k := NewKnown()
	get := func(page, body string) []string {
		u, _ := url.Parse(page)
		l, _ := ExtractN(u, "text/html", []byte(body), 0, k)
		return l
	}
	nav := `<a href="/home">h</a><a href="http://h/about">a</a><a href="item">i</a><a href="?page=2">p</a>`
	if got, want := get("http://h/d/1", nav), []string{"http://h/home", "http://h/about", "http://h/d/item", "http://h/d/1?page=2"}; !slices.Equal(got, want) {
		t.Fatalf("first page: %q, want %q", got, want)
	}
	if got, want := get("http://h/d/2", nav+`<a href="/new">`), []string{"http://h/d/2?page=2", "http://h/new"}; !slices.Equal(got, want) {
		t.Fatalf("second page: %q, want %q", got, want)
	}
	if got, want := get("http://h/e/3", nav), []string{"http://h/e/item", "http://h/e/3?page=2"}; !slices.Equal(got, want) {
		t.Fatalf("other directory: %q, want %q", got, want)
	}
	// Links cut by max are not remembered.
	u, _ := url.Parse("http://h/f/")
	if l, more := ExtractN(u, "text/html", []byte(`<a href=/m1><a href=/m2><a href=/m3>`), 1, k); !slices.Equal(l, []string{"http://h/m1"}) || !more {
		t.Fatalf("max 1: %q %v", l, more)
	}
	if l, _ := ExtractN(u, "text/html", []byte(`<a href=/m1><a href=/m2><a href=/m3>`), 0, k); !slices.Equal(l, []string{"http://h/m2", "http://h/m3"}) {
		t.Fatalf("after max 1: %q", l)
	}
}
