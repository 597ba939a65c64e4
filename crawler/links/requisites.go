package links

import (
	"mime"
	"net/url"
	"regexp"
	"strings"

	"golang.org/x/net/html"
)

// IsCSS reports whether a body of this content type is a stylesheet.
func IsCSS(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "text/css"
}

// Requisites returns the canonical http(s) URLs of what an HTML page at
// pageURL needs to render, in document order without repeats: img src and
// srcset, picture/source srcset, link rel=stylesheet, icon, preload and
// modulepreload, script src, video/audio/source/track src, video poster,
// object data, embed src, and the url(…) and @import of style attributes
// and <style> blocks; resolved against <base href> when the page has one.
func Requisites(pageURL *url.URL, contentType string, body []byte) []string {
	z := html.NewTokenizer(decoded(contentType, body))
	base := pageURL
	baseSeen, inStyle := false, false
	var refs []string
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return resolveAll(base, refs)
		case html.TextToken:
			if inStyle {
				refs = append(refs, cssRefs(string(z.Text()))...)
			}
			continue
		case html.EndTagToken:
			if name, _ := z.TagName(); string(name) == "style" {
				inStyle = false
			}
			continue
		case html.StartTagToken, html.SelfClosingTagToken:
		default:
			continue
		}
		name, hasAttr := z.TagName()
		tag := string(name)
		if tag == "style" && tt == html.StartTagToken {
			inStyle = true
		}
		if !hasAttr {
			continue
		}
		attrs := map[string]string{}
		for more := true; more; {
			var k, v []byte
			k, v, more = z.TagAttr()
			if _, dup := attrs[string(k)]; !dup {
				attrs[string(k)] = string(v)
			}
		}
		if st, ok := attrs["style"]; ok {
			refs = append(refs, cssRefs(st)...)
		}
		if tag == "base" {
			if h, ok := attrs["href"]; ok && !baseSeen {
				baseSeen = true
				if u, err := pageURL.Parse(strings.TrimSpace(h)); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
					base = u
				}
			}
			continue
		}
		refs = append(refs, tagRequisites(tag, attrs)...)
	}
}

// tagRequisites returns the references to requisites of one start tag.
func tagRequisites(tag string, attrs map[string]string) []string {
	var refs []string
	add := func(attr string) {
		if v, ok := attrs[attr]; ok && strings.TrimSpace(v) != "" {
			refs = append(refs, v)
		}
	}
	switch tag {
	case "img", "source":
		add("src")
		refs = append(refs, srcset(attrs["srcset"])...)
	case "script", "audio", "track", "embed":
		add("src")
	case "input":
		if strings.EqualFold(attrs["type"], "image") {
			add("src")
		}
	case "video":
		add("src")
		add("poster")
	case "object":
		add("data")
	case "link":
		if relRequisite(attrs["rel"]) {
			add("href")
		}
	}
	return refs
}

// relRequisite reports whether a link rel names something a page needs.
func relRequisite(rel string) bool {
	for _, r := range strings.Fields(strings.ToLower(rel)) {
		switch r {
		case "stylesheet", "icon", "preload", "modulepreload", "apple-touch-icon":
			return true
		}
	}
	return false
}

// srcset returns the URLs of a srcset attribute ("a.jpg 1x, b.jpg 2x").
func srcset(v string) []string {
	var out []string
	for _, cand := range strings.Split(v, ",") {
		if f := strings.Fields(cand); len(f) > 0 {
			out = append(out, f[0])
		}
	}
	return out
}

var (
	cssURL    = regexp.MustCompile(`(?i)url\(\s*(?:"([^"]*)"|'([^']*)'|([^)"'\s]*))\s*\)`)
	cssImport = regexp.MustCompile(`(?i)@import\s+(?:"([^"]*)"|'([^']*)')`)
	cssNote   = regexp.MustCompile(`(?s)/\*.*?\*/`)
)

// cssRefs returns the url(…) and @import references of CSS text.
func cssRefs(css string) []string {
	css = cssNote.ReplaceAllString(css, "")
	var out []string
	for _, re := range []*regexp.Regexp{cssImport, cssURL} {
		for _, m := range re.FindAllStringSubmatch(css, -1) {
			for _, g := range m[1:] {
				if g != "" && !strings.HasPrefix(strings.ToLower(g), "data:") {
					out = append(out, g)
					break
				}
			}
		}
	}
	return out
}

// CSSRequisites returns the canonical http(s) URLs a stylesheet at cssURL
// needs: its @import rules and url(…) references, without repeats.
func CSSRequisites(cssURL *url.URL, body []byte) []string {
	return resolveAll(cssURL, cssRefs(string(body)))
}

// RequisitesOf returns the requisites of a fetched body at base: a
// stylesheet's, or (unless cssOnly) an HTML page's; none for anything else.
func RequisitesOf(base *url.URL, contentType string, body []byte, cssOnly bool) []string {
	switch {
	case IsCSS(contentType):
		return CSSRequisites(base, body)
	case !cssOnly && IsHTML(contentType, body):
		return Requisites(base, contentType, body)
	}
	return nil
}
