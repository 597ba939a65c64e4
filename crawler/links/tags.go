package links

import (
	"bytes"

	"golang.org/x/net/html"
)

// tags walks the start tags of an HTML byte slice exactly as the
// golang.org/x/net/html tokenizer splits it (the same tags, names and
// attributes, raw text, script escapes, comments and bogus comments alike)
// without its per-byte reads and buffer copies: text between tags is
// skipped with bytes.IndexByte, and a tag is parsed in place. It allocates
// nothing but its attribute list. FuzzTagsMatchTokenizer holds it to the
// tokenizer.
type tags struct {
	b     []byte
	pos   int
	raw   string // the raw text element just opened ("" for none)
	start int    // of the current tag's "<"
	name  span   // of the current tag, not lower-cased
	attrs []attr // of the current tag, first of each key only

	// only, if set, are the attribute keys kept (lower case): a tag of
	// a million attributes then keeps at most len(only).
	only []string
}

type span struct{ start, end int }

type attr struct{ key, val span }

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f'
}

func isLetter(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// lowerIs reports whether b, lower-cased in ASCII as the tokenizer does,
// is s (which is lower case).
func lowerIs(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// rawTags are the elements whose content the tokenizer reads as raw text.
var rawTags = []string{"iframe", "noembed", "noframes", "noscript", "plaintext", "script", "style", "textarea", "title", "xmp"}

// next moves to the next start tag (or self-closing tag), and reports
// whether there is one.
func (t *tags) next() bool {
	b := t.b
	if t.raw != "" {
		t.skipRaw()
	}
	for t.pos < len(b) {
		i := bytes.IndexByte(b[t.pos:], '<')
		if i < 0 || t.pos+i+1 >= len(b) {
			t.pos = len(b)
			return false
		}
		lt := t.pos + i
		c := b[lt+1]
		switch {
		case isLetter(c):
			t.start = lt
			t.pos = lt + 1
			if !t.readTag(true) {
				t.pos = len(b)
				return false
			}
			for _, r := range rawTags {
				if lowerIs(b[t.name.start:t.name.end], r) {
					t.raw = r
					break
				}
			}
			return true
		case c == '/':
			t.pos = lt + 2
			if t.pos >= len(b) {
				return false
			}
			switch c := b[t.pos]; {
			case c == '>': // "</>" is dropped
				t.pos++
			case isLetter(c):
				if !t.readTag(false) {
					t.pos = len(b)
					return false
				}
			default:
				t.untilCloseAngle()
			}
		case c == '!':
			t.pos = lt + 2
			if t.pos+1 < len(b) && b[t.pos] == '-' && b[t.pos+1] == '-' {
				t.pos += 2
				t.comment()
			} else { // a doctype or a bogus comment: either ends at the next ">"
				t.untilCloseAngle()
			}
		case c == '?':
			t.pos = lt + 1
			t.untilCloseAngle()
		default: // text: the next character may start a tag
			t.pos = lt + 1
		}
	}
	return false
}

// untilCloseAngle moves past the next ">", or to the end.
func (t *tags) untilCloseAngle() {
	if i := bytes.IndexByte(t.b[t.pos:], '>'); i >= 0 {
		t.pos += i + 1
	} else {
		t.pos = len(t.b)
	}
}

// comment moves past a comment whose "<!--" is behind t.pos: past its
// "-->" or "--!>" (or a ">" right after the opening dashes), or to the end.
func (t *tags) comment() {
	b := t.b
	dashes, beginning := 0, true
	for t.pos < len(b) {
		c := b[t.pos]
		t.pos++
		switch c {
		case '-':
			dashes++
			continue
		case '>':
			if dashes >= 2 || beginning {
				return
			}
		case '!':
			if dashes >= 2 {
				if t.pos >= len(b) {
					return
				}
				c = b[t.pos]
				t.pos++
				if c == '>' {
					return
				}
				if c == '-' {
					dashes, beginning = 1, false
					continue
				}
			}
		}
		dashes, beginning = 0, false
	}
}

// skipWhite moves past white space, reporting false at the end.
func (t *tags) skipWhite() bool {
	for t.pos < len(t.b) && isSpace(t.b[t.pos]) {
		t.pos++
	}
	return t.pos < len(t.b)
}

// readTag reads a tag from its name (at t.pos) past its ">", keeping its
// attributes if keep. It reports false when the input ends first: the
// tokenizer then makes no tag of it.
func (t *tags) readTag(keep bool) bool {
	b := t.b
	t.attrs = t.attrs[:0]
	t.name.start = t.pos
	for t.pos < len(b) && !isSpace(b[t.pos]) && b[t.pos] != '/' && b[t.pos] != '>' {
		t.pos++
	}
	t.name.end = t.pos
	if t.pos < len(b) && isSpace(b[t.pos]) {
		t.pos++
	}
	if !t.skipWhite() {
		return false
	}
	for {
		if b[t.pos] == '>' {
			t.pos++
			return true
		}
		var a attr
		// The attribute's key: an "=" is part of it only as its first byte.
		a.key.start = t.pos
		for t.pos < len(b) {
			c := b[t.pos]
			if isSpace(c) || c == '/' || c == '>' || c == '=' && t.pos != a.key.start {
				break
			}
			t.pos++
		}
		a.key.end = t.pos
		// Its value, if an "=" follows.
		a.val = span{t.pos, t.pos}
		if t.skipWhite() {
			switch b[t.pos] {
			case '/':
				t.pos++
			case '=':
				t.pos++
				if t.skipWhite() && b[t.pos] != '>' {
					if q := b[t.pos]; q == '"' || q == '\'' {
						t.pos++
						a.val.start = t.pos
						if i := bytes.IndexByte(b[t.pos:], q); i >= 0 {
							a.val.end = t.pos + i
							t.pos += i + 1
						} else {
							t.pos = len(b)
						}
					} else {
						a.val.start = t.pos
						for t.pos < len(b) && !isSpace(b[t.pos]) && b[t.pos] != '>' {
							t.pos++
						}
						a.val.end = t.pos
					}
				}
			}
		}
		if keep && a.key.end > a.key.start && t.wanted(b[a.key.start:a.key.end]) {
			t.attrs = append(t.attrs, a)
		}
		if !t.skipWhite() {
			return false
		}
	}
}

// wanted reports whether attribute key is to be kept: one of only (if
// set), and not a key the tag already has.
func (t *tags) wanted(key []byte) bool {
	if t.only == nil {
		return !t.has(key)
	}
	for _, k := range t.only {
		if lowerIs(key, k) {
			return !t.has(key)
		}
	}
	return false
}

// has reports whether the current tag already has attribute key, compared
// as the tokenizer does: lower-cased in ASCII.
func (t *tags) has(key []byte) bool {
	for _, a := range t.attrs {
		k := t.b[a.key.start:a.key.end]
		if len(k) == len(key) && asciiLowerEqual(k, key) {
			return true
		}
	}
	return false
}

func asciiLowerEqual(a, b []byte) bool {
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// attr returns the value of the current tag's attribute key (lower case),
// decoded as the tokenizer's TagAttr decodes it, and whether it has one.
func (t *tags) attr(key string) ([]byte, bool) {
	for _, a := range t.attrs {
		if !lowerIs(t.b[a.key.start:a.key.end], key) {
			continue
		}
		v := t.b[a.val.start:a.val.end]
		if bytes.IndexByte(v, 0) < 0 && bytes.IndexByte(v, '\r') < 0 {
			if bytes.IndexByte(v, '&') < 0 {
				return v, true
			}
			if n := bytes.Count(v, []byte("&")); n == bytes.Count(v, []byte("&amp;")) {
				return bytes.ReplaceAll(v, []byte("&amp;"), []byte("&")), true
			}
		}
		return t.slowAttr(key), true
	}
	return nil, false
}

// slowAttr decodes an attribute value holding character references, NULs
// or carriage returns with the tokenizer itself, run on the tag alone: a
// tag reads the same out of its page as in it.
func (t *tags) slowAttr(key string) []byte {
	z := html.NewTokenizer(bytes.NewReader(t.b[t.start:t.pos]))
	z.Next()
	for more := true; more; {
		var k, v []byte
		k, v, more = z.TagAttr()
		if string(k) == key {
			return v
		}
	}
	return nil
}

// skipRaw moves past the text of the raw text element just opened: to
// its end tag, or to the end of the input.
func (t *tags) skipRaw() {
	switch t.raw {
	case "plaintext":
		t.pos = len(t.b)
	case "script":
		t.script()
	default:
		t.pos = t.rawEnd(t.pos)
	}
	t.raw = ""
}

// rawEnd returns where the end tag of t.raw (case-insensitive, followed
// by white space, "/" or ">") first starts at or after from, or the end
// of the input.
func (t *tags) rawEnd(from int) int {
	b := t.b
	for p := from; ; {
		i := bytes.Index(b[p:], []byte("</"))
		if i < 0 {
			return len(b)
		}
		p += i
		if t.isRawEnd(p) {
			return p
		}
		p++
	}
}

// isRawEnd reports whether b[p:] starts with "</", the raw text element's
// name, and a white space, "/" or ">".
func (t *tags) isRawEnd(p int) bool {
	b, name := t.b, t.raw
	e := p + 2 + len(name)
	return e < len(b) && b[p] == '<' && b[p+1] == '/' && lowerIs(b[p+2:e], name) && (isSpace(b[e]) || b[e] == '/' || b[e] == '>')
}

// The tokenizer's states inside a script's text.
const (
	scriptData = iota
	escaped
	escapedDash
	escapedDashDash
	double
	doubleDash
	doubleDashDash
)

// script moves past a script's text, following the tokenizer's states for
// "<!--" escapes and "<script" inside them.
func (t *tags) script() {
	p, state, done := t.pos, scriptData, false
	for p < len(t.b) && !done {
		switch state {
		case scriptData:
			p, state, done = t.scriptText(p)
		case escaped, escapedDash, escapedDashDash:
			p, state, done = t.scriptEscaped(p, state)
		default:
			p, state = t.scriptDouble(p, state)
		}
	}
	t.pos = p
}

// at reports whether b[i] is c.
func (t *tags) at(i int, c byte) bool { return i < len(t.b) && t.b[i] == c }

// scriptText is the script data state: up to the end tag, or into an
// escape at "<!--".
func (t *tags) scriptText(p int) (int, int, bool) {
	b := t.b
	i := bytes.IndexByte(b[p:], '<')
	if i < 0 {
		return len(b), scriptData, true
	}
	p += i
	if t.isRawEnd(p) {
		return p, scriptData, true
	}
	p++
	if t.at(p, '!') && t.at(p+1, '-') && t.at(p+2, '-') {
		return p + 3, escapedDashDash, false
	}
	return p, scriptData, false
}

// scriptEscaped is one byte of the escaped states.
func (t *tags) scriptEscaped(p, state int) (int, int, bool) {
	b := t.b
	c := b[p]
	p++
	switch c {
	case '-':
		if state == escaped {
			return p, escapedDash, false
		}
		return p, escapedDashDash, false
	case '>':
		if state == escapedDashDash {
			return p, scriptData, false
		}
		return p, escaped, false
	case '<':
		q := p - 1
		switch {
		case t.isRawEnd(q):
			return q, state, true
		case t.at(p, '/'):
			return p + 1, escaped, false // "</" but not the end tag: escaped text
		case p < len(b) && isLetter(b[p]):
			e := p + len("script")
			if e < len(b) && lowerIs(b[p:e], "script") && (isSpace(b[e]) || b[e] == '/' || b[e] == '>') {
				return e + 1, double, false
			}
			return p, escaped, false
		}
		return p, scriptData, false
	}
	return p, escaped, false
}

// scriptDouble is one byte of the double-escaped states.
func (t *tags) scriptDouble(p, state int) (int, int) {
	c := t.b[p]
	p++
	switch c {
	case '-':
		if state == double {
			return p, doubleDash
		}
		return p, doubleDashDash
	case '>':
		if state == doubleDashDash {
			return p, scriptData
		}
		return p, double
	case '<':
		if t.isRawEnd(p - 1) {
			return p + len("/script") + 1, escaped
		}
		if t.at(p, '/') {
			p++
		}
		return p, double
	}
	return p, double
}
