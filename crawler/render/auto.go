package render

import (
	"bytes"
	"fmt"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Auto's thresholds: a page with scripts and less visible text than
// MinText bytes, or with an empty mount point, is taken as built by its
// scripts.
const MinText = 200

// mountIDs are the ids of the elements single-page apps mount into.
var mountIDs = map[string]bool{"app": true, "root": true, "__next": true, "__nuxt": true, "svelte": true, "main-app": true, "react-root": true}

// Auto reports whether an HTML page looks built by script, and why: it
// has at least one script (an external one, or inline code that is not
// JSON data), and either less than MinText bytes of visible text in its
// body, or an empty element with a single-page app's mount id (app, root,
// __next, __nuxt, svelte, main-app, react-root) or attribute (ng-app,
// data-reactroot).
func Auto(body []byte) (bool, string) {
	s := scan(body)
	switch {
	case s.scripts == 0:
		return false, ""
	case s.mount != "":
		return true, fmt.Sprintf("auto: an empty mount point (%s) and %d script(s)", s.mount, s.scripts)
	case s.text < MinText:
		return true, fmt.Sprintf("auto: %d bytes of text and %d script(s)", s.text, s.scripts)
	}
	return false, ""
}

// page is what Auto looks at in a page.
type page struct {
	scripts int
	text    int    // bytes of visible text in the body, spaces collapsed
	mount   string // the first empty mount point, as #id or [attr]
}

func scan(body []byte) page {
	var p page
	z := html.NewTokenizer(bytes.NewReader(body))
	var skip int    // depth inside script, style, noscript, template
	var open string // a mount point just opened, waiting to be seen empty
	var inline bool // in an inline script of code, not yet counted
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return p
		case html.StartTagToken, html.SelfClosingTagToken:
			name, attr := z.TagName()
			a := atom.Lookup(name)
			if open != "" {
				open = "" // it has a child
			}
			attrs := map[string]string{}
			for attr {
				var k, v []byte
				k, v, attr = z.TagAttr()
				attrs[string(k)] = string(v)
			}
			switch a {
			case atom.Script:
				switch {
				case !isCode(attrs["type"]):
				case attrs["src"] != "":
					p.scripts++
				case tt == html.StartTagToken:
					inline = true // counted if it holds code
				}
				if tt == html.StartTagToken {
					skip++
				}
				continue
			case atom.Style, atom.Noscript, atom.Template:
				if tt == html.StartTagToken {
					skip++
				}
				continue
			}
			if p.mount == "" && tt == html.StartTagToken {
				if mountIDs[attrs["id"]] {
					open = "#" + attrs["id"]
				} else if _, ok := attrs["ng-app"]; ok {
					open = "[ng-app]"
				} else if _, ok := attrs["data-reactroot"]; ok {
					open = "[data-reactroot]"
				}
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch atom.Lookup(name) {
			case atom.Script, atom.Style, atom.Noscript, atom.Template:
				skip, inline = max(skip-1, 0), false
				continue
			}
			if open != "" {
				p.mount, open = open, ""
			}
		case html.TextToken:
			if skip > 0 {
				if inline && len(bytes.TrimSpace(z.Text())) > 0 {
					p.scripts++
					inline = false
				}
				continue
			}
			t := strings.Join(strings.Fields(string(z.Text())), " ")
			if t != "" && open != "" {
				open = ""
			}
			p.text += len(t)
		}
	}
}

// isCode reports whether a script's type runs as code (not JSON data, a
// template or an import map).
func isCode(typ string) bool {
	switch strings.ToLower(strings.TrimSpace(typ)) {
	case "", "text/javascript", "application/javascript", "module", "text/ecmascript", "application/ecmascript":
		return true
	}
	return false
}
