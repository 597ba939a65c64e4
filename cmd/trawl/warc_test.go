package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/internal/testsite"
	"github.com/trawl-dev/trawl/store"
	"github.com/trawl-dev/trawl/store/warc"
)

// archived is what checkWARCs found: the response and revisit records of
// each target URI.
type archived struct {
	responses map[string]int
	revisits  map[string]int
	records   int
	files     []string
}

// checkWARCs reads every file in dir with the Go reader: one gzip member a
// record, the mandatory fields, block digests, payload digests over the
// entity without its chunked framing, request and response linked, and
// each page's payload decoding to the bytes the job stored.
func checkWARCs(t *testing.T, dir string, st *store.Store) archived {
	t.Helper()
	a := archived{responses: map[string]int{}, revisits: map[string]int{}}
	if open, _ := filepath.Glob(filepath.Join(dir, "*.open")); len(open) > 0 {
		t.Errorf("files left open: %v", open)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.warc.gz"))
	if len(files) == 0 {
		t.Fatalf("no WARC files in %s", dir)
	}
	a.files = files
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		r := warc.NewReader(f)
		first := true
		var req *warc.Record // the request record before, awaiting its response
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", filepath.Base(path), err)
			}
			a.records++
			checkRecord(t, path, rec, first, st, &a)
			first = false
			switch rec.Type() {
			case "request":
				req = rec
			case "response", "revisit":
				if req == nil || rec.Header.Get("WARC-Concurrent-To") != req.Header.Get("WARC-Record-ID") ||
					req.Header.Get("WARC-Concurrent-To") != rec.Header.Get("WARC-Record-ID") ||
					req.Header.Get("WARC-Target-URI") != rec.Header.Get("WARC-Target-URI") {
					t.Errorf("%s: the %s of %s is not linked to its request by WARC-Concurrent-To", filepath.Base(path), rec.Type(), rec.Header.Get("WARC-Target-URI"))
				}
				req = nil
			}
		}
		f.Close()
	}
	return a
}

func checkRecord(t *testing.T, path string, rec *warc.Record, first bool, st *store.Store, a *archived) {
	t.Helper()
	name := filepath.Base(path)
	for _, f := range []string{"WARC-Type", "WARC-Record-ID", "WARC-Date", "Content-Length", "WARC-Block-Digest"} {
		if rec.Header.Get(f) == "" {
			t.Errorf("%s: a %s record without %s", name, rec.Type(), f)
		}
	}
	if rec.Version != "WARC/1.1" {
		t.Errorf("%s: version %q", name, rec.Version)
	}
	if first != (rec.Type() == "warcinfo") {
		t.Errorf("%s: record at %d is %s (a file starts with warcinfo, and has one)", name, rec.Offset, rec.Type())
	}
	h := warc.NewHash()
	h.Write(rec.Block)
	if got := warc.Digest(h); got != rec.Header.Get("WARC-Block-Digest") {
		t.Errorf("%s: block digest %s, recomputed %s", name, rec.Header.Get("WARC-Block-Digest"), got)
	}
	uri := rec.Header.Get("WARC-Target-URI")
	switch rec.Type() {
	case "warcinfo":
		return
	case "request":
		if !strings.HasPrefix(string(rec.Block), "GET ") || rec.Header.Get("WARC-Concurrent-To") == "" {
			t.Errorf("%s: request record of %s: %.40q", name, uri, rec.Block)
		}
		return
	case "revisit":
		a.revisits[uri]++
		if rec.Header.Get("WARC-Refers-To-Target-URI") == "" || rec.Header.Get("WARC-Refers-To-Date") == "" ||
			!strings.HasSuffix(rec.Header.Get("WARC-Profile"), "/revisit/identical-payload-digest") {
			t.Errorf("%s: revisit of %s lacks its profile or what it refers to: %v", name, uri, rec.Header)
		}
		return
	case "response":
	default:
		t.Errorf("%s: unexpected %s record", name, rec.Type())
		return
	}
	a.responses[uri]++
	if strings.ContainsAny(uri, "<>") || rec.Header.Get("WARC-IP-Address") == "" || rec.Header.Get("WARC-Concurrent-To") == "" {
		t.Errorf("%s: response of %q lacks its IP or request, or has brackets", name, uri)
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(rec.Block)), nil)
	if err != nil {
		t.Fatalf("%s: response of %s: %v", name, uri, err)
	}
	entity, err := io.ReadAll(resp.Body) // chunked framing removed, Content-Encoding kept
	if err != nil {
		t.Fatalf("%s: response body of %s: %v", name, uri, err)
	}
	ph := warc.NewHash()
	ph.Write(entity)
	if got := warc.Digest(ph); got != rec.Header.Get("WARC-Payload-Digest") {
		t.Errorf("%s: payload digest of %s is %s, recomputed %s", name, uri, rec.Header.Get("WARC-Payload-Digest"), got)
	}
	if strings.HasPrefix(uri, "http") && strings.Contains(uri, "/a/") {
		if len(resp.TransferEncoding) == 0 || resp.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("%s: page %s archived without its chunked framing or its gzip encoding (%v, %q)", name, uri, resp.TransferEncoding, resp.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(entity))
		if err != nil {
			t.Fatalf("%s: %s: %v", name, uri, err)
		}
		page, _ := io.ReadAll(zr)
		if st != nil {
			if jr, err := st.Get(uri); err == nil && jr != nil {
				if body, err := st.Body(jr); err == nil && !bytes.Equal(body, page) {
					t.Errorf("%s: %s decodes to %d bytes, the job holds %d others", name, uri, len(page), len(body))
				}
			}
		}
	}
}

