// Package links finds the links of HTML pages: with the tokenizer alone
// (Extract), or in a parsed document (In), with the same results.
package links

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"

	"github.com/trawl-dev/trawl/frontier"
)

var (
	selBase  = cascadia.MustCompile("base[href]")
	selLinks = cascadia.MustCompile("a[href], area[href], frame[src], iframe[src], link[href]")
)

// IsHTML reports whether a body of this content type should be parsed for
// links. A missing type is sniffed.
func IsHTML(contentType string, body []byte) bool {
	if contentType == "" {
		contentType = http.DetectContentType(body)
	}
	// What mime.ParseMediaType would give, lower-cased, when it can parse
	// the type, and what is there when it cannot.
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(mt)
	return strings.EqualFold(mt, "text/html") || strings.EqualFold(mt, "application/xhtml+xml")
}

// Extract returns the canonical http(s) URLs that an HTML page at
// pageURL links to, in document order without repeats: a[href],
// area[href], frame[src], iframe[src] and link[href] with rel next, prev or
// alternate, resolved against <base href> when the page has one. The body
// is decoded to UTF-8 from its declared or sniffed charset first.
func Extract(pageURL *url.URL, contentType string, body []byte) []string {
	links, _ := ExtractN(pageURL, contentType, body, 0, nil)
	return links
}

// ExtractN is Extract returning at most max links (0: no limit), and
// whether the page had more. It stops reading the page once it has found
// enough, so a page of a million links costs little. With known, it
// leaves out the links known holds, and adds those it returns.
func ExtractN(pageURL *url.URL, contentType string, body []byte, max int, known *Known) ([]string, bool) {
	return scan(pageURL, contentType, body, max, known)
}

// Truncate returns the first max of links (0: all), and whether some were
// left out.
func Truncate(links []string, max int) ([]string, bool) {
	if max > 0 && len(links) > max {
		return links[:max], true
	}
	return links, false
}

// scan finds the links Extract returns by walking the page's start tags
// (see tags), building no tree: several times faster than parsing a
// document, with the same results, since which elements and attributes
// there are does not depend on how the parser would nest them.
func scan(pageURL *url.URL, contentType string, body []byte, max int, known *Known) ([]string, bool) {
	t := tags{b: decodedBytes(contentType, body), only: []string{"href", "src", "rel"}}
	base := pageURL
	baseSeen := false
	frameset := false // <frame> counts only inside one, as the parser has it
	// The refs are copied into one buffer, made one string at the end, and
	// cut from it: one allocation a page, not one a link. The buffers
	// themselves are reused from page to page.
	sb := scanBufs.Get().(*scanBuf)
	buf, ends := sb.refs[:0], sb.ends[:0]
	more := false
	for !more && t.next() {
		name := t.b[t.name.start:t.name.end]
		var want string
		switch {
		case lowerIs(name, "a"), lowerIs(name, "area"), lowerIs(name, "link"):
			want = "href"
		case lowerIs(name, "frameset"):
			frameset = true
			continue
		case lowerIs(name, "frame"):
			if !frameset {
				continue
			}
			want = "src"
		case lowerIs(name, "iframe"):
			want = "src"
		case lowerIs(name, "base"):
			if baseSeen {
				continue
			}
			want = "href"
		default:
			continue
		}
		ref, found := t.attr(want)
		switch {
		case !found:
		case lowerIs(name, "base"):
			baseSeen = true
			if u, err := pageURL.Parse(strings.TrimSpace(string(ref))); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
				base = u
			}
		case lowerIs(name, "link"):
			if rel, _ := t.attr("rel"); !relFollowed(string(rel)) {
				continue
			}
			fallthrough
		default:
			buf = append(buf, ref...)
			ends = append(ends, len(buf))
			if max > 0 && len(ends) >= 4*max { // enough, even with repeats
				more = true
			}
		}
	}
	all, refs := string(buf), make([]string, len(ends))
	for i, end := range ends {
		start := 0
		if i > 0 {
			start = ends[i-1]
		}
		refs[i] = all[start:end]
	}
	if cap(buf) <= maxScanBuf {
		sb.refs, sb.ends = buf, ends
		scanBufs.Put(sb)
	}
	links, cut := resolve(base, refs, max, known)
	return links, more || cut
}

