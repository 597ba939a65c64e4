package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sessionSite sets a session cookie on its first page and wants it on the
// others (403 without); /vip also wants the "vip" cookie a cookies.txt
// gives.
func sessionSite(pages int, served *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		switch {
		case r.URL.Path == "/robots.txt":
			http.NotFound(w, r)
			return
		case r.URL.Path == "/":
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "abc123", Path: "/", HttpOnly: true, MaxAge: 3600})
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<a href="/p/0">start</a> <a href="/vip">vip</a>`)
			return
		}
		if c, err := r.Cookie("session"); err != nil || c.Value != "abc123" {
			http.Error(w, "no session", http.StatusForbidden)
			return
		}
		if r.URL.Path == "/vip" {
			if c, err := r.Cookie("vip"); err != nil || c.Value != "gold" {
				http.Error(w, "not vip", http.StatusForbidden)
				return
			}
		}
		var n int
		fmt.Sscanf(r.URL.Path, "/p/%d", &n)
		time.Sleep(2 * time.Millisecond) // a page takes a little while: time to kill the crawl mid-way
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<a href="/p/%d">next</a>`, (n+1)%pages)
	})
}

func TestCookiesSession(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(sessionSite(300, &served))
	defer srv.Close()
	dir := t.TempDir()
	host := strings.TrimPrefix(srv.URL, "http://")
	txt := filepath.Join(dir, "cookies.txt")
	os.WriteFile(txt, []byte("# Netscape HTTP Cookie File\n"+strings.Split(host, ":")[0]+"\tFALSE\t/\tFALSE\t0\tvip\tgold\n"), 0o644)
	args := []string{"crawl", "--job", "c.db", "--cookies", "--load-cookies", txt, "--depth", "0", "-c", "2", "--per-host", "2", srv.URL + "/"}
	killWhen(t, dir, "", args, func() bool { return served.Load() >= 120 })
	if n := len(storedURLs(t, filepath.Join(dir, "c.db"))); n == 0 || n >= 302 {
		t.Fatalf("after the kill the job holds %d pages: not mid-crawl", n)
	}
	r := trawl(t, dir, "", args...)
	if r.code != 0 {
		t.Fatalf("resume: exit %d\n%s", r.code, r.stderr)
	}
	exp := trawl(t, dir, "", "export", "--no-body", "c.db")
	if n := strings.Count(exp.stdout, `"status":200`); n != 302 || strings.Contains(exp.stdout, `"status":403`) {
		t.Errorf("%d pages with status 200 (want 302: /, /vip and 300 pages), and 403s: %v", n, strings.Contains(exp.stdout, `"status":403`))
	}
	ck := trawl(t, dir, "", "export", "--format", "cookies", "c.db")
	if !strings.Contains(ck.stdout, "#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t") || !strings.Contains(ck.stdout, "\tsession\tabc123") || !strings.Contains(ck.stdout, "\tvip\tgold") {
		t.Errorf("export --format cookies:\n%s", ck.stdout)
	}
	if strings.Contains(exp.stdout, "abc123") {
		t.Errorf("the session cookie's value is in the export (Set-Cookie is a secret)")
	}
	// Without the jar, the session is not kept.
	r = trawl(t, dir, "", "crawl", "--job", "nojar.db", srv.URL+"/")
	if exp := trawl(t, dir, "", "export", "--no-body", "nojar.db"); !strings.Contains(exp.stdout, `"status":403`) {
		t.Errorf("without --cookies the site should refuse its pages:\n%.500s", exp.stdout)
	}
	if r := trawl(t, dir, "", "crawl", "--job", "bad.db", "--load-cookies", filepath.Join(dir, "none.txt"), srv.URL+"/"); r.code != 2 {
		t.Errorf("a missing cookies.txt: exit %d, want 2", r.code)
	}
}

// Cookies made to hurt: 10,000 Set-Cookie headers in one answer and a
// cookie of a megabyte are answers whose headers are too large (an error
// record, not tried again); cookies of 100 KB, and a thousand cookies set
// over many pages, are refused past browsers' bounds, so later requests
// stay small; a damaged cookies.txt is a usage error naming its line.
func TestCookiesHostile(t *testing.T) {
	var mu sync.Mutex
	asked := map[string]int{}
	biggest := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked[r.URL.Path]++
		biggest = max(biggest, len(r.Header.Get("Cookie")))
		mu.Unlock()
		var n int
		switch {
		case r.URL.Path == "/many":
			for i := range 10000 {
				w.Header().Add("Set-Cookie", fmt.Sprintf("c%d=v; Path=/", i))
			}
		case r.URL.Path == "/huge":
			w.Header().Add("Set-Cookie", "huge="+strings.Repeat("x", 1<<20))
		case r.URL.Path == "/fat":
			w.Header().Add("Set-Cookie", "fat="+strings.Repeat("x", 100<<10))
		case strings.HasPrefix(r.URL.Path, "/set/"):
			fmt.Sscanf(r.URL.Path, "/set/%d", &n)
			for i := range 50 {
				w.Header().Add("Set-Cookie", fmt.Sprintf("s%d_%d=v; Path=/", n, i))
			}
		}
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()
	dir := t.TempDir()
	var list strings.Builder
	for _, p := range []string{"/many", "/huge", "/fat"} {
		list.WriteString(srv.URL + p + "\n")
	}
	for i := range 20 { // 1,000 cookies in all
		fmt.Fprintf(&list, "%s/set/%d\n", srv.URL, i)
	}
	list.WriteString(srv.URL + "/last\n")
	r := trawl(t, dir, list.String(), "fetch", "--job", "c.db", "--cookies", "-c", "1", "-")
	if r.code != 3 {
		t.Fatalf("exit %d, want 3 (two URLs failed)\n%s", r.code, r.stderr)
	}
	for _, p := range []string{"/many", "/huge"} {
		if asked[p] != 1 {
			t.Errorf("%s asked %d times: headers too large are final", p, asked[p])
		}
	}
	if !strings.Contains(r.stderr, "response headers over 256 KiB") {
		t.Errorf("no word of the too-large headers:\n%s", r.stderr)
	}
	if biggest > 180*40 {
		t.Errorf("a request carried a Cookie header of %d bytes: the jar keeps at most 180 small cookies a host", biggest)
	}
	os.WriteFile(filepath.Join(dir, "bad.txt"), []byte("# Netscape HTTP Cookie File\nexample.com\tTRUE\n\x00\x00\n"), 0o644)
	r = trawl(t, dir, srv.URL+"/x\n", "fetch", "--job", "d.db", "--load-cookies", "bad.txt", "-")
	if r.code != 2 || !strings.Contains(r.stderr, "bad.txt: line 2") {
		t.Errorf("a damaged cookies.txt: exit %d\n%s", r.code, r.stderr)
	}
}
