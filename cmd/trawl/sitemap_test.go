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
	"testing"

	"github.com/trawl-dev/trawl/internal/testsite"
)

// sitemapSite has pages no link reaches: only its sitemaps list them. Its
// robots.txt names a gzip sitemap index, which names an XML sitemap, a
// text one, one that lists a URL outside its folder, one of 60,000 URLs
// on another host, and a 1 GiB gzip bomb.
type sitemapSite struct {
	url  string
	bomb []byte
	hits testsite.Counter
}

func (s *sitemapSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(r.URL.Path)
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
	s := &sitemapSite{bomb: gzipBomb()}
	srv := httptest.NewUnstartedServer(s)
	s.url = "http://" + srv.Listener.Addr().String()
	srv.Start()
	defer srv.Close()
	dir := t.TempDir()
	r := trawl(t, dir, "", "crawl", "--job", "s.db", "--sitemaps", srv.URL+"/")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	hits := s.hits.Hits()
	for _, p := range []string{"/maps/hidden/1", "/maps/hidden/2", "/maps/hidden/3", "/maps/sub/ok", "/maps/private-not"} {
		if hits[p] != 1 {
			t.Errorf("%s, listed only in a sitemap, requested %d times", p, hits[p])
		}
	}
	if hits["/maps/hidden/outside-narrow"] != 0 {
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
	m := regexp.MustCompile(`([0-9.]+)MB resident at the peak`).FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("no peak resident memory in the summary:\n%s", r.stderr)
	}
	if mb, _ := strconv.ParseFloat(m[1], 64); mb > 100 {
		t.Errorf("peak resident %v MB after a 1 GiB sitemap bomb", mb)
	}
	t.Logf("peak resident %s MB with a 1 GiB gzip sitemap bomb (%d bytes compressed)\n%s", m[1], len(s.bomb), r.stderr)
}

// gzipBomb returns a gzip sitemap of 1 GiB uncompressed, about 5 MB: one
// member of "<urlset>" and a megabyte of one entry over and over, then
// that megabyte's member again 1,023 times (a gzip file may hold many
// members; readers read them all).
func gzipBomb() []byte {
	entry := []byte("<url><loc>http://h.test/p</loc></url>")
	unit := bytes.Repeat(entry, (1<<20)/len(entry))
	member := func(data []byte) []byte {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
		zw.Write(data)
		zw.Close()
		return b.Bytes()
	}
	out := member(append([]byte("<urlset>"), unit...))
	rest := member(unit)
	for range 1023 {
		out = append(out, rest...)
	}
	return out
}
