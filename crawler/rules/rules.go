// Package rules is the declarative extraction engine: follow and extract
// rules from a job's YAML config (or built in Go), compiled into a
// page.Extractor.
package rules

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"
	"github.com/tidwall/gjson"

	"github.com/trawl-dev/trawl/crawler/links"
	"github.com/trawl-dev/trawl/crawler/page"
	"github.com/trawl-dev/trawl/store"
)

// Rules are a job's declarative extraction: which links to follow, and
// which items to make of which pages. They come from a job's YAML config
// (the keys are the lower-case field names) or are built in Go, and
// Compile makes them a page.Extractor.
type Rules struct {
	// Follow, when not empty, limits the links followed to those these CSS
	// selectors select: the selected link elements themselves and the
	// links inside the selected elements. Empty: every link.
	Follow []string `yaml:"follow" json:"follow"`
	// Extract lists the item rules; a page may match several.
	Extract []Rule `yaml:"extract" json:"extract"`
}

// ErrConfig marks the errors of bad rules. It is crawler.ErrConfig: a bad
// rule is a bad job configuration.
var ErrConfig = errors.New("invalid configuration")

// A Rule makes items of one type from the pages whose URL it matches.
type Rule struct {
	Name  string `yaml:"name" json:"name"`   // the items' type
	Match string `yaml:"match" json:"match"` // regexp on the page's URL; empty matches every page
	// Each, when set, makes an item of every element it selects (a CSS
	// selector), or of every element of the array at a JSON path; fields
	// are then relative to it. Empty: one item a page.
	Each   string           `yaml:"each" json:"each"`
	Fields map[string]Field `yaml:"fields" json:"fields"`
	// Key names the field that identifies an item from one pass over the
	// job to the next (a product's SKU, say): trawl changes compares the
	// items of two passes by it.
	Key string `yaml:"key" json:"key"`
}

// Keys returns the key field of each item type that names one.
func (r Rules) Keys() map[string]string {
	keys := map[string]string{}
	for _, ru := range r.Extract {
		if ru.Key != "" {
			keys[ru.Name] = ru.Key
		}
	}
	return keys
}

// A Field says how to find one value of an item: a CSS Selector for HTML
// pages or a JSON path (gjson syntax, e.g. "data.items.#.name") for JSON
// ones. In YAML, a field given as a plain string is a Selector.
type Field struct {
	Selector string `yaml:"selector" json:"selector"`
	JSON     string `yaml:"json" json:"json"`
	Attr     string `yaml:"attr" json:"attr"`         // an attribute's value instead of the text
	Type     string `yaml:"type" json:"type"`         // text (default: trimmed, spaces collapsed), number, or html (inner HTML)
	All      bool   `yaml:"all" json:"all"`           // a list of every match instead of the first
	URL      bool   `yaml:"url" json:"url"`           // resolve the value against the page's URL
	Required bool   `yaml:"required" json:"required"` // no value makes the page an extraction error
}

// UnmarshalText makes a plain string a Field with that Selector, so that
// `title: "h1.name"` is short for `title: {selector: "h1.name"}`.
func (f *Field) UnmarshalText(text []byte) error {
	*f = Field{Selector: string(text)}
	return nil
}

// RuleSet is compiled Rules; it implements Extractor.
type RuleSet struct {
	follow []cascadia.Selector
	rules  []*rule
}

type rule struct {
	name    string
	match   *regexp.Regexp
	json    bool // fields are JSON paths
	each    string
	eachSel cascadia.Selector
	fields  []field
}

type field struct {
	Field
	name string
	sel  cascadia.Selector
}

// Compile checks and compiles r. Its errors wrap ErrConfig and name
// the rule and field at fault, so that a bad selector, regexp or type is
// found before any request is made.
func Compile(r Rules) (*RuleSet, error) {
	rs := &RuleSet{}
	for _, s := range r.Follow {
		sel, err := cascadia.Compile(s)
		if err != nil {
			return nil, bad("follow: bad CSS selector %q: %v", s, err)
		}
		rs.follow = append(rs.follow, sel)
	}
	names := map[string]bool{}
	for i, ru := range r.Extract {
		if ru.Name == "" {
			return nil, bad("extract rule %d has no name", i+1)
		}
		if names[ru.Name] {
			return nil, bad("extract rule %q is defined twice", ru.Name)
		}
		names[ru.Name] = true
		where := fmt.Sprintf("extract rule %q", ru.Name)
		c := &rule{name: ru.Name, each: ru.Each}
		var err error
		if c.match, err = regexp.Compile(ru.Match); err != nil {
			return nil, bad("%s: bad match regexp: %v", where, err)
		}
		if len(ru.Fields) == 0 {
			return nil, bad("%s has no fields", where)
		}
		if _, ok := ru.Fields[ru.Key]; ru.Key != "" && !ok {
			return nil, bad("%s: key %q is not one of its fields", where, ru.Key)
		}
		kinds := map[bool]bool{}
		for _, name := range slices.Sorted(maps.Keys(ru.Fields)) {
			f, err := compileField(where, name, ru.Fields[name])
			if err != nil {
				return nil, err
			}
			kinds[f.JSON != ""] = true
			c.fields = append(c.fields, f)
		}
		if len(kinds) > 1 {
			return nil, bad("%s mixes CSS selectors and json paths; make two rules", where)
		}
		c.json = kinds[true]
		if ru.Each != "" && !c.json {
			if c.eachSel, err = cascadia.Compile(ru.Each); err != nil {
				return nil, bad("%s: bad each selector %q: %v", where, ru.Each, err)
			}
		}
		rs.rules = append(rs.rules, c)
	}
	return rs, nil
}