// scanBuf is what scan copies a page's refs into, kept for the next page.
type scanBuf struct {
	refs []byte
	ends []int
}

var scanBufs = sync.Pool{New: func() any { return new(scanBuf) }}

// maxScanBuf is the largest refs buffer kept for reuse: a page with more
// is rare, and its buffer is left to the collector.
const maxScanBuf = 1 << 20

// resolveAll returns the canonical http(s) URLs of refs against base, in
// order, without repeats.
func resolveAll(base *url.URL, refs []string) []string {
	out, _ := resolve(base, refs, 0, nil)
	return out
}

// resolve is resolveAll returning at most max URLs (0: no limit) and
// whether there were more, leaving out those known holds and adding to it
// those it returns.
func resolve(base *url.URL, refs []string, max int, known *Known) ([]string, bool) {
	full := base.String()
	b, err := frontier.ParseBase(full)
	if err != nil {
		return nil, false
	}
	var a against
	if known != nil {
		a = newAgainst(base, full)
	}
	var out []string
	seen := make(map[string]struct{}, len(refs))
	for _, ref := range refs {
		var key uint64
		if known != nil {
			if key = known.key(&a, ref); known.has(key) {
				continue
			}
		}
		u, err := b.Resolve(ref)
		if err != nil {
			continue
		}
		if _, dup := seen[u]; dup {
			continue
		}
		if max > 0 && len(out) == max {
			return out, true
		}
		seen[u] = struct{}{}
		out = append(out, u)
		if known != nil {
			known.add(key)
		}
	}
	return out, false
}

// decoded returns body as UTF-8, decoded from its declared or sniffed
// charset.
func decoded(contentType string, body []byte) io.Reader {
	return bytes.NewReader(decodedBytes(contentType, body))
}

// decodedBytes is decoded's text as bytes: body itself when it is UTF-8
// already.
func decodedBytes(contentType string, body []byte) []byte {
	// The usual case, without DetermineEncoding: declared UTF-8 and valid
	// (so no UTF-16 byte order mark, which would win: 0xfe and 0xff are
	// never UTF-8).
	if utf8HTML(contentType) && utf8.Valid(body) {
		return body
	}
	if enc, name, _ := charset.DetermineEncoding(body[:min(len(body), 1024)], contentType); name != "utf-8" || !utf8.Valid(body) {
		if b, err := io.ReadAll(enc.NewDecoder().Reader(bytes.NewReader(body))); err == nil {
			return b
		}
	}
	return body
}

// utf8HTML reports the usual declaration of a UTF-8 page.
func utf8HTML(contentType string) bool {
	return strings.EqualFold(contentType, "text/html; charset=utf-8") || strings.EqualFold(contentType, "text/html;charset=utf-8")
}

// Parse parses body as HTML, decoding it to UTF-8 from its declared or
// sniffed charset. It returns nil if the body cannot be read.
func Parse(contentType string, body []byte) *goquery.Document {
	root, err := html.Parse(decoded(contentType, body))
	if err != nil {
		return nil
	}
	return goquery.NewDocumentFromNode(root)
}

// Base returns what relative links in doc resolve against: its <base href>
// if it has a usable one, else pageURL.
func Base(doc *goquery.Document, pageURL *url.URL) *url.URL {
	if href, ok := doc.FindMatcher(selBase).First().Attr("href"); ok {
		if u, err := pageURL.Parse(strings.TrimSpace(href)); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			return u
		}
	}
	return pageURL
}

// In returns the canonical URLs of the link elements in sel or under
// it, in document order without repeats.
func In(sel *goquery.Selection, base *url.URL) []string {
	var refs []string
	add := func(_ int, s *goquery.Selection) {
		n := s.Get(0)
		var ref string
		switch n.Data {
		case "frame", "iframe":
			ref, _ = s.Attr("src")
		case "link":
			if !relFollowed(s.AttrOr("rel", "")) {
				return
			}
			fallthrough
		default:
			ref, _ = s.Attr("href")
		}
		refs = append(refs, ref)
	}
	sel.FilterMatcher(selLinks).Each(add)
	sel.FindMatcher(selLinks).Each(add)
	return resolveAll(base, refs)
}

func relFollowed(rel string) bool {
	for _, r := range strings.Fields(strings.ToLower(rel)) {
		switch r {
		case "next", "prev", "previous", "alternate":
			return true
		}
	}
	return false
}
