package main

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/internal/chromiumtest"
	"github.com/trawl-dev/trawl/internal/redistest"
	"github.com/trawl-dev/trawl/internal/testsite"
	"github.com/trawl-dev/trawl/store"
)

// browserRun is trawl started with its own temporary directory, where its
// Chromium keeps its profile: the processes whose command line names that
// directory are the browser's, and none may outlive trawl.
type browserRun struct {
	dir, tmp string
}

func newBrowserRun(t testing.TB) browserRun {
	chromiumtest.Need(t)
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	return browserRun{dir: dir, tmp: tmp}
}

func (b browserRun) command(args ...string) *exec.Cmd {
	cmd := exec.Command(binary, args...)
	cmd.Dir = b.dir
	cmd.Env = append(os.Environ(), "TMPDIR="+b.tmp)
	return cmd
}

// run runs trawl to its end.
func (b browserRun) run(t testing.TB, args ...string) result {
	t.Helper()
	return runCmd(t, b.command(args...))
}

// browsers returns the pids of the processes whose command line names the
// run's temporary directory.
func (b browserRun) browsers() []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(b.tmp)) {
			if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && !bytes.Contains(stat, []byte(") Z ")) {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// noBrowserLeft fails t if a browser process of the run is still there a
// few seconds after trawl ended (the kernel's parent-death signal and the
// browser's own exit take a moment).
func (b browserRun) noBrowserLeft(t *testing.T, when string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(b.browsers()) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if pids := b.browsers(); len(pids) > 0 {
		t.Errorf("%s: %d Chromium processes left behind: %v", when, len(pids), pids)
		for _, p := range pids {
			syscall.Kill(p, syscall.SIGKILL)
		}
	}
}

// records returns the job's records by URL path, read from the job file.
func renderedRecords(t *testing.T, job, base string) (map[string]*store.Record, *store.Store) {
	t.Helper()
	st, err := store.Open(job, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	recs := map[string]*store.Record{}
	err = st.Each(func(r *store.Record) error {
		recs[strings.TrimPrefix(r.URL, base)] = r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs, st
}

// checkRendered checks pages /s/0 … /s/N-1 of a crawl of the scripted
// site: rendered, the DOM holding what the script built, the response as
// received, a PNG screenshot archived.
func checkRendered(t *testing.T, st *store.Store, recs map[string]*store.Record, pages int) {
	t.Helper()
	for i := range pages {
		rec := recs[fmt.Sprintf("/s/%d", i)]
		if rec == nil {
			continue
		}
		if rec.Render == nil || rec.Render.DOM == nil {
			t.Errorf("/s/%d: not rendered: %+v", i, rec.Render)
			continue
		}
		dom, err := st.Blob(rec.Render.DOM)
		if err != nil || !strings.Contains(string(dom), testsite.Title(i)) {
			t.Errorf("/s/%d: rendered DOM lacks its title (%v)", i, err)
		}
		if body, _ := st.Body(rec); strings.Contains(string(body), testsite.Title(i)) {
			t.Errorf("/s/%d: the stored response is not the one received", i)
		}
		if shot, err := st.Blob(rec.Render.Screenshot); err != nil || !bytes.HasPrefix(shot, []byte("\x89PNG")) || rec.Render.ScreenshotWARC == nil {
			t.Errorf("/s/%d: no PNG screenshot, or not archived (%v)", i, err)
		}
	}
}

// A site built by script, crawled with --render: every page is found
// through what the scripts build, items come from the rendered DOM, the
// tracker's disallowed call is never made, the shared script, style and
// image are fetched once, the host never has more than --per-host
// requests in flight (the browser's included), hung and crashed pages are
// failed with why, the WARC files hold the API answers and screenshots,
// and no browser process outlives trawl.
func TestRenderCrawl(t *testing.T) {
	b := newBrowserRun(t)
	site := testsite.NewScripted(12)
	srv := httptest.NewServer(site)
	defer srv.Close()
	job, warcs := filepath.Join(b.dir, "j.db"), filepath.Join(b.dir, "warc")
	rules := filepath.Join(b.dir, "rules.yaml")
	os.WriteFile(rules, []byte("extract:\n  - name: page\n    fields: {heading: h1.title}\n"), 0o644)
	r := b.run(t, "crawl", "--job", job, "--config", rules, "--render", "--render-timeout", "4s", "--render-max-memory", "64MB",
		"--scroll", "1", "--screenshot", "--warc", warcs, "--per-host", "2", "-c", "4", "--browsers", "2", "--retries", "0", srv.URL+"/")
	if r.code != 0 && r.code != 1 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	b.noBrowserLeft(t, "after a crawl's end")
	if !strings.Contains(r.stderr, "rendered ") {
		t.Errorf("no rendering in the summary:\n%s", r.stderr)
	}
	recs, st := renderedRecords(t, job, srv.URL)
	want := []string{"/", "/scroll", "/poll", "/loop", "/eat", "/s/scrolled"}
	for i := range site.Pages {
		want = append(want, fmt.Sprintf("/s/%d", i))
	}
	for _, p := range want {
		if recs[p] == nil {
			t.Errorf("%s not found: it is linked only by what scripts build", p)
		}
	}
	checkRendered(t, st, recs, site.Pages)
	for p, why := range map[string]string{"/loop": "stopped answering", "/eat": "crashed"} {
		if rec := recs[p]; rec == nil || !strings.Contains(rec.Error, why) || rec.ErrorKind != "render" {
			t.Errorf("%s: want a failed record saying %q, got %+v", p, why, rec)
		}
	}
	if rec := recs["/poll"]; rec == nil || rec.Render == nil || !strings.Contains(rec.Render.Note, "not settled") || rec.Error != "" {
		t.Errorf("/poll: want a rendered page with a note that it never settled, got %+v", rec)
	}
	hits := site.Hits()
	for path, n := range hits {
		if strings.HasPrefix(path, "/track") {
			t.Errorf("%s requested %d times: robots.txt disallows it", path, n)
		}
	}
	for _, p := range []string{"/shared.css", "/shared.png", "/app.js", "/js/tracker.js"} {
		if hits[p] != 1 {
			t.Errorf("%s requested %d times, want once (shared by every page)", p, hits[p])
		}
	}
	if most := site.MostInFlight(); most > 2 {
		t.Errorf("the host had %d requests in flight at once; --per-host is 2", most)
	}
	st.Close() // trawl export opens the job next
	items := readItems(t, b.dir, job)
	headings := map[string]bool{}
	for _, it := range items {
		if h, ok := it["heading"].(string); ok {
			headings[h] = true
		}
	}
	for i := range site.Pages {
		if !headings[testsite.Title(i)] {
			t.Errorf("no item with heading %q: items come from the rendered DOM", testsite.Title(i))
		}
	}
	files, _ := filepath.Glob(filepath.Join(warcs, "*.warc.gz"))
	archived := warcioRecords(t, files)
	if len(archived[srv.URL+"/api/page?n=3"]) == 0 {
		t.Errorf("the XHR answer /api/page?n=3 is not in the WARC files")
	}
	if len(archived["urn:view:"+srv.URL+"/s/3"]) != 1 {
		t.Errorf("the screenshot of /s/3 is not in the WARC files as one resource record")
	}
}

// --render auto renders the pages built by script and leaves the others
// as fetched; a fetch of a list renders too; --ignore-robots lets the
// page's own requests through.
func TestRenderAuto(t *testing.T) {
	b := newBrowserRun(t)
	site := testsite.NewScripted(6)
	site.Static = 5
	srv := httptest.NewServer(site)
	defer srv.Close()
	job := filepath.Join(b.dir, "auto.db")
	r := b.run(t, "crawl", "--job", job, "--render", "auto", "--render-timeout", "4s", "--retries", "0", "--include", "/(static|s)/", srv.URL+"/static/0")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	recs, _ := renderedRecords(t, job, srv.URL)
	for i := range site.Static {
		rec := recs[fmt.Sprintf("/static/%d", i)]
		if rec == nil || rec.Render != nil {
			t.Errorf("/static/%d: want a record not rendered, got %+v", i, rec)
		}
	}
	for i := range site.Pages {
		rec := recs[fmt.Sprintf("/s/%d", i)]
		if rec == nil || rec.Render == nil || !strings.HasPrefix(rec.Render.Reason, "auto: an empty mount point (#app)") {
			t.Errorf("/s/%d: want it rendered, as auto found it built by script, got %+v", i, rec)
		}
	}
	if n := site.Hits()["/api/page?n=5"]; n != 1 {
		t.Errorf("/api/page?n=5 asked %d times, want once", n)
	}

	list := fmt.Sprintf("%s/s/0\n%s/s/1\n", srv.URL, srv.URL)
	fjob := filepath.Join(b.dir, "fetch.db")
	os.WriteFile(filepath.Join(b.dir, "list.txt"), []byte(list), 0o644)
	r = b.run(t, "fetch", "--job", fjob, "--render", "--ignore-robots", "--render-timeout", "4s", "list.txt")
	if r.code != 0 {
		t.Fatalf("fetch --render: exit %d\n%s", r.code, r.stderr)
	}
	frecs, st := renderedRecords(t, fjob, srv.URL)
	for i := range 2 {
		rec := frecs[fmt.Sprintf("/s/%d", i)]
		if rec == nil || rec.Render == nil || rec.Render.DOM == nil {
			t.Fatalf("fetch --render: /s/%d not rendered: %+v", i, rec)
		}
		if dom, err := st.Blob(rec.Render.DOM); err != nil || !strings.Contains(string(dom), testsite.Title(i)) {
			t.Errorf("fetch --render: /s/%d's DOM lacks its title (%v)", i, err)
		}
	}
	tracked := 0
	for path, n := range site.Hits() {
		if strings.HasPrefix(path, "/track") {
			tracked += n
		}
	}
	if tracked != 2 {
		t.Errorf("with --ignore-robots the tracker was called %d times, want twice", tracked)
	}
	b.noBrowserLeft(t, "after a fetch")
}

// kill -9 of trawl mid-render leaves no Chromium behind, nor does Ctrl-C;
// the resume finishes the job, and a page saved before a stop is not
// rendered again.
func TestRenderKillResume(t *testing.T) {
	b := newBrowserRun(t)
	site := testsite.NewScripted(30)
	site.APIDelay = 150 * time.Millisecond
	srv := httptest.NewServer(site)
	defer srv.Close()
	job := filepath.Join(b.dir, "k.db")
	args := []string{"crawl", "--job", job, "--render", "--render-timeout", "5s", "--browsers", "2", "--include", "/s/", srv.URL + "/s/0"}
	apiCalls := func() int {
		n := 0
		for path, h := range site.Hits() {
			if strings.HasPrefix(path, "/api/page") {
				n += h
			}
		}
		return n
	}
	stop := func(sig syscall.Signal, after int) map[string]bool {
		cmd := b.command(args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); apiCalls() < after && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		if len(b.browsers()) == 0 {
			t.Errorf("no browser running mid-crawl: the check would find nothing")
		}
		cmd.Process.Signal(sig)
		cmd.Wait()
		b.noBrowserLeft(t, "after "+sig.String())
		return storedURLs(t, job)
	}
	// A page saved before a stop is asked for no more after it.
	savedAt := map[string]int{} // page → its API calls when first seen saved
	for _, s := range []struct {
		sig   syscall.Signal
		after int
	}{{syscall.SIGKILL, 6}, {syscall.SIGINT, 14}} {
		saved := stop(s.sig, s.after)
		hits := site.Hits()
		for i := range site.Pages {
			p := fmt.Sprintf("/s/%d", i)
			if _, seen := savedAt[p]; !seen && saved[srv.URL+p] {
				savedAt[p] = hits[fmt.Sprintf("/api/page?n=%d", i)]
			}
		}
	}
	if len(savedAt) == 0 || len(savedAt) >= site.Pages {
		t.Fatalf("%d pages saved before the stops; want some, not all", len(savedAt))
	}
	r := b.run(t, args...)
	if r.code != 0 {
		t.Fatalf("resume: exit %d\n%s", r.code, r.stderr)
	}
	b.noBrowserLeft(t, "after the resume")
	recs, _ := renderedRecords(t, job, srv.URL)
	hits := site.Hits()
	for i := range site.Pages {
		p := fmt.Sprintf("/s/%d", i)
		if rec := recs[p]; rec == nil || rec.Render == nil || rec.Render.DOM == nil {
			t.Errorf("%s not rendered after the resume", p)
		}
		if n, ok := savedAt[p]; ok && hits[fmt.Sprintf("/api/page?n=%d", i)] != n {
			t.Errorf("%s was saved before a stop, yet rendered again after it (%d renders, %d then)", p, hits[fmt.Sprintf("/api/page?n=%d", i)], n)
		}
	}
}

// Without a browser, --render is a usage error that says how to install
// one.
func TestRenderNoBrowser(t *testing.T) {
	dir := t.TempDir()
	r := trawl(t, dir, "", "crawl", "--job", filepath.Join(dir, "j.db"), "--render", "--chromium", filepath.Join(dir, "no-chromium"), "http://127.0.0.1:1/")
	if r.code != 2 || !strings.Contains(r.stderr, "no-chromium") {
		t.Errorf("a missing --chromium: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "j.db")); err == nil {
		t.Error("the job file was made though the job cannot run")
	}
	r = trawl(t, dir, "", "crawl", "--job", filepath.Join(dir, "j.db"), "--screenshot", "http://127.0.0.1:1/")
	if r.code != 2 || !strings.Contains(r.stderr, "--screenshot needs --render") {
		t.Errorf("--screenshot alone: exit %d\n%s", r.code, r.stderr)
	}
	r = trawl(t, dir, "", "fetch", "--job", filepath.Join(dir, "j.db"), "--render", "--out-dir", filepath.Join(dir, "files"), "-")
	if r.code != 2 || !strings.Contains(r.stderr, "not with --out-dir") {
		t.Errorf("--render with --out-dir: exit %d\n%s", r.code, r.stderr)
	}
	r = trawl(t, dir, "", "crawl", "--job", filepath.Join(dir, "j.db"), "--render", "sometimes", "http://127.0.0.1:1/")
	if r.code != 2 {
		t.Errorf("--render sometimes: exit %d\n%s", r.code, r.stderr)
	}
}

// Two processes share a crawl of a site built by script through Redis,
// each rendering the pages it leases: the merged job holds every page
// once, rendered.
func TestRenderShared(t *testing.T) {
	b := newBrowserRun(t)
	rds := redistest.Start(t, redistest.Options{})
	site := testsite.NewScripted(20)
	site.APIDelay = 20 * time.Millisecond
	srv := httptest.NewServer(site)
	defer srv.Close()
	var cmds []*exec.Cmd
	var errs []*bytes.Buffer
	for _, j := range []string{"a.db", "b.db"} {
		cmd := b.command("crawl", "--frontier", rds.URL(), "--crawl", "js", "--job", j, "--render", "--browsers", "1",
			"--render-timeout", "5s", "--include", "/s/", srv.URL+"/s/0")
		var e bytes.Buffer
		cmd.Stderr = &e
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, errs = append(cmds, cmd), append(errs, &e)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("process %d: %v\n%s", i, err, errs[i])
		}
	}
	b.noBrowserLeft(t, "after a shared crawl")
	urls := mergedURLs(t, b.dir, "a.db", "b.db")
	for i := range site.Pages {
		if n := urls[fmt.Sprintf("%s/s/%d", srv.URL, i)]; n != 1 {
			t.Errorf("/s/%d: %d records in the merged export, want 1", i, n)
		}
	}
	for _, j := range []string{"a.db", "b.db"} {
		recs, _ := renderedRecords(t, filepath.Join(b.dir, j), srv.URL)
		for p, rec := range recs {
			if strings.HasPrefix(p, "/s/") && (rec.Render == nil || rec.Render.DOM == nil) {
				t.Errorf("%s in %s: not rendered", p, j)
			}
		}
	}
}