// warcio returns the outside WARC reader (webrecorder's warcio, from
// npm), or skips (fails where TRAWL_REQUIRE_REAL is set).
func warcio(t *testing.T) string {
	if p := os.Getenv("TRAWL_WARCIO"); p != "" {
		return p
	}
	if p, err := exec.LookPath("warcio"); err == nil {
		return p
	}
	msg := "no warcio: npm install warcio, then set TRAWL_WARCIO=node_modules/.bin/warcio"
	if os.Getenv("TRAWL_REQUIRE_REAL") != "" {
		t.Fatal(msg + " (TRAWL_REQUIRE_REAL is set)")
	}
	t.Skip(msg)
	return ""
}

// indexWARCs runs warcio cdx-index over the files and returns its lines.
func indexWARCs(t *testing.T, files []string) []string {
	t.Helper()
	out, err := exec.Command(warcio(t), append([]string{"cdx-index"}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("warcio cdx-index: %v\n%s", err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func TestWARCArchive(t *testing.T) {
	site := &testsite.Archive{Pages: 20, Filler: 3000}
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := t.TempDir()
	job := filepath.Join(dir, "job.db")
	r := trawl(t, dir, "", "crawl", "--job", job, "--warc", "w", "--warc-cdx", "--requisites", srv.URL+"/a/0")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	hits := site.Hits()
	want := []string{"/robots.txt", "/css/main.css", "/css/second.css", "/js/app.js", "/img/bg.png", "/img/h1.png", "/img/same1.png", "/img/same2.png", "/img/same3.png"}
	for i := range site.Pages {
		want = append(want, "/a/"+itoa(i), "/img/"+itoa(i)+".png", "/img/"+itoa(i)+"-2x.png")
	}
	for _, p := range want {
		if hits[p] != 1 {
			t.Errorf("%s requested %d times, want once", p, hits[p])
		}
	}
	st, err := openJobReadOnly(job)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a := checkWARCs(t, filepath.Join(dir, "w"), st)
	for _, p := range want {
		u := srv.URL + p
		if a.responses[u]+a.revisits[u] != 1 {
			t.Errorf("%s: %d responses and %d revisits, want one in all", u, a.responses[u], a.revisits[u])
		}
	}
	same := 0
	for i := 1; i <= 3; i++ {
		same += a.revisits[srv.URL+"/img/same"+itoa(i)+".png"]
	}
	if same != 2 {
		t.Errorf("three identical images gave %d revisits, want one response and two revisits", same)
	}
	if !strings.Contains(r.stderr, "2 as revisits") {
		t.Errorf("summary does not count the revisits:\n%s", r.stderr)
	}
	lines := indexWARCs(t, a.files)
	if len(lines) != len(want) {
		t.Errorf("warcio indexed %d captures, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
	}
	for _, p := range want {
		if !strings.Contains(strings.Join(lines, "\n"), `"url":"`+srv.URL+p+`"`) {
			t.Errorf("warcio does not list %s", p)
		}
	}
	// Our CDXJ index says what warcio's does, line for line once sorted.
	var ours []string
	for _, f := range a.files {
		data, err := os.ReadFile(strings.TrimSuffix(f, ".warc.gz") + ".cdxj")
		if err != nil {
			t.Fatal(err)
		}
		ours = append(ours, strings.Split(strings.TrimSpace(string(data)), "\n")...)
	}
	if got, want := cdxKeys(t, ours), cdxKeys(t, lines); !slices.Equal(got, want) {
		t.Errorf("our CDXJ index:\n%s\nwarcio's:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Without dedup, every capture is a whole response.
	r = trawl(t, dir, "", "crawl", "--job", filepath.Join(dir, "nodedup.db"), "--warc", "w2", "--warc-dedup=false", "--requisites", srv.URL+"/a/0")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if b := checkWARCs(t, filepath.Join(dir, "w2"), nil); len(b.revisits) != 0 || len(b.responses) != len(want) {
		t.Errorf("--warc-dedup=false: %d responses, %d revisits; want %d and none", len(b.responses), len(b.revisits), len(want))
	}
}

// cdxKeys returns CDXJ lines as "SURT TIMESTAMP url mime status digest
// offset length filename", sorted.
func cdxKeys(t *testing.T, lines []string) []string {
	t.Helper()
	var out []string
	for _, l := range lines {
		parts := strings.SplitN(l, " ", 3)
		if len(parts) != 3 {
			t.Fatalf("CDXJ line %q", l)
		}
		var f map[string]string
		if err := json.Unmarshal([]byte(parts[2]), &f); err != nil {
			t.Fatalf("CDXJ line %q: %v", l, err)
		}
		out = append(out, strings.Join([]string{parts[0], parts[1], f["url"], f["mime"], f["status"], f["digest"], f["offset"], f["length"], f["filename"]}, " "))
	}
	slices.Sort(out)
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }

// kill -9 mid-crawl with small files, then resume: every file reads whole,
// none is left open, and every page of the job has its record.
func TestWARCKill9Resume(t *testing.T) {
	site := &testsite.Archive{Pages: 400, Filler: 6000, Delay: 3 * time.Millisecond}
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		site.ServeHTTP(w, r)
	}))
	defer srv.Close()
	dir := t.TempDir()
	job := filepath.Join(dir, "job.db")
	args := []string{"crawl", "--job", job, "--warc", "w", "--warc-max-size", "64KB", "--warc-cdx", "-c", "8", "--per-host", "8", srv.URL + "/a/0"}
	killWhen(t, dir, "", args, func() bool { return served.Load() >= 150 })
	open, _ := filepath.Glob(filepath.Join(dir, "w", "*.open"))
	if len(open) != 1 {
		t.Fatalf("after the kill: %d files open, want the one being written", len(open))
	}
	r := trawl(t, dir, "", args...)
	if r.code != 0 {
		t.Fatalf("resume: exit %d\n%s", r.code, r.stderr)
	}
	st, err := openJobReadOnly(job)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a := checkWARCs(t, filepath.Join(dir, "w"), st)
	if len(a.files) < 5 {
		t.Errorf("%d files; --warc-max-size 64KB should have made many", len(a.files))
	}
	n := 0
	st.Each(func(rec *store.Record) error {
		n++
		if a.responses[rec.URL] == 0 {
			t.Errorf("%s is in the job, with no response record in any file", rec.URL)
		}
		return nil
	})
	if n != site.Pages {
		t.Errorf("the job holds %d pages, want %d", n, site.Pages)
	}
	indexWARCs(t, a.files)
	for _, f := range a.files { // the mended file too
		if _, err := os.Stat(strings.TrimSuffix(f, ".warc.gz") + ".cdxj"); err != nil {
			t.Errorf("no index beside %s: %v", filepath.Base(f), err)
		}
	}
	t.Logf("killed with %s open; %d files, %d records, %d pages", filepath.Base(open[0]), len(a.files), a.records, n)
}
