// Package page is a fetched page as extraction sees it, and the Extractor
// interface that turns pages into items and links.
package page

import (
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/trawl-dev/trawl/crawler/links"
	"github.com/trawl-dev/trawl/store"
)

// An Extractor turns a fetched page into items and the links to follow.
// Rules (see package rules) are one; a job's own Go code can be another.
// Extract is called from many workers at once, for 2xx responses only.
//
// The links it returns are absolute URLs; the crawler makes them canonical
// and applies the scope, patterns, depth and traps to them. An error is
// saved as the page's extraction error, with whatever items came back.
type Extractor interface {
	Extract(p *Page) (items []store.Item, links []string, err error)
}

// A Page is a fetched page as an Extractor sees it.
//
// Body is valid only until Extract returns: the crawler reuses its buffer
// for another page. An Extractor that keeps bytes of it must copy them.
type Page struct {
	URL         *url.URL // where the body came from, after redirects
	Status      int      // HTTP status (2xx: only those reach an Extractor)
	Header      http.Header
	ContentType string
	Body        []byte // decoded body (Content-Encoding removed); see above
	FetchedAt   time.Time

	doc    *goquery.Document
	parsed bool
}

// New returns a Page for body, fetched from pageURL.
func New(pageURL *url.URL, contentType string, body []byte, fetchedAt time.Time) *Page {
	return &Page{URL: pageURL, ContentType: contentType, Body: body, FetchedAt: fetchedAt}
}

// HTML returns the page parsed as HTML, decoded to UTF-8, parsing it on the
// first call; nil when the page is not HTML.
func (p *Page) HTML() *goquery.Document {
	if !p.parsed {
		p.parsed = true
		if links.IsHTML(p.ContentType, p.Body) {
			p.doc = links.Parse(p.ContentType, p.Body)
		}
	}
	return p.doc
}

// Base returns the URL relative links resolve against: the page's
// <base href> when it has one, else its URL.
func (p *Page) Base() *url.URL {
	if doc := p.HTML(); doc != nil {
		return links.Base(doc, p.URL)
	}
	return p.URL
}

// Links returns every link of an HTML page, as links.Extract does.
func (p *Page) Links() []string {
	l, _ := p.LinksN(0)
	return l
}

// LinksN returns at most max links of an HTML page (0: all), and whether
// it had more.
func (p *Page) LinksN(max int) ([]string, bool) {
	if !p.parsed { // no document yet: the tokenizer is faster than one
		if !links.IsHTML(p.ContentType, p.Body) {
			return nil, false
		}
		return links.ExtractN(p.URL, p.ContentType, p.Body, max, nil)
	}
	if p.doc == nil {
		return nil, false
	}
	return links.Truncate(links.In(p.doc.Selection, links.Base(p.doc, p.URL)), max)
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
