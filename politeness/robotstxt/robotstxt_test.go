package robotstxt_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/politeness/robotstxt"
)

type googleCase struct {
	Test    string `json:"test"`
	Robots  string `json:"robots"`
	Agent   string `json:"agent"`
	URL     string `json:"url"`
	Allowed bool   `json:"allowed"`
}

// deviations are the reference cases trawl answers otherwise, on purpose.
// Each must still fail, so that the list stays true.
var deviations = map[string]string{
	// trawl compares rules and URLs in the canonical form of its URLs, in
	// which an escaped unreserved character is the character itself (RFC
	// 3986 §6.2.2.2) and a non-ASCII byte is always escaped: "/ツ" and
	// "/%E3%83%84" are one URL, and so are "/baz" and "/%62%61%7A". Google's
	// matcher leaves the URL to its caller and compares bytes.
	"ID_Encoding|http://foo.bar/foo/bar/ツ|Allow: /foo/bar/ツ":           "a raw non-ASCII path is its escaped form",
	"ID_Encoding|http://foo.bar/foo/bar/ツ|Allow: /foo/bar/%E3%83%84":   "a raw non-ASCII path is its escaped form",
	"ID_Encoding|http://foo.bar/foo/bar/baz|Allow: /foo/bar/%62%61%7A": "an escaped unreserved character is the character",
	// Google-only: "index.html" at the end of a pattern also matches its
	// directory. Not in RFC 9309; a site that means it can say "/dir/$".
	"GoogleOnly_IndexHTMLisDirectory|http://foo.com/allowed-slash/|Allow: /allowed-slash/index.html": "index.html is not its directory",
}

// path is the path and query of a URL, the way trawl would ask: from its
// canonical form, or for what is not a URL (Google's tests pass "" and
// bare hosts) from the text after the host.
func path(raw string) string {
	if c, err := frontier.Canonical(raw); err == nil {
		rest := c[strings.Index(c, "://")+3:]
		if i := strings.IndexAny(rest, "/?"); i >= 0 {
			return rest[i:]
		}
		return "/"
	}
	if i := strings.Index(raw, "://"); i >= 0 {
		raw = raw[i+3:]
	}
	if i := strings.IndexAny(raw, "/?"); i >= 0 {
		return frontier.NormalizeEscapes(raw[i:])
	}
	return "/"
}

func key(c googleCase) string {
	for _, line := range strings.Split(c.Robots, "\n") {
		if strings.HasPrefix(line, "Allow: /") && strings.Contains(c.Robots, "Disallow: /\n") {
			return c.Test + "|" + c.URL + "|" + line
		}
	}
	return c.Test + "|" + c.URL
}

// TestGoogleReference runs the 145 checks of Google's robots_test.cc.
func TestGoogleReference(t *testing.T) {
	data, err := os.ReadFile("testdata/google_robots_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []googleCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) != 145 {
		t.Fatalf("%d cases, want Google's 145", len(cases))
	}
	passed, deviated := 0, 0
	for i, c := range cases {
		got := robotstxt.Parse([]byte(c.Robots)).Group(c.Agent).Allowed(path(c.URL))
		k := key(c)
		why, deviates := deviations[k]
		switch {
		case deviates && got == c.Allowed:
			t.Errorf("case %d (%s) passes but is listed as a deviation (%s): take it off the list", i, k, why)
		case deviates:
			deviated++
		case got != c.Allowed:
			t.Errorf("case %d %s: agent %q url %q: allowed = %v, want %v\nrobots.txt:\n%s", i, c.Test, c.Agent, clip(c.URL), got, c.Allowed, clip(c.Robots))
		default:
			passed++
		}
	}
	if deviated != len(deviations) {
		t.Errorf("%d deviations met, %d listed", deviated, len(deviations))
	}
	t.Logf("%d of %d pass; %d documented deviations", passed, len(cases), deviated)
}

func clip(s string) string {
	if len(s) > 400 {
		return s[:400] + fmt.Sprintf("… (%d bytes)", len(s))
	}
	return s
}

// The defects found with the old parser, each a case of its own.
func TestRFC9309(t *testing.T) {
	cases := []struct {
		robots, path string
		allowed      bool
	}{
		// A line that cannot be parsed is ignored; the rest applies.
		{"Crawl-delay: 5\nUser-agent: *\nDisallow: /admin/\n", "/admin/x", false},
		{"Disallow: /x\nUser-agent: *\nDisallow: /admin/\n", "/admin/x", false},
		{"User-agent: *\nCrawl-delay: 1s\nDisallow: /admin/\n", "/admin/x", false},
		{"User-agent: *\nthis is junk\n:::\nDisallow: /admin/\n", "/admin/", false},
		// Rules are normalised as canonical URLs are.
		{"User-agent: *\nDisallow: /поиск\n", frontier.NormalizeEscapes("/поиск?q=1"), false},
		{"User-agent: *\nDisallow: /%d0%bf\n", "/%D0%BF", false},
		{"User-agent: *\nDisallow: /%7Euser/\n", "/~user/x", false},
		// Wildcards are anchored at the start of the path.
		{"User-agent: *\nDisallow: /\nAllow: /public*.html\n", "/secret/public.html", false},
		{"User-agent: *\nDisallow: /\nAllow: /public*.html\n", "/public/a.html", true},
		// Equal length: allow wins; wildcards rank by pattern length.
		{"User-agent: *\nDisallow: /a\nAllow: /a\n", "/a", true},
		{"User-agent: *\nAllow: /ab\nDisallow: /*b\n", "/ab", true},
		// The group must match the product token; # starts a comment anywhere.
		{"User-agent: t\nDisallow: /\n", "/", true},
		{"User-agent: trawl # us\nDisallow: /x # not /\n", "/x", false},
		{"User-agent: trawl # us\nDisallow: /x # not /\n", "/y", true},
	}
	for _, c := range cases {
		if got := robotstxt.Parse([]byte(c.robots)).Group("trawl").Allowed(c.path); got != c.allowed {
			t.Errorf("%q on %q: allowed = %v, want %v", c.robots, c.path, got, c.allowed)
		}
	}
	g := robotstxt.Parse([]byte("Crawl-delay: 9\nUser-agent: *\nCrawl-delay: 1.5\nDisallow: /x\nSitemap: http://h/s.xml\n")).Group("trawl")
	if !g.HasCrawlDelay || g.CrawlDelay.Seconds() != 1.5 {
		t.Errorf("crawl-delay %v (%v), want 1.5s of the group", g.CrawlDelay, g.HasCrawlDelay)
	}
}

// Parse never panics, and a group answers for any path.
func FuzzParse(f *testing.F) {
	f.Add([]byte("User-agent: *\nDisallow: /a*b$\nAllow: /\xff\n"), "/a/b")
	f.Add([]byte("\xef\xbb\xbfuser-agent trawl\ndisallow /x\ncrawl-delay: 1e400\n"), "/x")
	f.Fuzz(func(t *testing.T, body []byte, path string) {
		f := robotstxt.Parse(body)
		f.Group("trawl").Allowed(path)
		f.Group("*").Allowed(path)
	})
}