// bad returns a configuration error.
func bad(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}

// compileField checks and compiles field name of the rule at where.
func compileField(where, name string, fl Field) (field, error) {
	f := field{Field: fl, name: name}
	at := fmt.Sprintf("%s: field %q", where, name)
	switch {
	case name == "" || store.IsReservedField(name):
		return f, bad("%s: the name is reserved (type, url and fetched_at are set by trawl)", at)
	case (f.Selector == "") == (f.JSON == ""):
		return f, bad("%s: give a selector or a json path (one of them)", at)
	case f.JSON != "" && f.Attr != "":
		return f, bad("%s: attr is for selectors, not json paths", at)
	}
	switch f.Type {
	case "", "text", "number":
	case "html":
		if f.JSON != "" {
			return f, bad("%s: type html is for selectors", at)
		}
	default:
		return f, bad("%s: unknown type %q (want text, number or html)", at, f.Type)
	}
	if f.Selector != "" {
		var err error
		if f.sel, err = cascadia.Compile(f.Selector); err != nil {
			return f, bad("%s: bad CSS selector %q: %v", at, f.Selector, err)
		}
	}
	return f, nil
}

// Extract makes the items of every rule matching p's URL and returns the
// links p's Follow selectors select (every link when there are none).
func (rs *RuleSet) Extract(p *page.Page) ([]store.Item, []string, error) {
	var items []store.Item
	var errs []error
	pageURL := p.URL.String()
	for _, r := range rs.rules {
		if !r.match.MatchString(pageURL) {
			continue
		}
		var got []map[string]any
		var err error
		if r.json {
			got, err = r.fromJSON(p)
		} else {
			got, err = r.fromHTML(p)
		}
		if err != nil {
			errs = append(errs, err)
		}
		for _, fields := range got {
			items = append(items, store.Item{Type: r.name, URL: pageURL, FetchedAt: p.FetchedAt, Fields: fields})
		}
	}
	return items, rs.followed(p), errors.Join(errs...)
}

func (rs *RuleSet) followed(p *page.Page) []string {
	if len(rs.follow) == 0 {
		return p.Links()
	}
	doc := p.HTML()
	if doc == nil {
		return nil
	}
	base := links.Base(doc, p.URL)
	var out []string
	seen := map[string]bool{}
	for _, sel := range rs.follow {
		for _, u := range links.In(doc.FindMatcher(sel), base) {
			if !seen[u] {
				seen[u] = true
				out = append(out, u)
			}
		}
	}
	return out
}

// fromHTML makes r's items of an HTML page; a page that is not HTML has
// none.
func (r *rule) fromHTML(p *page.Page) ([]map[string]any, error) {
	doc := p.HTML()
	if doc == nil {
		return nil, nil
	}
	base := links.Base(doc, p.URL)
	scopes := []*goquery.Selection{doc.Selection}
	if r.eachSel != nil {
		scopes = scopes[:0]
		doc.FindMatcher(r.eachSel).Each(func(_ int, s *goquery.Selection) { scopes = append(scopes, s) })
	}
	return r.items(len(scopes), func(i int, f *field) ([]any, bool) {
		var vals []any
		scopes[i].FindMatcher(f.sel).EachWithBreak(func(_ int, s *goquery.Selection) bool {
			if v, found := f.htmlValue(s, base); found {
				vals = append(vals, v)
			}
			return f.All
		})
		return vals, f.All
	})
}

// fromJSON makes r's items of a JSON page; a page that is not JSON has
// none.
func (r *rule) fromJSON(p *page.Page) ([]map[string]any, error) {
	if !p.IsJSON() && !gjson.ValidBytes(p.Body) {
		return nil, nil
	}
	root := gjson.ParseBytes(p.Body)
	scopes := []gjson.Result{root}
	if r.each != "" {
		scopes = root.Get(r.each).Array()
	}
	return r.items(len(scopes), func(i int, f *field) ([]any, bool) {
		res := scopes[i].Get(f.JSON)
		// A path through "#" makes a list, as does all.
		list := f.All || res.IsArray() && strings.Contains(f.JSON, "#")
		if !res.Exists() {
			return nil, list
		}
		if !res.IsArray() || !list {
			if v, found := f.jsonValue(res, p.URL); found {
				return []any{v}, list
			}
			return nil, list
		}
		var vals []any
		for _, e := range res.Array() {
			if v, found := f.jsonValue(e, p.URL); found {
				vals = append(vals, v)
			}
		}
		return vals, list
	})
}

