package links_test

import (
	"net/url"
	"testing"

	"github.com/trawl-dev/trawl/crawler/links"
	"github.com/trawl-dev/trawl/frontier"
)

// Extract never panics on any bytes, and returns only canonical
// http(s) URLs.
func FuzzExtractLinks(f *testing.F) {
	f.Add([]byte(`<base href="http://o/"><a href="x">x</a><a href=y><area href="/z"><iframe src="//c/d">`), "text/html")
	f.Add([]byte("<meta charset=shift_jis><a href=\"/\x82\xa0\">"), "text/html")
	f.Add([]byte("<a href=\"http://[::1\"><a href=javascript:1><a href='mailto:x'>"), "text/html; charset=latin1")
	f.Add([]byte("\x00\xff<<a href=\"\">"), "")
	base, _ := url.Parse("http://h/dir/page")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		for _, u := range links.Extract(base, contentType, body) {
			if c, err := frontier.Canonical(u); err != nil || c != u {
				t.Fatalf("link %q is not canonical (%q, %v)", u, c, err)
			}
		}
	})
}
