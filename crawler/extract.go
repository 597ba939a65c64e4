package crawler

import (
	"mime"
	"net/url"
	"strings"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/trawl-dev/trawl/store"
)

// An Extractor turns a fetched page into items and the links to follow.
// Rules (see CompileRules) are one; a job's own Go code can be another.
// Extract is called from many workers at once, for 2xx responses only.
//
// The links it returns are absolute URLs; the crawler makes them canonical
// and applies the scope, patterns, depth and traps to them. An error is
// saved as the page's extraction error, with whatever items came back.
type Extractor interface {
	Extract(p *Page) (items []store.Item, links []string, err error)
}

// A Page is a fetched page as an Extractor sees it.
type Page struct {
	URL         *url.URL // where the body came from, after redirects
	ContentType string
	Body        []byte
	FetchedAt   time.Time

	doc    *goquery.Document
	parsed bool
}

// NewPage returns a Page for body, fetched from pageURL.
func NewPage(pageURL *url.URL, contentType string, body []byte, fetchedAt time.Time) *Page {
	return &Page{URL: pageURL, ContentType: contentType, Body: body, FetchedAt: fetchedAt}
}

// HTML returns the page parsed as HTML, decoded to UTF-8, parsing it on the
// first call; nil when the page is not HTML.
func (p *Page) HTML() *goquery.Document {
	if !p.parsed {
		p.parsed = true
		if isHTML(p.ContentType, p.Body) {
			p.doc = parseHTML(p.ContentType, p.Body)
		}
	}
	return p.doc
}

// Base returns the URL relative links resolve against: the page's
// <base href> when it has one, else its URL.
func (p *Page) Base() *url.URL {
	if doc := p.HTML(); doc != nil {
		return baseURL(doc, p.URL)
	}
	return p.URL
}

// Links returns every link of an HTML page, as ExtractLinks does.
func (p *Page) Links() []string {
	if !p.parsed { // no document yet: the tokenizer is faster than one
		if !isHTML(p.ContentType, p.Body) {
			return nil
		}
		return scanLinks(p.URL, p.ContentType, p.Body)
	}
	if p.doc == nil {
		return nil
	}
	return links(p.doc.Selection, baseURL(p.doc, p.URL))
}

// IsJSON reports whether the page is JSON by its content type
// (application/json or any +json type).
func (p *Page) IsJSON() bool {
	mt, _, err := mime.ParseMediaType(p.ContentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}
