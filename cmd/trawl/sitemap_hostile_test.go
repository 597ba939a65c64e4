package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/internal/testsite"
)

// TestSitemapsHostile reads sitemaps made to hurt: entity expansion
// ("billion laughs"), an external entity naming a local file, indexes
// that point at each other (A → B → A), an index of 2,000 sitemaps, and a
// .gz that is not gzip. The crawl ends promptly, expands nothing, reads no
// local file, follows the loop at most to the index depth, and records
// what it could not read.
func TestSitemapsHostile(t *testing.T) {
	var hits testsite.Counter
	laughs := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
		`<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>` +
		`<urlset><url><loc>http://HOST/laugh/&lol9;</loc></url><url><loc>http://HOST/laugh/plain</loc></url></urlset>`
	external := `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/hostname">]><urlset><url><loc>http://HOST/ext/&xxe;</loc></url></urlset>`
	var big strings.Builder
	big.WriteString("<sitemapindex>")
	for i := range 2000 {
		fmt.Fprintf(&big, "<sitemap><loc>http://HOST/many/%d.xml</loc></sitemap>", i)
	}
	big.WriteString("</sitemapindex>")
	var host string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(r.URL.Path)
		body := ""
		switch p := r.URL.Path; {
		case p == "/robots.txt":
			body = "User-agent: *\nAllow: /\nSitemap: http://HOST/laughs.xml\nSitemap: http://HOST/ext.xml\nSitemap: http://HOST/loop-a.xml\nSitemap: http://HOST/big.xml\nSitemap: http://HOST/fake.xml.gz\n"
		case p == "/laughs.xml":
			body = laughs
		case p == "/ext.xml":
			body = external
		case p == "/loop-a.xml":
			body = "<sitemapindex><sitemap><loc>http://HOST/loop-b.xml</loc></sitemap></sitemapindex>"
		case p == "/loop-b.xml":
			body = "<sitemapindex><sitemap><loc>http://HOST/loop-a.xml</loc></sitemap></sitemapindex>"
		case p == "/big.xml":
			body = big.String()
		case strings.HasPrefix(p, "/many/"):
			body = "<urlset></urlset>"
		case p == "/fake.xml.gz":
			w.Header().Set("Content-Type", "application/gzip")
			body = "this is not gzip at all"
		case p == "/sitemap.xml":
			http.NotFound(w, r)
			return
		default:
			body = "<html><body>a page</body></html>"
		}
		w.Write([]byte(strings.ReplaceAll(body, "HOST", host)))
	}))
	host = srv.Listener.Addr().String() // before the handler can run
	srv.Start()
	defer srv.Close()
	dir := t.TempDir()
	start := time.Now()
	r := trawl(t, dir, "", "crawl", "--job", "s.db", "--sitemaps", "--retries", "0", srv.URL+"/")
	t.Logf("crawl of the hostile sitemaps: %s, exit %d", time.Since(start).Round(time.Millisecond), r.code)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	h := hits.Hits()
	for p, n := range h {
		// Unknown entities are left as they are written: "&xxe;" is no file.
		if strings.HasPrefix(p, "/laugh/lol") || strings.HasPrefix(p, "/ext/") && p != "/ext/&xxe;" {
			t.Errorf("an entity was expanded: %s requested %d times", p, n)
		}
	}
	if h["/laugh/plain"] != 1 {
		t.Errorf("the laughs sitemap's plain URL requested %d times, want once", h["/laugh/plain"])
	}
	if h["/loop-a.xml"] > 2 || h["/loop-b.xml"] > 2 {
		t.Errorf("the index loop: A %d times, B %d times", h["/loop-a.xml"], h["/loop-b.xml"])
	}
	many := 0
	for p := range h {
		if strings.HasPrefix(p, "/many/") {
			many++
		}
	}
	if many != 2000 {
		t.Errorf("%d of the big index's 2,000 sitemaps read", many)
	}
	exp := trawl(t, dir, "", "export", "--no-body", "s.db").stdout
	if !strings.Contains(exp, "fake.xml.gz") || !strings.Contains(exp, "gzip") {
		t.Errorf("the .gz that is not gzip has no record saying so")
	}
}
