package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// sitemapSite has pages no link reaches: only its sitemaps list them. Its
// robots.txt names a gzip sitemap index, which names an XML sitemap, a
// text one, one that lists a URL outside its folder, one of 60,000 URLs
// on another host, and a 1 GiB gzip bomb.
type sitemapSite struct {
	url  string
	bomb []byte
	mu   sync.Mutex
	hits map[string]int
}

func (s *sitemapSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.hits[r.URL.Path]++
	s.mu.Unlock()
	gz := func(body string) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(body))
		zw.Close()
		return b.Bytes()
	}
	switch p := r.URL.Path; {
	case p == "/robots.txt":
		fmt.Fprintf(w, "User-agent: *\nDisallow: /private/\nSitemap: %s/maps/index.xml.gz\nSitemap: %s/bomb.xml.gz\n", s.url, s.url)
	case p == "/maps/index.xml.gz":
		w.Header().Set("Content-Type", "application/gzip")
		w.Write(gz(fmt.Sprintf(`<sitemapindex><sitemap><loc>%[1]s/maps/pages.xml</loc></sitemap>
<sitemap><loc>%[1]s/maps/more.txt</loc></sitemap><sitemap><loc>%[1]s/maps/sub/narrow.xml</loc></sitemap>
<sitemap><loc>%[1]s/maps/big.xml</loc></sitemap></sitemapindex>`, s.url)))
	case p == "/maps/pages.xml":
		fmt.Fprintf(w, `<urlset><url><loc>%[1]s/maps/hidden/1</loc><lastmod>2026-11-30</lastmod></url>
<url><loc>%[1]s/maps/hidden/2</loc></url><url><loc>%[1]s/maps/private-not</loc></url></urlset>`, s.url)
	case p == "/maps/more.txt":
		fmt.Fprintf(w, "%s/maps/hidden/3\n", s.url)
	case p == "/maps/sub/narrow.xml":
		fmt.Fprintf(w, "<urlset><url><loc>%[1]s/maps/sub/ok</loc></url><url><loc>%[1]s/maps/hidden/outside-narrow</loc></url></urlset>", s.url)
	case p == "/maps/big.xml":
		var b strings.Builder
		b.WriteString("<urlset>")
		for i := range 60000 {
			fmt.Fprintf(&b, "<url><loc>http://elsewhere.test/maps/%d</loc></url>", i)
		}
		b.WriteString("</urlset>")
		w.Write([]byte(b.String()))
	case p == "/bomb.xml.gz":
		w.Header().Set("Content-Type", "application/gzip")
		w.Write(s.bomb)
	case p == "/sitemap.xml":
		http.NotFound(w, r)
	default:
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body>a page</body></html>")
	}
}

func TestSitemaps(t *testing.T) {
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestSpeed)
	entry := []byte("<url><loc>http://h.test/p</loc></url>")
	zw.Write([]byte("<urlset>"))
	unit := bytes.Repeat(entry, (1<<20)/len(entry))
	for range 1024 {
		zw.Write(unit)
	}
	zw.Close()
	s := &sitemapSite{hits: map[string]int{}, bomb: bomb.Bytes()}
	srv := httptest.NewServer(s)
	defer srv.Close()
	s.url = srv.URL
	dir := t.TempDir()
	r := trawl(t, dir, "", "crawl", "--job", "s.db", "--sitemaps", srv.URL+"/")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, p := range []string{"/maps/hidden/1", "/maps/hidden/2", "/maps/hidden/3", "/maps/sub/ok", "/maps/private-not"} {
		if s.hits[p] != 1 {
			t.Errorf("%s, listed only in a sitemap, requested %d times", p, s.hits[p])
		}
	}
	if s.hits["/maps/hidden/outside-narrow"] != 0 {
		t.Error("a URL outside its sitemap's folder was fetched")
	}
	exp := trawl(t, dir, "", "export", "--no-body", "s.db").stdout
	if !strings.Contains(exp, `"lastmod":"2026-11-30"`) {
		t.Errorf("the sitemap's lastmod is not on the page's record:\n%s", exp)
	}
	if !strings.Contains(exp, "more than 50000 URLs; the first 50000 read") {
		t.Errorf("the 60,000-URL sitemap is not reported cut:\n%s", exp)
	}
	if !strings.Contains(exp, "sitemap larger than 50 MB") && !strings.Contains(exp, "bomb.xml.gz") {
		t.Errorf("the bomb sitemap has no record:\n%s", exp)
	}
	m := regexp.MustCompile(`peak resident ([0-9.]+)MB`).FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("no peak resident memory in the summary:\n%s", r.stderr)
	}
	if mb, _ := strconv.ParseFloat(m[1], 64); mb > 80 {
		t.Errorf("peak resident %v MB after a 1 GiB sitemap bomb", mb)
	}
	t.Logf("peak resident %s MB with a 1 GiB gzip sitemap bomb", m[1])
}
