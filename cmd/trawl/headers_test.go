package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/trawl-dev/trawl/store/warc"
)

// authSites serves host A, which wants a bearer token and redirects to
// host B, and records the Authorization headers each host received.
type authSites struct {
	a, b string
	mu   sync.Mutex
	got  map[string][]string // host → Authorization values received
}

func newAuthSites(t *testing.T, token string) *authSites {
	t.Helper()
	s := &authSites{got: map[string][]string{}}
	s.b = serveOn(t, "127.0.0.2", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.note("b", r)
		fmt.Fprint(w, "<html><body>landing</body></html>")
	}))
	s.a = serveOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.note("a", r)
		switch {
		case r.URL.Path == "/robots.txt":
			http.NotFound(w, r)
		case r.Header.Get("Authorization") != "Bearer "+token:
			http.Error(w, "token wanted", http.StatusUnauthorized)
		case r.URL.Path == "/away":
			http.Redirect(w, r, s.b+"/landing", http.StatusFound)
		default:
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<html><body><a href="/page">page</a><a href="/away">away</a></body></html>`)
		}
	}))
	return s
}

func (s *authSites) note(host string, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := r.Header.Get("Authorization"); v != "" {
		s.got[host] = append(s.got[host], v)
	}
	if v := r.Header.Get("Cookie"); v != "" {
		s.got[host+"-cookie"] = append(s.got[host+"-cookie"], v)
	}
}

func (s *authSites) received(host string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got[host]
}

// checkNoSecret fails if secret is in any file under dir, or in out.
func checkNoSecret(t *testing.T, dir, secret string, outs ...string) {
	t.Helper()
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			if data, _ := os.ReadFile(p); strings.Contains(string(data), secret) && !strings.HasSuffix(p, ".yaml") && !strings.HasSuffix(p, ".jsonl") && !strings.HasSuffix(p, ".txt") {
				t.Errorf("the secret is in %s", p)
			}
		}
		return nil
	})
	for _, o := range outs {
		if strings.Contains(o, secret) {
			t.Errorf("the secret is in the output:\n%.2000s", o)
		}
	}
}

func TestHeaderSecrets(t *testing.T) {
	const token = "s3cret-t0ken"
	s := newAuthSites(t, token)
	dir := t.TempDir()
	t.Setenv("TRAWL_TEST_TOKEN", token)
	cfg := filepath.Join(dir, "job.yaml")
	os.WriteFile(cfg, []byte("headers:\n  - \"Authorization: Bearer ${TRAWL_TEST_TOKEN}\"\n  - \"X-Team: crawlers\"\n"), 0o644)
	r := trawl(t, dir, "", "crawl", "-v", "--config", cfg, "--job", "cfg.db", "--scope", "any", "--deny-private=false", s.a+"/")
	if r.code != 0 {
		t.Fatalf("crawl: exit %d\n%s", r.code, r.stderr)
	}
	if got := s.received("a"); len(got) < 3 {
		t.Errorf("host A received the token %d times, want at its /, /page and /away", len(got))
	}
	if got := s.received("b"); len(got) != 0 {
		t.Errorf("host B, after a redirect, received Authorization %q", got)
	}
	exp := trawl(t, dir, "", "export", "cfg.db")
	if !strings.Contains(exp.stdout, "/landing") || !strings.Contains(exp.stdout, "/page") {
		t.Errorf("the crawl did not reach its pages:\n%s", exp.stdout)
	}
	checkNoSecret(t, dir, token, r.stderr, exp.stdout)

	// The same with --header, a Cookie header and an archive: the WARC
	// request records show both as [redacted], and host B gets neither.
	r = trawl(t, dir, "", "crawl", "--job", "warc.db", "--scope", "any", "--header", "Authorization: Bearer "+token,
		"--header", "Cookie: team="+token, "--warc", "w", s.a+"/")
	if r.code != 0 {
		t.Fatalf("crawl --warc: exit %d\n%s", r.code, r.stderr)
	}
	if got := s.received("b-cookie"); len(got) != 0 {
		t.Errorf("host B, after a redirect, received Cookie %q", got)
	}
	if got := s.received("a-cookie"); len(got) == 0 {
		t.Error("host A never received the Cookie header")
	}
	blocks := warcBlocks(filepath.Join(dir, "w"))
	if !strings.Contains(blocks, "Authorization: [redacted]") || !strings.Contains(blocks, "Cookie: [redacted]") {
		t.Errorf("the archived requests do not show the secrets redacted:\n%.1500s", blocks)
	}
	checkNoSecret(t, dir, token, blocks)
	checkListSecrets(t, dir, s.a, token)

	for _, bad := range [][]string{
		{"crawl", "--header", "no colon", s.a + "/"},
		{"crawl", "--header", "@" + filepath.Join(dir, "missing"), s.a + "/"},
	} {
		if r := trawl(t, dir, "", bad...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", bad, r.code, r.stderr)
		}
	}
	os.WriteFile(cfg, []byte("headers: [\"Authorization: Bearer ${TRAWL_UNSET_VAR}\"]\n"), 0o644)
	if r := trawl(t, dir, "", "crawl", "--config", cfg, s.a+"/"); r.code != 2 || !strings.Contains(r.stderr, "TRAWL_UNSET_VAR") {
		t.Errorf("an unset ${VAR}: exit %d, want 2 naming it\n%s", r.code, r.stderr)
	}
}

// --proxy sends every request through the proxy it names (a forward proxy
// on loopback here); the proxy's password is not stored.
func TestProxyFlag(t *testing.T) {
	site := newAuthSites(t, "t")
	var mu sync.Mutex
	var seen []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.String()+" "+r.Header.Get("Proxy-Authorization"))
		mu.Unlock()
		out := r.Clone(r.Context())
		out.RequestURI = ""
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer proxy.Close()
	dir := t.TempDir()
	purl := strings.Replace(proxy.URL, "http://", "http://user:pr0xypass@", 1)
	r := trawl(t, dir, site.a+"/one\n"+site.b+"/two\n", "fetch", "--job", "p2.db", "--proxy", purl, "--header", "Authorization: Bearer t")
	if r.code != 0 {
		t.Fatalf("fetch through the proxy: exit %d\n%s", r.code, r.stderr)
	}
	mu.Lock()
	got := strings.Join(seen, "\n")
	mu.Unlock()
	for _, u := range []string{site.a + "/one", site.b + "/two"} {
		if !strings.Contains(got, u+" Basic ") {
			t.Errorf("the proxy did not carry %s with its credentials:\n%s", u, got)
		}
	}
	checkNoSecret(t, dir, "pr0xypass", r.stderr, trawl(t, dir, "", "export", "p2.db").stdout)
	for _, bad := range [][]string{
		{"fetch", "--proxy", "ftp://x:1", "-"},
		{"fetch", "--proxy", purl, "--no-proxy", "-"},
	} {
		if r := trawl(t, dir, "", bad...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2", bad, r.code)
		}
	}
}

// warcBlocks returns the blocks of every record of the WARC files in dir.
func warcBlocks(dir string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "*.warc.gz"))
	var blocks strings.Builder
	for _, f := range files {
		fh, _ := os.Open(f)
		for rd := warc.NewReader(fh); ; {
			rec, err := rd.Next()
			if err != nil {
				break
			}
			blocks.Write(rec.Block)
		}
		fh.Close()
	}
	return blocks.String()
}

// checkListSecrets fetches a list of host a with the token from --header
// @file and from a list line's own header: both reach a, neither is kept.
func checkListSecrets(t *testing.T, dir, a, token string) {
	t.Helper()
	hf := filepath.Join(dir, "headers.txt")
	os.WriteFile(hf, []byte("# secrets\nAuthorization: Bearer "+token+"\n"), 0o644)
	list := filepath.Join(dir, "list.jsonl")
	os.WriteFile(list, []byte(fmt.Sprintf("%s/one\n{\"url\": %q, \"headers\": {\"Authorization\": \"Bearer %s\"}}\n", a, a+"/two", token)), 0o644)
	r := trawl(t, dir, "", "fetch", "-v", "--job", "list.db", "--header", "@"+hf, list)
	if r.code != 0 {
		t.Fatalf("fetch: exit %d\n%s", r.code, r.stderr)
	}
	exp := trawl(t, dir, "", "export", "list.db")
	if strings.Count(exp.stdout, `"status":200`) != 2 || !strings.Contains(exp.stdout, `"Authorization":"[redacted]"`) {
		t.Errorf("want both list lines fetched with the token, the line's header shown redacted:\n%s", exp.stdout)
	}
	checkNoSecret(t, dir, token, r.stderr, exp.stdout)
	// Resumed with the same list, the redacted line still authenticates.
	if r := trawl(t, dir, "", "fetch", "--job", "list.db", "--retry-failed", list); r.code != 0 {
		t.Errorf("rerun: exit %d\n%s", r.code, r.stderr)
	}
}
