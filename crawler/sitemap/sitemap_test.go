package sitemap

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"testing"
)

func mustURL(s string) *url.URL { u, _ := url.Parse(s); return u }

func TestParse(t *testing.T) {
	loc := mustURL("http://h.test/a/sitemap.xml")
	xmlDoc := `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>http://h.test/a/one</loc><lastmod>2026-11-30</lastmod></url>
  <url><loc> http://h.test/a/two?x=1&amp;y=2 </loc></url>
  <url><loc>http://h.test/b/outside</loc></url>
  <url><loc>https://h.test/a/other-scheme</loc></url>
  <url><loc>http://elsewhere.test/a/x</loc></url>
</urlset>`
	m, err := Parse(loc, []byte(xmlDoc))
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{{"http://h.test/a/one", "2026-11-30"}, {"http://h.test/a/two?x=1&y=2", ""}}
	if fmt.Sprint(m.URLs) != fmt.Sprint(want) || m.Outside != 3 {
		t.Errorf("urlset: %v, %d outside; want %v, 3", m.URLs, m.Outside, want)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	fmt.Fprint(zw, `<sitemapindex><sitemap><loc>http://h.test/s1.xml</loc></sitemap><sitemap><loc>http://other.test/s2.xml</loc></sitemap></sitemapindex>`)
	zw.Close()
	m, err = Parse(mustURL("http://h.test/index.xml.gz"), gz.Bytes())
	if err != nil || fmt.Sprint(m.Sitemaps) != "[http://h.test/s1.xml]" {
		t.Errorf("gzip index: %v, %v", m.Sitemaps, err)
	}
	m, err = Parse(mustURL("http://h.test/list.txt"), []byte("\xef\xbb\xbfhttp://h.test/x\n\nhttp://h.test/y\r\n"))
	if err != nil || len(m.URLs) != 2 {
		t.Errorf("text sitemap: %v, %v", m.URLs, err)
	}
}

func TestLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString("<urlset>")
	for i := range 60000 {
		fmt.Fprintf(&b, "<url><loc>http://h.test/p/%d</loc></url>", i)
	}
	b.WriteString("</urlset>")
	m, err := Parse(mustURL("http://h.test/sitemap.xml"), []byte(b.String()))
	if err != nil || len(m.URLs) != MaxURLs || !m.Truncated {
		t.Errorf("60,000 URLs: %d read, truncated %v, %v; want %d and truncated", len(m.URLs), m.Truncated, err, MaxURLs)
	}
	// Gzip bombs of 1 GiB each, a megabyte or so compressed: zeros, and
	// one entry over and over. Neither is ever held.
	entry := []byte("<url><loc>http://h.test/p</loc></url>")
	for name, unit := range map[string][]byte{"zeros": make([]byte, 1<<20), "entries": bytes.Repeat(entry, (1<<20)/len(entry))} {
		head := unit
		if name == "entries" {
			head = append([]byte("<urlset>"), unit...)
		}
		// A gzip file may hold many members: a 1 MB member 1,024 times.
		bomb := member(head)
		rest := member(unit)
		for range 1023 {
			bomb = append(bomb, rest...)
		}
		gz := bytes.NewBuffer(bomb)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m, err := Parse(mustURL("http://h.test/bomb.xml.gz"), gz.Bytes())
		runtime.ReadMemStats(&after)
		if err == nil && !m.Truncated {
			t.Errorf("%s bomb: read whole (%d URLs)", name, len(m.URLs))
		}
		live := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		if churn := int64(after.TotalAlloc - before.TotalAlloc); live > 20<<20 || churn > 100<<20 {
			t.Errorf("%s bomb: %d MB live after reading it, %d MB allocated on the way", name, live>>20, churn>>20)
		}
		runtime.KeepAlive(m)
	}
}

// member returns data compressed as one gzip member.
func member(data []byte) []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
	zw.Write(data)
	zw.Close()
	return b.Bytes()
}
