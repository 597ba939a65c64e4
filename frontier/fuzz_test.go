package frontier_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/trawl-dev/trawl/frontier"
)

// Canonical never panics, its output is bounded, http(s) and a fixed point.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{"http://h/a/./b/../c?#f", "HTTPS://H:443/%7e", "http://[::1", "http://ex\\a%zz b",
		"http://münchen.de/ä?q=1 2", "//h/x", "http://h/%2e%2e/%2E./x", "http://user:pw@h:08080/", "http://0x7f.1/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := frontier.Canonical(raw)
		if err != nil {
			return
		}
		if len(c) > frontier.MaxURLLength || !(strings.HasPrefix(c, "http://") || strings.HasPrefix(c, "https://")) {
			t.Fatalf("Canonical(%q) = %q", raw, c)
		}
		again, err := frontier.Canonical(c)
		if err != nil || again != c {
			t.Fatalf("not a fixed point: %q -> %q -> %q (%v)", raw, c, again, err)
		}
		if _, err := url.Parse(c); err != nil {
			t.Fatalf("Canonical(%q) = %q does not parse: %v", raw, c, err)
		}
	})
}
