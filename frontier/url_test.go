package frontier_test

import (
	"net/url"
	"testing"

	"github.com/trawl-dev/trawl/frontier"
)

func TestCanonical(t *testing.T) {
	cases := []struct{ in, want string }{
		{"HTTP://Example.COM:80/a/./b/../c?#frag", "http://example.com/a/c"},
		{"https://example.com:443", "https://example.com/"},
		{"http://example.com:8080/", "http://example.com:8080/"},
		{"http://example.com/%7euser/%2e%2e/x", "http://example.com/x"},
		{"http://example.com/a%2fb%3f", "http://example.com/a%2Fb%3F"},
		{"http://example.com/a b/ä", "http://example.com/a%20b/%C3%A4"},
		{"http://example.com/p%zz", "http://example.com/p%25zz"},
		{"  http://example.com\\a\\b?q=1\\2 ", "http://example.com/a/b?q=1%5C2"},
		{"http://münchen.de/", "http://xn--mnchen-3ya.de/"},
		{"http://example.com/p?b=2&a=1", "http://example.com/p?b=2&a=1"},
		{"http://[::1]:80/", "http://[::1]/"},
		{"http://ex\tample.com/x\n", "http://example.com/x"},
		{"http://h/a;jsessionid=ABC123?x=1&PHPSESSID=9&utm_source=n&sid=2&y=2", "http://h/a?x=1&y=2"},
		{"http://h/a;JSESSIONID=z/b?utm_campaign=q", "http://h/a/b"},
		{"http:///nohost", "http://nohost/"}, // as browsers read it (WHATWG)
		{"http://user:pw@h/", "http://h/"},   // no credentials in a stored URL
	}
	for _, c := range cases {
		got, err := frontier.Canonical(c.in)
		if err != nil || got != c.want {
			t.Errorf("Canonical(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"ftp://example.com/", "mailto:a@b.c", "http://[::1", "/relative", "http://", "javascript:alert(1)", "http://exa mple.com/"} {
		if got, err := frontier.Canonical(bad); err == nil {
			t.Errorf("Canonical(%q) = %q, want an error", bad, got)
		}
	}
}

func TestResolve(t *testing.T) {
	base, _ := url.Parse("http://h/p/5")
	for _, ref := range []string{"14", "/p/14#sec", "http://H:80/p/14", "../p/14", "./14#top", "14?"} {
		got, err := frontier.Resolve(base, ref)
		if err != nil || got != "http://h/p/14" {
			t.Errorf("Resolve(%q) = %q, %v", ref, got, err)
		}
	}
}
