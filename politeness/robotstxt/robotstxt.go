// Package robotstxt parses robots.txt files and matches URLs against them
// as RFC 9309 says, measured by Google's reference tests (see testdata).
//
// Parsing never fails: a line that cannot be parsed is ignored and the rest
// applies. Rules and the paths matched against them are compared in one
// normal form (frontier.NormalizeEscapes): non-ASCII bytes and other unsafe
// bytes percent-encoded, escapes upper-cased, escaped unreserved characters
// decoded, so "/поиск", "/%d0%bf…" and "/%7Euser/" match the canonical URLs
// trawl fetches.
//
// Where RFC 9309 is silent this follows Google's parser: a missing colon
// after a known key is accepted ("disallow /"), a user-agent value is read
// up to its first space, lines are cut at 16,664 bytes, and a UTF-8 byte
// order mark is skipped. Google's rule that "index.html" at the end of a
// pattern also matches its directory is not followed.
package robotstxt

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/trawl-dev/trawl/frontier"
)

// maxLine is the longest line read; the rest of a longer line is ignored
// (Google's limit: 8 × 2083 bytes, end of line included).
const maxLine = 8*2083 - 1

// File is a parsed robots.txt.
type File struct {
	groups   []group
	Sitemaps []string // the Sitemap lines, anywhere in the file
}

type group struct {
	agents     []string // lower-case product tokens, "*" for all
	rules      []rule
	crawlDelay time.Duration
	hasDelay   bool
}

type rule struct {
	allow   bool
	pattern string // normalised; '*' any run of bytes, a final '$' the end
}

// Parse reads a robots.txt body. It never fails.
func Parse(body []byte) *File {
	f := &File{}
	body = skipBOM(body)
	var cur *group    // the group being filled
	inAgents := false // the last directive was a user-agent line
	for len(body) > 0 {
		var line []byte
		if i := bytes.IndexAny(body, "\r\n"); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			line, body = body, nil
		}
		key, value, ok := directive(line)
		if !ok {
			continue
		}
		switch key {
		case "user-agent":
			if !inAgents {
				f.groups = append(f.groups, group{})
				cur = &f.groups[len(f.groups)-1]
			}
			inAgents = true
			if i := strings.IndexAny(value, " \t"); i >= 0 {
				value = value[:i]
			}
			cur.agents = append(cur.agents, strings.ToLower(value))
		case "allow", "disallow":
			inAgents = false
			if cur != nil && value != "" {
				cur.rules = append(cur.rules, rule{allow: key == "allow", pattern: frontier.NormalizeEscapes(value)})
			}
		case "crawl-delay":
			inAgents = false
			if d, err := strconv.ParseFloat(strings.TrimSuffix(value, "s"), 64); cur != nil && err == nil && d >= 0 && d < 1e6 {
				cur.crawlDelay, cur.hasDelay = time.Duration(d*float64(time.Second)), true
			}
		case "sitemap":
			f.Sitemaps = append(f.Sitemaps, value)
		}
	}
	return f
}

// skipBOM drops a UTF-8 byte order mark, or the start of one.
func skipBOM(b []byte) []byte {
	for _, c := range []byte{0xEF, 0xBB, 0xBF} {
		if len(b) == 0 || b[0] != c {
			break
		}
		b = b[1:]
	}
	return b
}

// directive splits a line into its lower-case key and its value, comments
// and spaces removed; ok is false for a line with no known key.
func directive(line []byte) (key, value string, ok bool) {
	if len(line) > maxLine {
		line = line[:maxLine]
	}
	if i := bytes.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	s := strings.TrimSpace(string(line))
	k, v, found := strings.Cut(s, ":")
	if !found { // "disallow /": a missing colon, as Google accepts
		k, v, found = strings.Cut(s, " ")
		if !found {
			k, v, found = strings.Cut(s, "\t")
		}
	}
	k = strings.ToLower(strings.TrimSpace(k))
	switch k {
	case "user-agent", "allow", "disallow", "crawl-delay", "sitemap":
		return k, strings.TrimSpace(v), found
	}
	return "", "", false
}

// A Group is the rules of a robots.txt that apply to one crawler.
type Group struct {
	rules []rule
	// CrawlDelay is the group's Crawl-delay, when HasCrawlDelay.
	CrawlDelay    time.Duration
	HasCrawlDelay bool
}

// Group returns the rules for the crawler whose product token is agent
// ("trawl"): those of every group naming it (case-insensitively), else
// those of every "*" group, else none (everything allowed).
func (f *File) Group(agent string) *Group {
	agent = strings.ToLower(agent)
	g := f.collect(func(a string) bool { return a == agent && agent != "" })
	if g == nil {
		g = f.collect(func(a string) bool { return a == "*" })
	}
	if g == nil {
		g = &Group{}
	}
	return g
}

func (f *File) collect(match func(string) bool) *Group {
	var g *Group
	for _, gr := range f.groups {
		for _, a := range gr.agents {
			if !match(a) {
				continue
			}
			if g == nil {
				g = &Group{}
			}
			g.rules = append(g.rules, gr.rules...)
			if gr.hasDelay && !g.HasCrawlDelay {
				g.CrawlDelay, g.HasCrawlDelay = gr.crawlDelay, true
			}
			break
		}
	}
	return g
}

// Allowed reports whether the group lets a crawler fetch path, the path
// and query of a canonical URL ("/a/b?c=d"): the longest matching rule
// decides, allow winning a tie; no matching rule allows.
func (g *Group) Allowed(path string) bool {
	if path == "" {
		path = "/"
	}
	best, allowed := -1, true
	for _, r := range g.rules {
		n := len(r.pattern)
		if n < best || n == best && allowed {
			continue
		}
		if match(r.pattern, path) {
			if n > best || r.allow {
				best, allowed = n, r.allow
			}
		}
	}
	return allowed
}

// match reports whether pattern matches the start of path ('*' matches any
// run of bytes, a final '$' the end of path).
func match(pattern, path string) bool {
	end := strings.HasSuffix(pattern, "$")
	if end {
		pattern = pattern[:len(pattern)-1]
	}
	if !strings.Contains(pattern, "*") {
		if end {
			return path == pattern
		}
		return strings.HasPrefix(path, pattern)
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(path, parts[0]) {
		return false
	}
	rest := path[len(parts[0]):]
	last := len(parts) - 1
	for i := 1; i < last; i++ {
		j := strings.Index(rest, parts[i])
		if j < 0 {
			return false
		}
		rest = rest[j+len(parts[i]):]
	}
	if end {
		return strings.HasSuffix(rest, parts[last])
	}
	return strings.Contains(rest, parts[last])
}
