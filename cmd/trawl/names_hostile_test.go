package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// echoSite answers every path with a body naming it, and counts requests.
type echoSite struct {
	mu   sync.Mutex
	hits map[string]int
}

func (s *echoSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.hits[r.URL.EscapedPath()]++
	s.mu.Unlock()
	fmt.Fprintf(w, "body of %s", r.URL.EscapedPath())
}

// A list of two million repeats of one URL and lines with NUL bytes: the
// URL is fetched once, a line of NULs is a skipped line, a NUL inside a
// URL is escaped as a browser would.
func TestListHostile(t *testing.T) {
	site := &echoSite{hits: map[string]int{}}
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := t.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, "%s/a\x00b\n\x00\x00\x00\n", srv.URL)
	b.WriteString(strings.Repeat(srv.URL+"/same\n", 2_000_000))
	os.WriteFile(filepath.Join(dir, "list.txt"), []byte(b.String()), 0o644)
	r := trawl(t, dir, "", "fetch", "--job", "l.db", "list.txt")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "list.txt:2: bad URL") || !strings.Contains(r.stderr, "1999999 repeats dropped") {
		t.Errorf("the NUL line or the repeats not reported:\n%s", r.stderr)
	}
	if site.hits["/same"] != 1 || site.hits["/a%00b"] != 1 {
		t.Errorf("requests %v, want /same and /a%%00b once each", site.hits)
	}
}

// Download names made to clash or to break a file system: two URLs that
// differ only by case, or by Unicode normalisation, get two files that
// stay two on a case-insensitive, normalising file system (macOS,
// Windows); a segment over 255 bytes is cut short with a hash; Windows
// reserved names and dot segments are made safe. No body is lost.
func TestOutDirNamesHostile(t *testing.T) {
	site := &echoSite{hits: map[string]int{}}
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := t.TempDir()
	paths := []string{"/Case", "/case", "/caf%C3%A9", "/cafe%CC%81", "/a/" + strings.Repeat("s", 300), "/a/" + strings.Repeat("s", 299) + "t",
		"/CON", "/d/nul.html", "/aux.txt", "/x/../y", "/%2e%2e/etc"}
	var list strings.Builder
	for _, p := range paths {
		list.WriteString(srv.URL + p + "\n")
	}
	r := trawl(t, dir, list.String(), "fetch", "--job", "o.db", "--out-dir", "out", "-")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	seen := map[string]string{} // folded name → name
	bodies := map[string]bool{}
	err := filepath.WalkDir(filepath.Join(dir, "out"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(p, ".partial") {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join(dir, "out"), p)
		for _, seg := range strings.Split(rel, string(filepath.Separator)) {
			if len(seg) > 255 {
				t.Errorf("%s: a segment of %d bytes", rel, len(seg))
			}
			switch base, _, _ := strings.Cut(strings.ToUpper(seg), "."); base {
			case "CON", "NUL", "AUX", "PRN", "COM1", "LPT1":
				t.Errorf("%s: a Windows reserved name", rel)
			}
		}
		f := strings.ToLower(norm.NFC.String(rel))
		if other, ok := seen[f]; ok {
			t.Errorf("%s and %s are one file on a case-insensitive, normalising file system", rel, other)
		}
		seen[f] = rel
		data, _ := os.ReadFile(p)
		bodies[string(data)] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	delete(site.hits, "/robots.txt")
	for path := range site.hits {
		if !bodies["body of "+path] {
			t.Errorf("the body of %s is in no file", path)
		}
	}
	if len(bodies) != len(site.hits) || len(site.hits) < len(paths)-2 {
		t.Errorf("%d files for %d URLs fetched (%v)", len(bodies), len(site.hits), site.hits)
	}
}
