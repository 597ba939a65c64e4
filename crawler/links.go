package crawler

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
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

// isHTML reports whether a body of this content type should be parsed for
// links. A missing type is sniffed.
func isHTML(contentType string, body []byte) bool {
	if contentType == "" {
		contentType = http.DetectContentType(body)
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
	}
	return mt == "text/html" || mt == "application/xhtml+xml"
}

// ExtractLinks returns the canonical http(s) URLs that an HTML page at
// pageURL links to, in document order without repeats: a[href],
// area[href], frame[src], iframe[src] and link[href] with rel next, prev or
// alternate, resolved against <base href> when the page has one. The body
// is decoded to UTF-8 from its declared or sniffed charset first.
func ExtractLinks(pageURL *url.URL, contentType string, body []byte) []string {
	doc := parseHTML(contentType, body)
	if doc == nil {
		return nil
	}
	return links(doc.Selection, baseURL(doc, pageURL))
}

// parseHTML parses body as HTML, decoding it to UTF-8 from its declared or
// sniffed charset. It returns nil if the body cannot be read.
func parseHTML(contentType string, body []byte) *goquery.Document {
	var rd io.Reader = bytes.NewReader(body)
	if enc, name, _ := charset.DetermineEncoding(body[:min(len(body), 1024)], contentType); name != "utf-8" || !utf8.Valid(body) {
		rd = enc.NewDecoder().Reader(rd)
	}
	root, err := html.Parse(rd)
	if err != nil {
		return nil
	}
	return goquery.NewDocumentFromNode(root)
}

// baseURL is what relative links in doc resolve against: its <base href>
// if it has a usable one, else pageURL.
func baseURL(doc *goquery.Document, pageURL *url.URL) *url.URL {
	if href, ok := doc.FindMatcher(selBase).First().Attr("href"); ok {
		if u, err := pageURL.Parse(strings.TrimSpace(href)); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			return u
		}
	}
	return pageURL
}

// links returns the canonical URLs of the link elements in sel or under
// it, in document order without repeats.
func links(sel *goquery.Selection, base *url.URL) []string {
	var out []string
	seen := make(map[string]struct{})
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
		u, err := frontier.Resolve(base, ref)
		if err != nil {
			return
		}
		if _, dup := seen[u]; dup {
			return
		}
		seen[u] = struct{}{}
		out = append(out, u)
	}
	sel.FilterMatcher(selLinks).Each(add)
	sel.FindMatcher(selLinks).Each(add)
	return out
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