// items makes n items (one a scope) of the values that values gives each
// field in scope i (and whether they make a list); an item missing a
// required field is left out and reported.
func (r *rule) items(n int, values func(i int, f *field) ([]any, bool)) ([]map[string]any, error) {
	var items []map[string]any
	var errs []error
	for i := range n {
		fields := make(map[string]any, len(r.fields))
		ok := true
		for j := range r.fields {
			f := &r.fields[j]
			vals, list := values(i, f)
			if err := f.set(fields, vals, list); err != nil {
				errs = append(errs, r.missing(*f, i, n))
				ok = false
			}
		}
		if ok {
			items = append(items, fields)
		}
	}
	return items, errors.Join(errs...)
}

var errMissing = errors.New("missing")

// set stores vals as f's value: a list if list, else the first or nil.
// It returns errMissing when a required field has no value.
func (f *field) set(fields map[string]any, vals []any, list bool) error {
	if len(vals) == 0 && f.Required {
		return errMissing
	}
	switch {
	case list:
		if vals == nil {
			vals = []any{}
		}
		fields[f.name] = vals
	case len(vals) > 0:
		fields[f.name] = vals[0]
	default:
		fields[f.name] = nil
	}
	return nil
}

func (r *rule) missing(f field, i, n int) error {
	what := f.Selector
	if f.JSON != "" {
		what = f.JSON
	}
	if n > 1 {
		return fmt.Errorf("rule %q item %d: required field %q (%s) not found", r.name, i+1, f.name, what)
	}
	return fmt.Errorf("rule %q: required field %q (%s) not found", r.name, f.name, what)
}

// htmlValue is f's value in the element s; found is false when it has none.
func (f *field) htmlValue(s *goquery.Selection, base *url.URL) (any, bool) {
	var v string
	switch {
	case f.Attr != "":
		a, ok := s.Attr(f.Attr)
		if !ok {
			return nil, false
		}
		v = strings.TrimSpace(a)
	case f.Type == "html":
		h, err := s.Html()
		if err != nil {
			return nil, false
		}
		return strings.TrimSpace(h), true
	default:
		v = strings.Join(strings.Fields(s.Text()), " ")
	}
	return f.convert(v, base)
}

// jsonValue is f's value of a JSON result.
func (f *field) jsonValue(r gjson.Result, base *url.URL) (any, bool) {
	switch r.Type {
	case gjson.Null:
		return nil, false
	case gjson.String:
		return f.convert(r.String(), base)
	case gjson.Number:
		if f.URL {
			return f.convert(r.Raw, base)
		}
		return r.Float(), true
	default:
		return r.Value(), true
	}
}

// convert applies f's URL and number settings to a string value.
func (f *field) convert(v string, base *url.URL) (any, bool) {
	if f.URL {
		u, err := base.Parse(v)
		if err != nil || v == "" {
			return nil, false
		}
		return u.String(), true
	}
	if f.Type == "number" {
		n, ok := ParseNumber(v)
		return n, ok
	}
	return v, true
}

var notNumber = regexp.MustCompile(`[^0-9.,\-]+`)

// ParseNumber reads the number in a price or count as people write them:
// "$21.99" is 21.99, "1,234.50 €" 1234.5, "21,99 €" 21.99, "1.234,5" 1234.5.
// Of '.' and ',', the last one is the decimal point, unless it is the only
// kind and three digits follow each (then they group thousands).
func ParseNumber(s string) (float64, bool) {
	s = strings.Trim(notNumber.ReplaceAllString(s, ""), ".,")
	if s == "" {
		return 0, false
	}
	dot, comma := strings.LastIndexByte(s, '.'), strings.LastIndexByte(s, ',')
	decimal := byte(0)
	switch {
	case dot >= 0 && comma >= 0:
		decimal = s[max(dot, comma)]
	case dot >= 0 || comma >= 0:
		sep := byte('.')
		if comma >= 0 {
			sep = ','
		}
		groups := strings.Split(s, string(sep))
		thousands := len(groups) > 1 && len(groups[0]) > 0 && len(groups[0]) <= 3
		for _, g := range groups[1:] {
			thousands = thousands && len(g) == 3
		}
		if !thousands || (sep == '.' && len(groups) == 2) {
			decimal = sep
		}
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == decimal:
			b.WriteByte('.')
		case c == '.' || c == ',':
		default:
			b.WriteByte(c)
		}
	}
	n, err := strconv.ParseFloat(b.String(), 64)
	return n, err == nil
}
