package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/internal/testsite"
)

// changeLines reads trawl changes' feed of job (pass 0: the latest) by
// URL path.
func changeLines(t *testing.T, dir, job string, pass int) map[string]map[string]any {
	t.Helper()
	args := []string{"changes", job}
	if pass > 0 {
		args = append(args, "--pass", fmt.Sprint(pass))
	}
	out := map[string]map[string]any{}
	for _, l := range trawlLines(t, dir, args...) {
		u := l["url"].(string)
		path := u[strings.Index(u[len("http://"):], "/")+len("http://"):]
		if _, dup := out[path]; dup {
			t.Errorf("%s twice in the feed", path)
		}
		out[path] = l
	}
	return out
}

// exported reads trawl export's records of job, with args.
func exported(t *testing.T, dir, job string, args ...string) []map[string]any {
	t.Helper()
	return trawlLines(t, dir, append([]string{"export", job}, args...)...)
}

func TestRecrawl(t *testing.T) {
	site := testsite.NewChanging(40)
	site.Filler = 2000
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := t.TempDir()
	job := filepath.Join(dir, "j.db")
	rules := filepath.Join(dir, "rules.yaml")
	os.WriteFile(rules, []byte("extract:\n  - name: page\n    key: title\n    fields: {title: title, version: p}\n"), 0o644)
	crawl := []string{"crawl", "--job", job, "--config", rules, "--retries", "0", srv.URL + "/"}
	if r := trawl(t, dir, "", crawl...); r.code != 0 {
		t.Fatalf("pass 1: exit %d\n%s", r.code, r.stderr)
	}
	_, _, firstBytes, _ := site.Counts()

	// Between the passes: one page of each kind of validators changes (and
	// page 8, with both), one of each is removed, two are added.
	changed, removed := []int{0, 1, 2, 3, 8}, []int{4, 5, 6, 7}
	for _, i := range changed {
		site.Change(i)
	}
	for _, i := range removed {
		site.Remove(i)
	}
	added := []int{site.Add(), site.Add()}
	site.Reset()
	r := trawl(t, dir, "", append(crawl, "--recrawl")...)
	if r.code != 0 {
		t.Fatalf("pass 2: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "pass 2 of") || !strings.Contains(r.stderr, "41 URLs to visit again") {
		t.Errorf("pass 2 not announced:\n%s", r.stderr)
	}
	conditional, notModified, bodyBytes, _ := site.Counts()
	// Every page of the first pass with a validator and still there was
	// asked conditionally (27: 40 less the 10 without, less 3 removed);
	// those unchanged (23) answered 304.
	if conditional != 27 || notModified != 23 {
		t.Errorf("pass 2: %d conditional requests and %d 304s, want 27 and 23", conditional, notModified)
	}
	for i := range site.Pages() {
		if h := site.Hits(site.Path(i)); h != 1 {
			t.Errorf("pass 2: %s requested %d times, want once", site.Path(i), h)
		}
	}
	t.Logf("body bytes: pass 1 %d, pass 2 %d", firstBytes, bodyBytes)
	if bodyBytes*2 > firstBytes { // 14 pages of 41 and the index sent a body

		t.Errorf("pass 2 sent %d body bytes, pass 1 %d: the 304s should have saved most", bodyBytes, firstBytes)
	}

	want := expectedChanges(site, changed, removed, added)
	feed := changeLines(t, dir, job, 0)
	checkFeed(t, feed, want, 2)
	for _, i := range []int{0, 4, 9} {
		p := site.Path(i)
		if l := feed[p]; l["previous_sha256"] == "" || (want[p] == "unchanged") != (l["previous_sha256"] == l["sha256"]) {
			t.Errorf("%s: sha256 %v, previous %v", p, l["sha256"], l["previous_sha256"])
		}
	}
	if l := feed[site.Path(9)]; l["status"] != float64(304) {
		t.Errorf("page 9 (ETag and Last-Modified, unchanged): status %v in the feed, want 304", l["status"])
	}

	checkVersions(t, dir, job, site)
	checkItemFeed(t, dir, job, rules, want)
	// The exported items are each page's latest: a 304 keeps the stored
	// page's item, a removed page has none.
	items := map[string]any{}
	for _, it := range readItems(t, dir, job) {
		items[it["title"].(string)] = it["version"]
	}
	if len(items) != 39 || items["page 12"] != "version 0" || items["page 0"] != "version 1" || items["page 4"] != nil {
		t.Errorf("items after pass 2: %d, page 12 %v, page 0 %v, page 4 %v", len(items), items["page 12"], items["page 0"], items["page 4"])
	}
	if s := trawl(t, dir, "", "stats", job); s.code != 0 || !strings.Contains(s.stdout, "pass 2") {
		t.Errorf("stats: exit %d, no passes\n%s", s.code, s.stdout)
	}
	recrawlKilled(t, dir, job, crawl, site)
}

// expectedChanges is what pass 2 finds of each page.
func expectedChanges(site *testsite.Changing, changed, removed, added []int) map[string]string {
	want := map[string]string{"/": "changed"}
	for i := range 40 {
		want[site.Path(i)] = "unchanged"
	}
	for kind, pages := range map[string][]int{"changed": changed, "gone": removed, "new": added} {
		for _, i := range pages {
			want[site.Path(i)] = kind
		}
	}
	return want
}

// checkFeed checks that feed has exactly the URLs of want, each with its
// change and pass.
func checkFeed(t *testing.T, feed map[string]map[string]any, want map[string]string, pass int) {
	t.Helper()
	for p, c := range want {
		if got := feed[p]; got == nil {
			t.Errorf("%s not in the feed", p)
		} else if got["change"] != c || got["pass"] != float64(pass) {
			t.Errorf("%s: %v in pass %v, want %s in pass %d", p, got["change"], got["pass"], c, pass)
		}
	}
	for p := range feed {
		if want[p] == "" {
			t.Errorf("%s in the feed, not on the site", p)
		}
	}
}

// checkVersions checks the records export gives after two passes.
func checkVersions(t *testing.T, dir, job string, site *testsite.Changing) {
	t.Helper()
	latest := exported(t, dir, job)
	first := exported(t, dir, job, "--pass", "1")
	all := exported(t, dir, job, "--versions", "--no-body")
	if len(latest) != 43 || len(first) != 41 || len(all) != 84 {
		t.Errorf("export: %d latest records, %d of pass 1, %d versions; want 43, 41, 84", len(latest), len(first), len(all))
	}
	byPath := func(recs []map[string]any, path string) map[string]any {
		for _, r := range recs {
			if strings.HasSuffix(r["url"].(string), path) {
				return r
			}
		}
		return nil
	}
	gone, was := byPath(latest, site.Path(4)), byPath(first, site.Path(4))
	if gone == nil || gone["status"] != float64(404) || was == nil || was["status"] != float64(200) {
		t.Errorf("page 4: latest %v, pass 1 %v", gone, was)
	}
	// A 304 keeps the body and takes the new headers.
	now, then := byPath(latest, site.Path(12)), byPath(first, site.Path(12))
	if now == nil || then == nil || now["body"] != then["body"] || now["body"] == nil || now["not_modified"] != true || now["status"] != float64(200) {
		t.Fatalf("page 12 after a 304: %v\npass 1: %v", now, then)
	}
	h := now["headers"].(map[string]any)
	if h["Etag"] == nil || h["Last-Modified"] == nil || h["Cache-Control"] == nil || h["Date"] == nil {
		t.Errorf("page 12's headers after a 304: %v", h)
	}
}

// recrawlKilled runs a third pass over the unchanged site, kill -9s it
// half-way, and resumes it.
func recrawlKilled(t *testing.T, dir, job string, crawl []string, site *testsite.Changing) {
	site.Reset()
	site.SetDelay(20 * time.Millisecond)
	args := append(append([]string{}, crawl...), "--recrawl", "-c", "2", "--per-host", "2")
	killWhen(t, dir, "", args, func() bool { return site.Total() >= 15 })
	if site.Total() >= 43 {
		t.Fatalf("pass 3 finished before the kill")
	}
	saved := changeLines(t, dir, job, 3) // what pass 3 saved before the kill
	if len(saved) == 0 {
		t.Fatalf("pass 3 saved nothing before the kill at %d requests", site.Total())
	}
	asked := map[string]bool{}
	for i := range site.Pages() {
		asked[site.Path(i)] = site.Hits(site.Path(i)) > 0
	}
	r := trawl(t, dir, "", args...)
	if r.code != 0 || !strings.Contains(r.stderr, "pass 3 of") || !strings.Contains(r.stderr, "not finished: resuming it") {
		t.Fatalf("resuming pass 3: exit %d\n%s", r.code, r.stderr)
	}
	twice := 0
	for i := range site.Pages() {
		p := site.Path(i)
		switch h := site.Hits(p); {
		case h == 0:
			t.Errorf("pass 3: %s never requested", p)
		case h > 1 && saved[p] != nil:
			t.Errorf("pass 3: %s requested %d times, though it was saved before the kill", p, h)
		case h > 1 && !asked[p]:
			t.Errorf("pass 3: %s requested %d times after the kill", p, h)
		case h > 1:
			twice++
		}
	}
	t.Logf("pass 3: %d of %d pages saved before the kill; %d asked before it and again after", len(saved), site.Pages()+1, twice)
	feed := changeLines(t, dir, job, 3)
	want := map[string]string{"/": "unchanged"}
	for i := range site.Pages() {
		want[site.Path(i)] = "unchanged"
	}
	for _, i := range []int{4, 5, 6, 7} {
		want[site.Path(i)] = "gone"
	}
	checkFeed(t, feed, want, 3)
	if _, err := os.Stat(job); err != nil {
		t.Fatal(err)
	}
}

// warcRecord is one record as warcio's index lists it.
type warcRecord struct {
	File          string `json:"-"`
	Offset        int64  `json:"offset"`
	Type          string `json:"warc-type"`
	URI           string `json:"warc-target-uri"`
	ID            string `json:"warc-record-id"`
	Date          string `json:"warc-date"`
	Profile       string `json:"warc-profile"`
	RefersTo      string `json:"warc-refers-to"`
	RefersToURI   string `json:"warc-refers-to-target-uri"`
	RefersToDate  string `json:"warc-refers-to-date"`
	PayloadDigest string `json:"warc-payload-digest"`
}

// warcioRecords lists the response and revisit records of files with
// warcio, by target URI.
func warcioRecords(t *testing.T, files []string) map[string][]warcRecord {
	t.Helper()
	out := map[string][]warcRecord{}
	for _, f := range files {
		cmd := exec.Command(warcio(t), "index", f, "-f", "offset", "-f", "warc-type", "-f", "warc-target-uri", "-f", "warc-record-id",
			"-f", "warc-date", "-f", "warc-profile", "-f", "warc-refers-to", "-f", "warc-refers-to-target-uri",
			"-f", "warc-refers-to-date", "-f", "warc-payload-digest")
		data, err := cmd.Output()
		if err != nil {
			t.Fatalf("warcio index %s: %v", f, err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			var r warcRecord
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("warcio index line %q: %v", sc.Text(), err)
			}
			if r.Type == "response" || r.Type == "revisit" || r.Type == "resource" {
				r.File = filepath.Base(f)
				out[r.URI] = append(out[r.URI], r)
			}
		}
	}
	return out
}

// TestRecrawlWARC checks, with warcio, the records a second pass archives:
// a server-not-modified revisit of each 304, an identical-payload-digest
// revisit of each unchanged 200, and a response of each change, each
// revisit naming the first pass's record field by field; and that the
// change feed points at each record.
func TestRecrawlWARC(t *testing.T) {
	site := testsite.NewChanging(16)
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := t.TempDir()
	job, wd := filepath.Join(dir, "j.db"), filepath.Join(dir, "w")
	crawl := []string{"crawl", "--job", job, "--warc", wd, "--retries", "0", srv.URL + "/"}
	if r := trawl(t, dir, "", crawl...); r.code != 0 {
		t.Fatalf("pass 1: exit %d\n%s", r.code, r.stderr)
	}
	firstFiles, _ := filepath.Glob(filepath.Join(wd, "*.warc.gz"))
	site.Change(0)
	site.Change(3)
	site.Remove(4)
	if r := trawl(t, dir, "", append(crawl, "--recrawl")...); r.code != 0 {
		t.Fatalf("pass 2: exit %d\n%s", r.code, r.stderr)
	}
	all, _ := filepath.Glob(filepath.Join(wd, "*.warc.gz"))
	first := warcioRecords(t, firstFiles)
	second := warcioRecords(t, all[len(firstFiles):])
	feed := changeLines(t, dir, job, 2)
	for i := range 16 {
		u := srv.URL + site.Path(i)
		if len(first[u]) != 1 || len(second[u]) != 1 {
			t.Errorf("%s: %d records in pass 1, %d in pass 2; want one each", u, len(first[u]), len(second[u]))
			continue
		}
		was, now := first[u][0], second[u][0]
		profile := "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
		switch {
		case i == 0 || i == 3 || i == 4:
			if now.Type != "response" {
				t.Errorf("%s changed (or gone): a %s record, want a response", u, now.Type)
			}
		case i%4 == 3: // no validators: a 200 of the same payload
			profile = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
			fallthrough
		default:
			if now.Type != "revisit" || now.Profile != profile || now.RefersTo != was.ID || now.RefersToURI != u ||
				now.RefersToDate != was.Date || now.PayloadDigest != was.PayloadDigest {
				t.Errorf("%s: pass 2 archived %+v\nwant a revisit (%s) of %+v", u, now, profile, was)
			}
		}
		w, _ := feed[site.Path(i)]["warc"].(map[string]any)
		if w == nil || w["file"] != now.File || w["offset"] != float64(now.Offset) || w["id"] != now.ID {
			t.Errorf("%s: the feed's warc %v, warcio's record %s at %d (%s)", u, w, now.File, now.Offset, now.ID)
		}
	}
}

// TestRecrawlOutDir checks a second pass of a download to a folder: only
// changed files are written again, each file's time is its
// Last-Modified, and what a 304 or an unchanged body left stays as it was.
func TestRecrawlOutDir(t *testing.T) {
	site := testsite.NewChanging(8)
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := t.TempDir()
	var list strings.Builder
	for i := range 8 {
		fmt.Fprintf(&list, "%s%s\n", srv.URL, site.Path(i))
	}
	out := filepath.Join(dir, "out")
	fetch := []string{"fetch", "--job", filepath.Join(dir, "j.db"), "--out-dir", out, "--layout", "flat", "--retries", "0"}
	if r := trawl(t, dir, list.String(), fetch...); r.code != 0 {
		t.Fatalf("pass 1: exit %d\n%s", r.code, r.stderr)
	}
	stat := func(i int) os.FileInfo {
		fi, err := os.Stat(filepath.Join(out, fmt.Sprint(i)))
		if err != nil {
			t.Fatal(err)
		}
		return fi
	}
	before := make([]os.FileInfo, 8)
	for i := range before {
		before[i] = stat(i)
	}
	if !before[2].ModTime().Equal(site.Start) || !before[0].ModTime().Equal(site.Start) {
		t.Errorf("pass 1: page 0 and 2 have times %v and %v, want their Last-Modified %v", before[0].ModTime(), before[2].ModTime(), site.Start)
	}
	site.Change(0)
	site.Change(3)
	if r := trawl(t, dir, list.String(), append(fetch, "--recrawl")...); r.code != 0 {
		t.Fatalf("pass 2: exit %d\n%s", r.code, r.stderr)
	}
	for i := range 8 {
		after := stat(i)
		rewritten := !os.SameFile(before[i], after)
		if changed := i == 0 || i == 3; rewritten != changed {
			t.Errorf("page %d: written again %v, changed %v", i, rewritten, changed)
		}
	}
	if got, want := stat(0).ModTime(), site.Start.Add(time.Hour); !got.Equal(want) {
		t.Errorf("page 0 after its change: time %v, want its new Last-Modified %v", got, want)
	}
	data, _ := os.ReadFile(filepath.Join(out, "3"))
	if !strings.Contains(string(data), "version 1") {
		t.Errorf("page 3 after its change holds %.80q", data)
	}
}

// TestWARCDedupAcrossRuns checks that a payload archived by one run of a
// job is written by a later run, under another URL, as a revisit of the
// first capture: the digest index is in the job, not in one run's memory.
func TestWARCDedupAcrossRuns(t *testing.T) {
	site := &testsite.Archive{Pages: 1}
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := t.TempDir()
	fetch := []string{"fetch", "--job", filepath.Join(dir, "j.db"), "--warc", filepath.Join(dir, "w")}
	if r := trawl(t, dir, srv.URL+"/img/same1.png\n", fetch...); r.code != 0 {
		t.Fatalf("run 1: exit %d\n%s", r.code, r.stderr)
	}
	if r := trawl(t, dir, srv.URL+"/img/same2.png\n", fetch...); r.code != 0 {
		t.Fatalf("run 2: exit %d\n%s", r.code, r.stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "w", "*.warc.gz"))
	recs := warcioRecords(t, files)
	first, second := recs[srv.URL+"/img/same1.png"], recs[srv.URL+"/img/same2.png"]
	if len(first) != 1 || len(second) != 1 {
		t.Fatalf("records: %v and %v", first, second)
	}
	if a, b := first[0], second[0]; a.Type != "response" || b.Type != "revisit" || b.RefersTo != a.ID || b.RefersToURI != a.URI ||
		b.RefersToDate != a.Date || b.PayloadDigest != a.PayloadDigest || !strings.HasSuffix(b.Profile, "/identical-payload-digest") {
		t.Errorf("run 2 archived %+v\nwant a revisit of run 1's %+v", b, a)
	}
}

// checkItemFeed checks the items' feed of pass 2: each page's item, known
// by its title, changed (its version field) where the page changed, gone
// where it went, new where it came, unchanged elsewhere (304s included,
// whose items are the stored page's).
func checkItemFeed(t *testing.T, dir, job, rules string, pages map[string]string) {
	t.Helper()
	got := map[string]map[string]any{}
	for _, l := range trawlLines(t, dir, "changes", "--items", "--config", rules, job) {
		got[l["key"].(string)] = l
	}
	for path, change := range pages {
		key := "index"
		if path != "/" {
			key = "page " + strings.TrimPrefix(path, "/c/")
		}
		if change == "changed" && path == "/" {
			change = "unchanged" // its links changed, not its item
		}
		l := got[key]
		if l == nil || l["change"] != change {
			t.Errorf("item %q: %v, want %s", key, l, change)
			continue
		}
		if change == "changed" && fmt.Sprint(l["changed"]) != "[version]" {
			t.Errorf("item %q: changed fields %v, want [version]", key, l["changed"])
		}
	}
	if len(got) != len(pages) {
		t.Errorf("%d items in the feed, want %d", len(got), len(pages))
	}
}

// TestContinuous runs a continuous job with intervals in fractions of a
// second over a site whose page 0 changes at every visit: page 0 is
// visited more often than the pages that never change. Killed and run
// again, it goes on with its schedule, and every visit is a version.
func TestContinuous(t *testing.T) {
	site := testsite.NewChanging(6)
	site.ChangeAlways(0)
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := t.TempDir()
	job := filepath.Join(dir, "j.db")
	args := []string{"crawl", "--job", job, "--continuous", "--revisit", "400ms", "--min-revisit", "150ms", "--max-revisit", "1m", srv.URL + "/"}
	killWhen(t, dir, "", args, func() bool { return site.Hits(site.Path(0)) >= 8 })
	hot, cold := site.Hits(site.Path(0)), 0
	for i := 1; i < 6; i++ {
		cold = max(cold, site.Hits(site.Path(i)))
	}
	t.Logf("before the kill: page 0 visited %d times, the others at most %d", hot, cold)
	if 2*cold > hot+1 {
		t.Errorf("page 0, changed at every visit, visited %d times; an unchanged page %d times", hot, cold)
	}
	// Run again: the schedule goes on from the job, and the status page
	// shows it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(binary, append(args, "--metrics", addr)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); site.Hits(site.Path(0)) < hot+4 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	checkRevisitMetrics(t, addr)
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err == nil || !strings.Contains(stderr.String(), "interrupted") {
		t.Fatalf("continuous job after SIGINT: %v\n%s", err, stderr.String())
	}
	if site.Hits(site.Path(0)) < hot+4 {
		t.Fatalf("the job run again visited page 0 %d times more in 30s", site.Hits(site.Path(0))-hot)
	}
	versions := map[string]int{}
	for _, r := range exported(t, dir, job, "--versions", "--no-body") {
		versions[r["url"].(string)]++
	}
	for i := range 6 {
		p := site.Path(i)
		// A request in flight at the kill, and one at the SIGINT, may
		// have gone unsaved.
		if v, h := versions[srv.URL+p], site.Hits(p); v > h || v < h-2 {
			t.Errorf("%s: %d versions in the job, %d visits", p, v, h)
		}
	}
}

// checkRevisitMetrics reads the status of the continuous job serving
// its status page at addr: its revisits and schedule.
func checkRevisitMetrics(t *testing.T, addr string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/status.json")
	if err != nil {
		t.Fatalf("status page: %v", err)
	}
	defer resp.Body.Close()
	var s struct {
		Revisits *struct {
			Scheduled, Revisited, Changed, Unchanged int
			NotModified                              int     `json:"not_modified"`
			Ratio                                    float64 `json:"changed_ratio"`
			Saved                                    int64   `json:"bytes_saved"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	r := s.Revisits
	if r == nil || r.Scheduled == 0 || r.Revisited == 0 || r.Changed == 0 || r.Unchanged == 0 || r.NotModified == 0 || r.Saved == 0 || r.Ratio <= 0 || r.Ratio >= 1 {
		t.Errorf("status page's revisits: %+v", r)
	}
	resp, err = http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`trawl_revisits{change="changed"}`, `trawl_revisit_urls{state="scheduled"}`, "trawl_not_modified ", "trawl_not_modified_bytes_saved "} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestRecrawlKeepsHostBudgets checks that --max-per-host is a pass's
// budget: a second pass with the same budget visits as many pages again.
func TestRecrawlKeepsHostBudgets(t *testing.T) {
	site := testsite.NewChanging(12)
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := t.TempDir()
	crawl := []string{"crawl", "--job", "j.db", "--max-per-host", "6", "--retries", "0", srv.URL + "/"}
	pages := func() int { // requests for pages, robots.txt aside
		return site.Total() - site.Hits("/robots.txt")
	}
	if r := trawl(t, dir, "", crawl...); r.code != 0 {
		t.Fatalf("pass 1: exit %d\n%s", r.code, r.stderr)
	}
	first := pages()
	site.Reset()
	if r := trawl(t, dir, "", append(crawl, "--recrawl")...); r.code != 0 {
		t.Fatalf("pass 2: exit %d\n%s", r.code, r.stderr)
	}
	if pages() != first || first != 6 {
		t.Errorf("pass 2 asked for %d pages, pass 1 %d; want the budget's 6 each", pages(), first)
	}
	fetched := 0
	for _, l := range changeLines(t, dir, "j.db", 2) {
		if l["status"] == float64(200) || l["status"] == float64(304) {
			fetched++
		}
	}
	if fetched != 6 {
		t.Errorf("pass 2 saved %d fetched pages, want the budget's 6", fetched)
	}
}
