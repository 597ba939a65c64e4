// Package sitemap reads sitemaps (sitemaps.org): XML url sets and sitemap
// indexes, and plain-text lists, gzip-compressed or not, as a stream of
// tokens (never the whole document in memory), within the protocol's
// limits: 50,000 URLs and 50 MB uncompressed a file.
package sitemap

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
)

// The protocol's limits of one sitemap file.
const (
	MaxURLs  = 50_000
	MaxBytes = 50 << 20
	MaxDepth = 3 // sitemap indexes followed at most this deep
)

// An Entry is one URL a sitemap lists.
type Entry struct {
	Loc     string
	Lastmod string // as the sitemap gives it, if it does
}

// A Map is what a sitemap file holds.
type Map struct {
	URLs     []Entry  // of a url set or a text sitemap, within the location rule
	Sitemaps []string // of a sitemap index
	// Truncated says the file listed more than MaxURLs entries, or more
	// than MaxBytes uncompressed: only the first were read.
	Truncated bool
	Outside   int // URLs dropped by the location rule
	entries   int // read, kept or not
}

// Note says, for the sitemap's record, what was left out of it, given
// Parse's error: "" when nothing was.
func (m *Map) Note(err error) string {
	var notes []string
	switch {
	case err != nil:
		notes = append(notes, err.Error())
	case m.Truncated:
		notes = append(notes, fmt.Sprintf("sitemap: more than %d URLs; the first %d read", MaxURLs, MaxURLs))
	}
	if m.Outside > 0 {
		notes = append(notes, fmt.Sprintf("sitemap: %d URLs outside its location dropped", m.Outside))
	}
	return strings.Join(notes, "; ")
}

// Lastmods keep what sitemaps said of URLs, until their pages are saved.
// They are safe for concurrent use.
type Lastmods struct {
	mu sync.Mutex
	m  map[string]string
}

// Put keeps what a sitemap said of u.
func (l *Lastmods) Put(u, lastmod string) {
	l.mu.Lock()
	if l.m == nil {
		l.m = make(map[string]string)
	}
	l.m[u] = lastmod
	l.mu.Unlock()
}

// Take returns (and forgets) what a sitemap said of u.
func (l *Lastmods) Take(u string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.m[u]
	if ok {
		delete(l.m, u)
	}
	return v
}

// ErrTooLarge is wrapped when a file is larger than MaxBytes uncompressed.
var ErrTooLarge = errors.New("sitemap larger than 50 MB uncompressed")

// Parse reads the sitemap at loc from body (gzip is recognised by its
// magic bytes). URLs outside the sitemap's location (a sitemap at
// /a/sitemap.xml lists only URLs under /a/, on its own scheme and host)
// are dropped, as the protocol says.
func Parse(loc *url.URL, body []byte) (*Map, error) {
	var r io.Reader = bytes.NewReader(body)
	if len(body) >= 2 && body[0] == 0x1f && body[1] == 0x8b {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("sitemap: bad gzip: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	lr := &limited{r: r, n: MaxBytes}
	br := bufio.NewReader(lr)
	m := &Map{}
	var err error
	if xmlish(br) {
		err = parseXML(br, loc, m)
	} else {
		err = parseText(br, loc, m)
	}
	if lr.over {
		m.Truncated = true
		return m, fmt.Errorf("%w: the first %d URLs read", ErrTooLarge, len(m.URLs)+len(m.Sitemaps))
	}
	return m, err
}

// limited reads at most n bytes, and says whether there were more.
type limited struct {
	r    io.Reader
	n    int64
	over bool
}

func (l *limited) Read(p []byte) (int, error) {
	if l.n <= 0 {
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n > 0 {
			l.over = true
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// xmlish reports whether the stream starts (after a BOM and white space)
// with '<'.
func xmlish(br *bufio.Reader) bool {
	head, _ := br.Peek(512)
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	head = bytes.TrimLeft(head, " \t\r\n")
	return len(head) > 0 && head[0] == '<'
}

// add keeps one URL if it is within the location rule and the count.
func (m *Map) add(loc *url.URL, raw, lastmod string, index bool) bool {
	if m.entries >= MaxURLs {
		m.Truncated = true
		return false
	}
	m.entries++
	u, err := loc.Parse(strings.TrimSpace(strings.TrimPrefix(raw, "\ufeff")))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return true
	}
	if index {
		if u.Host == loc.Host {
			m.Sitemaps = append(m.Sitemaps, u.String())
		}
		return true
	}
	if !Within(loc, u) {
		m.Outside++
		return true
	}
	m.URLs = append(m.URLs, Entry{Loc: u.String(), Lastmod: strings.TrimSpace(lastmod)})
	return true
}

// Within reports whether u is within the location of the sitemap at loc:
// same scheme and host, under the sitemap's folder.
func Within(loc, u *url.URL) bool {
	dir := loc.Path[:strings.LastIndex(loc.Path, "/")+1]
	if dir == "" {
		dir = "/"
	}
	return u.Scheme == loc.Scheme && strings.EqualFold(u.Host, loc.Host) && strings.HasPrefix(u.Path, dir)
}

// parseXML reads a urlset or a sitemapindex token by token.
func parseXML(r io.Reader, loc *url.URL, m *Map) error {
	d := xml.NewDecoder(r)
	d.Strict = false
	var index, inEntry bool
	var field string
	var cur Entry
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("sitemap: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "sitemapindex":
				index = true
			case "url", "sitemap":
				inEntry, cur = true, Entry{}
			case "loc", "lastmod":
				if inEntry {
					field = t.Name.Local
					text.Reset()
				}
			}
		case xml.CharData:
			if field != "" && text.Len() < 8<<10 {
				text.Write(t)
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "loc":
				cur.Loc, field = text.String(), ""
			case "lastmod":
				cur.Lastmod, field = text.String(), ""
			case "url", "sitemap":
				inEntry = false
				if cur.Loc != "" && !m.add(loc, cur.Loc, cur.Lastmod, index) {
					return nil
				}
			}
		}
	}
}

// parseText reads a text sitemap: one URL a line.
func parseText(r io.Reader, loc *url.URL, m *Map) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 64<<10)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !m.add(loc, line, "", false) {
			return nil
		}
	}
	return sc.Err()
}
