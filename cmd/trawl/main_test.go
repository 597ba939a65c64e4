package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	enc "encoding/binary"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/configs"
	"github.com/trawl-dev/trawl/crawler/job"
	"github.com/trawl-dev/trawl/internal/testsite"
	"github.com/trawl-dev/trawl/store"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "trawl-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "trawl")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building trawl: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

func trawl(t *testing.T, dir string, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	return runCmd(t, cmd)
}

// runCmd runs a trawl command to its end and returns what it said.
func runCmd(t testing.TB, cmd *exec.Cmd) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

// killWhen starts trawl with args and stdin in dir, and kill -9s it as
// soon as ready says so (or after 30 s).
func killWhen(t *testing.T, dir, stdin string, args []string, ready func() bool) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); !ready() && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
}

func sha(t *testing.T, path string) [32]byte {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(data)
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("concurrency: [1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "typo.yaml"), []byte("concurency: 4\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "neg.yaml"), []byte("retries: -1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "badrule.yaml"), []byte("include: ['a(']\n"), 0o644)
	junk := bytes.Repeat([]byte("not a job file\x00\xff"), 500)
	os.WriteFile(filepath.Join(dir, "junk.bin"), junk, 0o644)
	os.WriteFile(filepath.Join(dir, "empty.db"), nil, 0o644)
	junkSum := sha(t, filepath.Join(dir, "junk.bin"))

	cases := []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"crawl", "http://[::1"}, "missing ']'"},
		{[]string{"crawl", "--continuous", "--max-per-host", "3", "http://h.test/"}, "--continuous with --max-per-host"},
		{[]string{"crawl", "--continuous", "--recrawl", "http://h.test/"}, "choose one"},
		{[]string{"crawl", "--continuous", "--revisit", "1m", "http://h.test/"}, "must be within --min-revisit"},
		{[]string{"crawl", "--recrawl", "--frontier", "redis://127.0.0.1:1/0", "--crawl", "x", "http://h.test/"}, "cannot run them yet"},
		{[]string{"crawl", "--wacz", "x.wacz", "http://h.test/"}, "--wacz needs --warc"},
		{[]string{"changes", "--items", "nojob.db"}, "--items needs --config"},
		{[]string{"export", "--pass", "2", "--versions", "x.db"}, "choose one"},
		{[]string{"crawl", "ftp://example.com/"}, "only http and https"},
		{[]string{"crawl", "not a url"}, "not absolute"},
		{[]string{"crawl"}, "no seed URL"},
		{[]string{"crawl", "--concurrency", "-4", "http://127.0.0.1:1/"}, "must not be negative"},
		{[]string{"crawl", "--depth=-1", "http://127.0.0.1:1/"}, "must not be negative"},
		{[]string{"crawl", "--timeout", "-1s", "http://127.0.0.1:1/"}, "negative"},
		{[]string{"crawl", "--max-body", "ten", "http://127.0.0.1:1/"}, "bad size"},
		{[]string{"crawl", "--bogus", "http://127.0.0.1:1/"}, "unknown flag"},
		{[]string{"crawl", "--scope", "planet", "http://127.0.0.1:1/"}, "unknown scope"},
		{[]string{"crawl", "--config", "broken.yaml", "http://127.0.0.1:1/"}, "broken.yaml: line 1"},
		{[]string{"crawl", "--config", "typo.yaml", "http://127.0.0.1:1/"}, `unknown key "concurency"`},
		{[]string{"crawl", "--config", "neg.yaml", "http://127.0.0.1:1/"}, "must not be negative"},
		{[]string{"crawl", "--config", "badrule.yaml", "http://127.0.0.1:1/"}, "bad include pattern"},
		{[]string{"crawl", "--config", "missing.yaml", "http://127.0.0.1:1/"}, "no such file"},
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{}, "Usage"},
		{[]string{"fetch", "missing-list.txt"}, "no such file"},
		{[]string{"crawl", "--job", "junk.bin", "http://127.0.0.1:1/"}, "not a trawl job"},
		{[]string{"crawl", "--job", "empty.db", "http://127.0.0.1:1/"}, "not a trawl job"},
		{[]string{"fetch", "--job", "junk.bin", "-"}, "not a trawl job"},
		{[]string{"stats", "junk.bin"}, "not a trawl job"},
		{[]string{"export", "junk.bin"}, "not a trawl job"},
		{[]string{"export", "--format", "xml", "junk.bin"}, "unknown --format"},
		{[]string{"export", "nothing.db"}, "no such job"},
	}
	for _, c := range cases {
		r := trawl(t, dir, "", c.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, c.want) {
			t.Errorf("trawl %s: exit %d, stderr %q; want exit 2 and %q", strings.Join(c.args, " "), r.code, r.stderr, c.want)
		}
		if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") {
			t.Errorf("trawl %s: stack trace in stderr:\n%s", strings.Join(c.args, " "), r.stderr)
		}
	}
	if sha(t, filepath.Join(dir, "junk.bin")) != junkSum {
		t.Error("junk.bin was modified")
	}
	for _, name := range []string{"trawl.db", "nothing.db"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("a failed command created %s", name)
		}
	}
	if fi, _ := os.Stat(filepath.Join(dir, "empty.db")); fi.Size() != 0 {
		t.Error("empty.db was written to")
	}
}

func TestHelp(t *testing.T) {
	for _, cmd := range []string{"crawl", "fetch", "export", "stats", "demo"} {
		r := trawl(t, t.TempDir(), "", cmd, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "Usage: trawl "+cmd) {
			t.Errorf("trawl %s --help: exit %d, %q", cmd, r.code, r.stdout)
		}
	}
	r := trawl(t, t.TempDir(), "", "crawl", "--help")
	for _, flag := range []string{"--ignore-robots", "--auto-throttle", "--max-delay", "--job", "--concurrency", "--per-host", "--delay", "--retries", "--timeout", "--user-agent", "--max-body", "--config", "--scope", "--include", "--exclude", "--depth", "--max-pages", "--quiet", "--verbose"} {
		if !strings.Contains(r.stdout, flag) {
			t.Errorf("crawl --help does not list %s", flag)
		}
	}
}

// ownMemory is in the summary where /proc tells the process's own
// resident memory apart from its mapped files.
var ownMemory = map[bool]string{true: "of the process's own", false: "Go heap"}[runtime.GOOS == "linux"]

func TestFetchList(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/f/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "file %s", r.URL.Path) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	dir := t.TempDir()
	var list strings.Builder
	list.WriteString("# a list\n\n")
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&list, "%s/f/%d\n", srv.URL, i)
		if i == 10 {
			list.WriteString("ftp://nope/x\n")
		}
		if i == 20 {
			list.WriteString("   \n  # indented comment\nhttp://[bad\n")
		}
	}
	fmt.Fprintf(&list, "%s/f/3#dup\n", srv.URL) // same URL as line 3
	os.WriteFile(filepath.Join(dir, "list.txt"), []byte(list.String()), 0o644)

	r := trawl(t, dir, "", "fetch", "list.txt")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"list.txt:14: bad URL \"ftp://nope/x\"", "list.txt:27: bad URL \"http://[bad\"", "50 new to the job", "50 pages saved",
		"Go heap", "resident at the peak", ownMemory} { // memory: the heap apart from RSS, which counts the mapped job file
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	// From stdin, into a second job; exported records carry their bodies.
	r = trawl(t, dir, srv.URL+"/f/a\n"+srv.URL+"/f/b\n", "fetch", "--job", "stdin.db")
	if r.code != 0 {
		t.Fatalf("stdin: exit %d: %s", r.code, r.stderr)
	}
	r = trawl(t, dir, "", "export", "stdin.db")
	var recs []map[string]any
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, m)
	}
	byURL := map[string]map[string]any{}
	for _, r := range recs {
		byURL[r["url"].(string)] = r
	}
	a, b := byURL[srv.URL+"/f/a"], byURL[srv.URL+"/f/b"]
	if len(recs) != 2 || a == nil || b == nil || a["body"] != "file /f/a" || a["status"] != 200.0 || b["body"] != "file /f/b" {
		t.Fatalf("export: %v", recs)
	}
	for _, k := range []string{"url", "final_url", "status", "depth", "content_type", "length", "sha256", "attempts", "error", "fetched_at", "duration_ms", "headers"} {
		if _, ok := recs[0][k]; !ok {
			t.Errorf("exported record lacks %q", k)
		}
	}
}

func TestFetchFailuresExitCode(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	r := trawl(t, t.TempDir(), srv.URL+"/missing\n", "fetch", "-")
	if r.code != exitFailures || !strings.Contains(r.stderr, "404: 1") {
		t.Fatalf("exit %d, stderr %s; want exit 3 and a 404 count", r.code, r.stderr)
	}
}

// storedURLs reads the set of URLs with a record in the job.
func storedURLs(t *testing.T, path string) map[string]bool {
	t.Helper()
	st, err := store.Open(path, &store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := map[string]bool{}
	err = st.Each(func(r *store.Record) error {
		if r.Status != 200 {
			return fmt.Errorf("%s: status %d %s", r.URL, r.Status, r.Error)
		}
		m[r.URL] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The binary is killed with SIGKILL twice mid-crawl; the same command then
// finishes the job. Every page ends stored, and the only pages fetched more
// than once are those requested before a kill but not saved by then.
func TestKill9Resume(t *testing.T) {
	site := testsite.New(3000)
	site.Delay = 2 * time.Millisecond
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := t.TempDir()
	job := filepath.Join(dir, "job.db")
	args := []string{"crawl", "--job", job, "--per-host", "8", "-c", "8", srv.URL + "/p/0"}

	var refetchable = map[int]bool{} // requested before a kill, not stored then
	for _, killAt := range []int{700, 1800} {
		killWhen(t, dir, "", args, func() bool { return site.Total() >= killAt })
		if site.Total() >= 3000 {
			t.Fatalf("crawl finished before the kill at %d requests; slow the site down", killAt)
		}
		stored := storedURLs(t, job)
		if len(stored) == 0 || len(stored) >= 3000 {
			t.Fatalf("after kill at %d requests: %d pages stored", killAt, len(stored))
		}
		for i := 0; i < site.Pages; i++ {
			if site.Hits(i) > 0 && !stored[srv.URL+testsite.Path(i)] {
				refetchable[i] = true
			}
		}
		t.Logf("killed at %d requests: %d pages stored", site.Total(), len(stored))
		if s := trawl(t, dir, "", "stats", job); s.code != 0 || !strings.Contains(s.stdout, "not indexed yet") {
			t.Errorf("stats after a kill: exit %d, no word of the pages not indexed\n%s", s.code, s.stdout)
		}
	}
	r := trawl(t, dir, "", args...)
	if r.code != 0 {
		t.Fatalf("resume: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "resuming job") {
		t.Errorf("resume not announced:\n%s", r.stderr)
	}
	// The killed runs could not index what they saved: the resume does it
	// first, and the finished run indexes its own pages at its end.
	if !strings.Contains(r.stderr, "pages saved by the last run") {
		t.Errorf("indexing of the killed runs' pages not announced:\n%s", r.stderr)
	}
	stored := storedURLs(t, job)
	if len(stored) != 3000 {
		t.Fatalf("%d pages stored after resume, want 3000", len(stored))
	}
	if s := trawl(t, dir, "", "stats", job); s.code != 0 || !strings.Contains(s.stdout, "records   3000 ") || strings.Contains(s.stdout, "not indexed") {
		t.Errorf("stats after the resume: exit %d\n%s", s.code, s.stdout)
	}
	refetched := 0
	for i := 0; i < site.Pages; i++ {
		switch h := site.Hits(i); {
		case h == 0:
			t.Errorf("page %d never requested", i)
		case h > 1 && !refetchable[i]:
			t.Errorf("page %d requested %d times, though it was saved before any kill", i, h)
		case h > 1:
			refetched++
		}
	}
	t.Logf("%d pages fetched again after kills; %d were in flight or unsaved at a kill", refetched, len(refetchable))
}

func TestInterruptThenResume(t *testing.T) {
	site := testsite.New(2000)
	site.Delay = 5 * time.Millisecond
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := t.TempDir()
	args := []string{"crawl", "--job", "j.db", "--per-host", "4", srv.URL + "/p/0"}
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	var errb bytes.Buffer
	cmd.Stderr = &errb
	cmd.Start()
	for site.Total() < 200 {
		time.Sleep(time.Millisecond)
	}
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitInterrupted {
		t.Fatalf("after SIGINT: %v, want exit 130\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "interrupted") || !strings.Contains(errb.String(), "run the same command again") {
		t.Errorf("no summary after SIGINT:\n%s", errb.String())
	}
	before := len(storedURLs(t, filepath.Join(dir, "j.db")))
	if before == 0 {
		t.Fatal("nothing saved before the interrupt")
	}
	r := trawl(t, dir, "", args...)
	if r.code != 0 || len(storedURLs(t, filepath.Join(dir, "j.db"))) != 2000 {
		t.Fatalf("resume: exit %d\n%s", r.code, r.stderr)
	}
	over := 0
	for i := 0; i < site.Pages; i++ {
		over += site.Hits(i) - 1
	}
	// A clean stop saves every finished page: only fetches cut off in
	// flight (at most the concurrency) are repeated.
	if over > 16 {
		t.Errorf("%d pages fetched twice after a clean stop; want at most the 16 in flight", over)
	}
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	r := trawl(t, dir, "", "demo", "--pages", "200", "--job", "demo.db")
	if r.code != 0 || !strings.Contains(r.stdout, "received 200 requests for 200 pages") {
		t.Fatalf("demo: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if got := len(storedURLs(t, filepath.Join(dir, "demo.db"))); got != 200 {
		t.Fatalf("demo stored %d pages", got)
	}
	r = trawl(t, dir, "", "stats", "demo.db")
	if r.code != 0 || !strings.Contains(r.stdout, "records   200") {
		t.Fatalf("stats: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// Every example config in configs/ loads.
func TestExampleConfigs(t *testing.T) {
	files, _ := filepath.Glob("../../configs/*.yaml")
	if len(files) == 0 {
		t.Fatal("no example configs")
	}
	for _, f := range files {
		crawl := !strings.Contains(f, "fetch")
		cmd := configs.Fetch
		if crawl {
			cmd = configs.Crawl
		}
		o := configs.Default(cmd)
		if err := configs.Load(cmd, f, &o); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if err := o.Check(cmd); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if crawl {
			if err := job.Check(o.Resolve()); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
		if _, err := extractor(&o); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// --deny-private is on by default only when the scope reaches beyond the
// seeds' hosts, and a flag or config value overrides that.
func TestDenyPrivateDefault(t *testing.T) {
	cases := []struct {
		args []string
		want bool
	}{
		{[]string{"http://h/"}, false},
		{[]string{"--scope", "domain", "http://h/"}, true},
		{[]string{"--scope", "any", "--deny-private=false", "http://h/"}, false},
		{[]string{"--deny-private", "http://h/"}, true},
	}
	for _, c := range cases {
		o, _, err := configs.Parse(configs.Crawl, c.args)
		if err != nil {
			t.Fatal(err)
		}
		if got := o.Fetch.DenyPrivate; got != c.want {
			t.Errorf("%v: DenyPrivate %v, want %v", c.args, got, c.want)
		}
	}
}

// One crawl of a site holding every trap we know ends on its own, in
// bounded memory, with a record for each failure, and still follows links
// in broken and latin-1 pages.
func TestHostileSite(t *testing.T) {
	srv := httptest.NewServer(hostileSite())
	defer srv.Close()

	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "crawl", "--job", "h.db", "--timeout", "2s", "--retries", "1", srv.URL+"/")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGQUIT) }
	cmd.Dir = dir
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("crawl: %v\n%s", err, errb.String())
	}
	if rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10; rss > 300<<20 {
		t.Errorf("peak RSS %d MB, want under 300", rss>>20)
	} else {
		t.Logf("peak RSS %d MB", rss>>20)
	}
	st, err := store.Open(filepath.Join(dir, "h.db"), &store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for path, want := range map[string]string{
		"/loop/a": "redirect loop", "/bomb": "max-body", "/huge": "max-body", "/silent": "timeout after 2s",
	} {
		if r, _ := st.Get(srv.URL + path); r == nil || !strings.Contains(r.Error, want) {
			t.Errorf("%s: %+v, want an error with %q", path, r, want)
		}
	}
	for _, path := range []string{"/from-latin/caf%C3%A9", "/from-broken", "/from-broken2", "/from-broken3", "/a%20b/%C3%BC?q=%C3%A4"} {
		if r, _ := st.Get(srv.URL + path); r == nil || r.Status != 200 {
			t.Errorf("%s not followed: %+v", path, r)
		}
	}
	if r, _ := st.Get(srv.URL + "/s/s/s/s"); r != nil {
		t.Errorf("repeated-segment trap was fetched")
	}
	cal := 0
	st.Each(func(r *store.Record) error {
		if strings.Contains(r.URL, "/cal/") {
			cal++
		}
		return nil
	})
	if cal == 0 || cal > 50 {
		t.Errorf("%d calendar pages; the hop limit should stop it at 50", cal)
	}
}

const shopRules = `
follow: ["a.next", "a.product"]
extract:
  - name: product
    match: "/shop/item/"
    fields:
      title: "h1.name"
      price: {selector: "span.price", type: number}
      tags:  {selector: "ul.tags li", all: true}
      image: {selector: "img.main", attr: src, url: true}
`

func readItems(t *testing.T, dir, job string, args ...string) []map[string]any {
	t.Helper()
	return trawlLines(t, dir, append([]string{"export", "--format", "items", job}, args...)...)
}

// trawlLines runs trawl with args in dir, which must succeed, and returns
// the JSON objects it wrote, one a line.
func trawlLines(t *testing.T, dir string, args ...string) []map[string]any {
	t.Helper()
	r := trawl(t, dir, "", args...)
	if r.code != 0 {
		t.Fatalf("trawl %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(r.stdout), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("trawl %s: line %.200q: %v", strings.Join(args, " "), line, err)
		}
		out = append(out, m)
	}
	return out
}

// A scraping job killed mid-way and resumed has each item exactly once;
// trawl extract rewrites the items from stored pages with no request.
func TestScrapeKillResumeExtract(t *testing.T) {
	shop := testsite.NewShop(200, 20)
	shop.Delay = 5 * time.Millisecond
	srv := httptest.NewServer(shop)
	defer srv.Close()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(shopRules), 0o644)
	args := []string{"crawl", "--config", "rules.yaml", "--job", "shop.db", "-c", "4", "--per-host", "4", srv.URL + "/shop/list/1"}

	killWhen(t, dir, "", args, func() bool { return shop.Requests() >= 100 })
	if n := shop.Requests(); n >= 210 {
		t.Fatalf("crawl finished before the kill (%d requests); slow the shop down", n)
	}
	if mid := readItems(t, dir, "shop.db"); len(mid) == 0 || len(mid) >= 200 {
		t.Errorf("%d items saved before the kill; want some, not all", len(mid))
	} else {
		t.Logf("killed after %d requests with %d items saved", shop.Requests(), len(mid))
	}
	if r := trawl(t, dir, "", args...); r.code != 0 {
		t.Fatalf("resume: exit %d\n%s", r.code, r.stderr)
	}
	checkShopItems(t, readItems(t, dir, "shop.db"), srv.URL)
	for p := range shop.Hits() {
		if !strings.HasPrefix(p, "/shop/") {
			t.Errorf("noise page %s fetched", p)
		}
	}

	// CSV of one type: a header and a row an item.
	r := trawl(t, dir, "", "export", "--format", "csv", "--type", "product", "shop.db")
	rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil || r.code != 0 {
		t.Fatalf("csv: exit %d, %v\n%s", r.code, err, r.stderr)
	}
	if len(rows) != 201 || strings.Join(rows[0], ",") != "type,url,fetched_at,image,price,tags,title" {
		t.Errorf("csv: %d rows, header %v", len(rows), rows[0])
	}

	// Re-extract with changed rules and no server at all.
	before := shop.Requests()
	srv.Close()
	changed := strings.Replace(shopRules, `title: "h1.name"`, `name: "h1.name"`, 1)
	changed = strings.Replace(changed, `price: {selector: "span.price", type: number}`, `price: "span.price"`, 1)
	os.WriteFile(filepath.Join(dir, "changed.yaml"), []byte(changed), 0o644)
	r = trawl(t, dir, "", "extract", "--config", "changed.yaml", "shop.db")
	if r.code != 0 {
		t.Fatalf("extract: exit %d\n%s", r.code, r.stderr)
	}
	if shop.Requests() != before {
		t.Errorf("extract made %d requests", shop.Requests()-before)
	}
	items := readItems(t, dir, "shop.db", "--type", "product")
	if len(items) != 200 {
		t.Fatalf("%d items after extract, want 200", len(items))
	}
	for _, it := range items {
		if _, ok := it["title"]; ok || it["name"] == nil || !strings.HasPrefix(it["price"].(string), "$") {
			t.Fatalf("item not rewritten: %v", it)
		}
	}
	if r := trawl(t, dir, "", "stats", "shop.db"); !strings.Contains(r.stdout, "product") {
		t.Errorf("stats shows no items:\n%s", r.stdout)
	}
}

// Rules that do not compile stop the job before any request, with exit 2
// and the rule's name.
func TestBadRulesExit2(t *testing.T) {
	shop := testsite.NewShop(10, 5)
	srv := httptest.NewServer(shop)
	defer srv.Close()
	dir := t.TempDir()
	for name, rules := range map[string]string{
		"selector": strings.Replace(shopRules, `"span.price"`, `"span[price"`, 1),
		"regexp":   strings.Replace(shopRules, `"/shop/item/"`, `"/shop/(item/"`, 1),
		"type":     strings.Replace(shopRules, `type: number`, `type: money`, 1),
		"follow":   strings.Replace(shopRules, `"a.next"`, `"a..next"`, 1),
		"key":      shopRules + "      colour: {selectr: b}\n",
	} {
		os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(rules), 0o644)
		r := trawl(t, dir, "", "crawl", "--config", name+".yaml", "--job", name+".db", srv.URL+"/shop/list/1")
		if r.code != 2 || strings.Contains(r.stderr, "goroutine") {
			t.Errorf("%s: exit %d, want 2\n%s", name, r.code, r.stderr)
		}
		if name != "follow" && name != "key" && !strings.Contains(r.stderr, `"product"`) {
			t.Errorf("%s: the error does not name the rule: %s", name, r.stderr)
		}
		t.Logf("%s: %s", name, strings.TrimSpace(r.stderr))
	}
	if n := shop.Requests(); n != 0 {
		t.Errorf("%d requests made with bad rules", n)
	}
}

// A URL that a browser refuses (its host maps to nothing under IDNA) is one
// bad line: the other lines are fetched and it is reported, on every run.
func TestFetchListWithRefusedHost(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	defer srv.Close()
	dir := t.TempDir()
	list := srv.URL + "/a\nhttps://%C2%AD/\n" + srv.URL + "/b\nhttp://user:hunter22@" + strings.TrimPrefix(srv.URL, "http://") + "/c\n"
	os.WriteFile(filepath.Join(dir, "list.txt"), []byte(list), 0o644)
	for run := range 2 {
		r := trawl(t, dir, "", "fetch", "list.txt")
		if r.code != 0 || !strings.Contains(r.stderr, `list.txt:2: bad URL "https://%C2%AD/"`) {
			t.Fatalf("run %d: exit %d, stderr:\n%s\nwant exit 0 and line 2 reported", run, r.code, r.stderr)
		}
	}
	got := storedURLs(t, filepath.Join(dir, "trawl.db"))
	for _, p := range []string{"/a", "/b", "/c"} {
		if !got[srv.URL+p] {
			t.Errorf("%s not fetched; stored %v", p, got)
		}
	}
	if r := trawl(t, dir, "", "export", "trawl.db"); strings.Contains(r.stdout, "hunter22") {
		t.Errorf("the export holds a password:\n%s", r.stdout)
	}
}

// --metrics on an address that is taken is a usage error, found before the
// job is opened; on a free one, the status page answers while the job runs.
func TestMetricsFlag(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	r := trawl(t, dir, "", "crawl", "--metrics", ln.Addr().String(), "http://127.0.0.1:1/")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--metrics "+ln.Addr().String()) {
		t.Fatalf("taken address: exit %d, stderr %q; want exit 2 naming the address", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "trawl.db")); err == nil {
		t.Error("the job file was created before the address was checked")
	}
}

// A proxy in HTTP_PROXY is no way around --deny-private: links to private
// addresses are refused before they reach the proxy, since the dial check
// would see only the proxy's address.
func TestProxyDoesNotBypassDenyPrivate(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.String()+" "+r.Host)
		mu.Unlock()
		switch {
		case r.URL.IsAbs(): // a request to proxy
			http.Error(w, "proxy says no", http.StatusBadGateway) // forwards nothing
		case r.URL.Path == "/robots.txt":
			http.NotFound(w, r)
		default:
			fmt.Fprint(w, "the proxy's own page")
		}
	}))
	defer proxy.Close()
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<a href="http://169.254.169.254/latest/meta-data/">m</a> <a href="http://10.0.0.1/">a</a>
<a href="http://192.168.1.1/admin">b</a> <a href="http://[64:ff9b::a9fe:a9fe]/">c</a>`)
	}))
	defer site.Close()
	// The proxy is a seed too, so that the dial check lets trawl reach it:
	// only the new check stands between the private links and the proxy.
	cmd := exec.Command(binary, "crawl", "--scope", "any", "--depth", "1", "--retries", "0", site.URL+"/", proxy.URL+"/seed")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "HTTP_PROXY="+proxy.URL, "http_proxy="+proxy.URL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) == 0 {
		t.Fatal("the proxy saw nothing, not even its own seed: the test proves nothing")
	}
	for _, s := range seen {
		for _, private := range []string{"169.254.169.254", "10.0.0.1", "192.168.1.1", "64:ff9b"} {
			if strings.Contains(s, private) {
				t.Errorf("the proxy received a request for a private target: %s", s)
			}
		}
	}
	if !strings.Contains(string(out), "4 failed") {
		t.Errorf("want the 4 private links recorded as failures:\n%s", out)
	}
}

// A crawl whose only seed fails is a failure (exit 3, as fetch), not "done".
func TestCrawlDeadSeedExit3(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := trawl(t, t.TempDir(), "", "crawl", "--retries", "0", "http://"+addr+"/")
	if r.code != exitFailures {
		t.Fatalf("exit %d, want 3:\n%s", r.code, r.stderr)
	}
}

// A crawl job stopped with URLs queued cannot be drained by fetch (which
// would not follow their links): fetch refuses it, and the crawl resumes.
func TestJobKindKept(t *testing.T) {
	site := testsite.New(100)
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := t.TempDir()
	r := trawl(t, dir, "", "crawl", "--max-pages", "10", srv.URL+"/p/0")
	if r.code != 0 {
		t.Fatalf("crawl: exit %d\n%s", r.code, r.stderr)
	}
	r = trawl(t, dir, srv.URL+"/p/99\n", "fetch", "-")
	if r.code != exitUsage || !strings.Contains(r.stderr, "is a crawl job") {
		t.Fatalf("fetch on a crawl job: exit %d, stderr %q; want exit 2 saying what the job is", r.code, r.stderr)
	}
	r = trawl(t, dir, "", "crawl", srv.URL+"/p/0")
	if r.code != 0 {
		t.Fatalf("crawl resumed: exit %d\n%s", r.code, r.stderr)
	}
	if got := len(storedURLs(t, filepath.Join(dir, "trawl.db"))); got != 100 {
		t.Errorf("%d pages after crawl, refused fetch, crawl; want all 100", got)
	}
}

// A job killed in its first milliseconds, however early, is resumed by the
// same command: the job file is whole or absent. Each run is killed the
// moment its job file appears (or a little after), where a file made in
// place would still lack its buckets.
func TestKilledAtBirthResumes(t *testing.T) {
	site := testsite.New(20)
	srv := httptest.NewServer(site)
	defer srv.Close()
	for i := range 15 {
		dir := t.TempDir()
		cmd := exec.Command(binary, "crawl", srv.URL+"/p/0")
		cmd.Dir = dir
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		job := filepath.Join(dir, "trawl.db")
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := os.Stat(job); err == nil {
				break
			}
		}
		time.Sleep(time.Duration(i%5) * 200 * time.Microsecond) // spread the kills over the first millisecond
		cmd.Process.Kill()
		cmd.Wait()
		r := trawl(t, dir, "", "crawl", srv.URL+"/p/0")
		if r.code != 0 {
			t.Fatalf("run %d, killed as its job appeared, then the same command: exit %d\n%s", i, r.code, r.stderr)
		}
	}
}

// One list line over 16 MiB is one bad line: the lines around it are
// fetched.
func TestFetchListHugeLine(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	defer srv.Close()
	dir := t.TempDir()
	list := srv.URL + "/a\n" + srv.URL + "/" + strings.Repeat("x", 17<<20) + "\n" + srv.URL + "/b"
	os.WriteFile(filepath.Join(dir, "list.txt"), []byte(list), 0o644)
	r := trawl(t, dir, "", "fetch", "list.txt")
	if r.code != 0 || !strings.Contains(r.stderr, "list.txt:2: longer than 16MB (skipped)") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	got := storedURLs(t, filepath.Join(dir, "trawl.db"))
	if !got[srv.URL+"/a"] || !got[srv.URL+"/b"] || len(got) != 2 {
		t.Errorf("stored %v, want /a and /b", got)
	}
}

// A site whose every page links 100,000 new URLs: the links taken from a
// page are capped (and the record says so), the results waiting for the
// writer are bounded in bytes, and the crawl stays small.
func TestLinkExplosion(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		n := served.Add(1)
		bw := bufio.NewWriterSize(w, 64<<10)
		for i := range 100_000 {
			fmt.Fprintf(bw, "<a href=\"/p%d-%d\">x</a>\n", n, i)
		}
		bw.Flush()
	}))
	defer srv.Close()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "crawl", "--job", "x.db", "--max-pages", "60", srv.URL+"/")
	cmd.Dir = dir
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("crawl: %v\n%s", err, errb.String())
	}
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10
	if rss > 500<<20 {
		t.Errorf("peak RSS %d MB, want under 500", rss>>20)
	}
	t.Logf("%d pages served; peak RSS %d MB", served.Load(), rss>>20)
	r := trawl(t, dir, "", "export", "--no-body", "x.db")
	if !strings.Contains(r.stdout, `"links_truncated":true`) {
		t.Errorf("no record says its links were cut:\n%.2000s", r.stdout)
	}
}

// A config that YAML aliases blow up (a 200 KB pattern aliased 20,000
// times: 4 GB expanded) fails fast, small, with exit 2.
func TestConfigAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("seeds: [http://127.0.0.1:1/]\nanchors:\n  - &p \"" + strings.Repeat("a", 200<<10) + "\"\nexclude:\n")
	for range 20000 {
		b.WriteString("  - *p\n")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bomb.yaml"), []byte(b.String()), 0o644)
	cmd := exec.Command(binary, "crawl", "--config", "bomb.yaml")
	cmd.Dir = dir
	var errb bytes.Buffer
	cmd.Stderr = &errb
	start := time.Now()
	err := cmd.Run()
	code := cmd.ProcessState.ExitCode()
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10
	if code != exitUsage || !strings.Contains(errb.String(), "aliases") || rss > 500<<20 {
		t.Fatalf("exit %d (%v) after %v, peak RSS %d MB, stderr %q; want exit 2 naming the aliases, under 500 MB", code, err, time.Since(start), rss>>20, errb.String())
	}
	t.Logf("refused in %v, peak RSS %d MB", time.Since(start).Round(time.Millisecond), rss>>20)
}

// A damaged job file (cut short, or with bytes changed) gives a clear
// error with an exit code of its own, never a stack trace, and is never
// written to.
// highWater returns the end of the pages a bbolt file uses, from the
// newer of its two meta pages (page id high-water mark × page size).
func highWater(t *testing.T, data []byte) int {
	t.Helper()
	le := enc.LittleEndian
	pageSize := int(le.Uint32(data[24:28]))
	best, hw := uint64(0), 0
	for _, off := range []int{0, pageSize} {
		m := data[off+16:]
		if txid := le.Uint64(m[48:56]); txid >= best {
			best, hw = txid, int(le.Uint64(m[40:48]))*pageSize
		}
	}
	if hw <= 2*pageSize || hw > len(data) {
		t.Fatalf("bad high-water mark %d (page size %d, file %d bytes)", hw, pageSize, len(data))
	}
	return hw
}

func TestDamagedJob(t *testing.T) {
	site := testsite.New(400)
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := t.TempDir()
	if r := trawl(t, dir, "", "crawl", "--job", "good.db", srv.URL+"/p/0"); r.code != 0 {
		t.Fatalf("crawl: exit %d\n%s", r.code, r.stderr)
	}
	good, err := os.ReadFile(filepath.Join(dir, "good.db"))
	if err != nil {
		t.Fatal(err)
	}
	// Bytes changed inside records (bbolt keeps no checksums: a change in
	// bytes trawl does not read cannot be seen).
	flipped := bytes.Clone(good)
	recs := 0
	for i := bytes.Index(flipped, []byte(`{"url":"http`)); i >= 0 && recs < 20; recs++ {
		for j := i + 9; j < i+40; j++ {
			flipped[j] ^= 0xA5
		}
		next := bytes.Index(flipped[i+40:], []byte(`{"url":"http`))
		if next < 0 {
			break
		}
		i += 40 + next
	}
	if recs == 0 {
		t.Fatal("no record found in the job file to damage")
	}
	// Cut inside the pages in use: bbolt grows its file ahead of them, so
	// half the file may hold them all.
	damaged := map[string][]byte{"cut.db": good[:min(len(good), highWater(t, good))/2], "flipped.db": flipped}
	for name, data := range damaged {
		os.WriteFile(filepath.Join(dir, name), data, 0o644)
		before := sha(t, filepath.Join(dir, name))
		for _, args := range [][]string{{"stats", "--check", name}, {"export", "--no-body", name}, {"crawl", "--job", name, srv.URL + "/p/0"}} {
			r := trawl(t, dir, "", args...)
			if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic:") {
				t.Errorf("%s %v: a stack trace:\n%.1500s", name, args, r.stderr)
			}
			if args[0] != "crawl" && (r.code != exitDamaged || !strings.Contains(r.stderr, "damaged")) {
				t.Errorf("%s %v: exit %d, stderr %q; want exit 4 saying the job is damaged", name, args, r.code, r.stderr)
			}
			// A crawl reads no records to resume, so only a file cut short
			// stops it before it writes.
			if after := sha(t, filepath.Join(dir, name)); after != before && (name == "cut.db" || args[0] != "crawl") {
				t.Errorf("%s %v: the damaged file was written to", name, args)
			}
		}
	}
	// Without --check, stats reads the counts the job keeps, not its
	// records: a file cut short is still found when it is opened.
	if r := trawl(t, dir, "", "stats", "cut.db"); r.code != exitDamaged {
		t.Errorf("stats cut.db: exit %d, want 4\n%s", r.code, r.stderr)
	}
	if r := trawl(t, dir, "", "stats", "good.db"); r.code != 0 {
		t.Errorf("stats good.db: exit %d\n%s", r.code, r.stderr)
	}
}

// After an interrupted trawl extract, stats and item exports say the items
// are incomplete.
func TestStatsSaysItemsIncomplete(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "<h1>x</h1>") }))
	defer srv.Close()
	dir := t.TempDir()
	if r := trawl(t, dir, srv.URL+"/a\n", "fetch", "-"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	st, err := store.Open(filepath.Join(dir, "trawl.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	st.RewriteItems(ctx, func(*store.Record, []byte) ([]store.Item, error) { cancel(); return nil, nil })
	st.Close()
	if r := trawl(t, dir, "", "stats", "trawl.db"); !strings.Contains(r.stdout, "items are incomplete") {
		t.Errorf("stats after an interrupted extract:\n%s", r.stdout)
	}
	if r := trawl(t, dir, "", "export", "--format", "items", "trawl.db"); !strings.Contains(r.stderr, "items are incomplete") {
		t.Errorf("export --format items after an interrupted extract: stderr %q", r.stderr)
	}
}

// --deny-private is a flag of fetch too: a list naming a private address
// is refused, not fetched.
func TestFetchDenyPrivate(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	r := trawl(t, t.TempDir(), srv.URL+"/x\n", "fetch", "--deny-private", "--retries", "0", "-")
	if r.code != exitFailures || !strings.Contains(r.stderr, "deny-private") || hits.Load() != 0 {
		t.Fatalf("exit %d, %d requests, stderr:\n%s\nwant exit 3, no request, the refusal named", r.code, hits.Load(), r.stderr)
	}
}

// trawl stats --json gives scripts the same counts as one JSON object.
func TestStatsJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/gone" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()
	dir := t.TempDir()
	trawl(t, dir, srv.URL+"/a\n"+srv.URL+"/gone\n", "fetch", "-")
	r := trawl(t, dir, "", "stats", "--json", "trawl.db")
	var s struct {
		Records  int            `json:"records"`
		ByStatus map[string]int `json:"by_status"`
		Failed   int            `json:"failed"`
		Failures []struct {
			URL string `json:"url"`
		} `json:"failures"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("stats --json is not JSON: %v\n%s", err, r.stdout)
	}
	if r.code != 0 || s.Records != 2 || s.ByStatus["200"] != 1 || s.ByStatus["404"] != 1 || s.Failed != 1 || len(s.Failures) != 1 || s.Failures[0].URL != srv.URL+"/gone" {
		t.Errorf("exit %d, stats %+v", r.code, s)
	}
}

// A job whose index log is being moved when the process is killed is
// indexed again by the next run, and counts each URL once: a list fetched
// with some URLs failing, killed mid-run; run again and killed as soon as
// it announces the indexing of the killed run's pages; run a third time
// with --retry-failed, which saves a second record for each failed URL.
func TestKill9WhileIndexing(t *testing.T) {
	const n = 80_000 // over two index transactions' worth of entries
	var failing atomic.Bool
	failing.Store(true)
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if failing.Load() && strings.HasSuffix(r.URL.Path, "7") {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "page %s", r.URL.Path)
	}))
	defer srv.Close()
	dir := t.TempDir()
	var list strings.Builder
	for i := range n {
		fmt.Fprintf(&list, "%s/u/%d\n", srv.URL, i)
	}
	os.WriteFile(filepath.Join(dir, "list.txt"), []byte(list.String()), 0o644)
	args := []string{"fetch", "--job", "j.db", "-c", "16", "--per-host", "16", "--retries", "0", "--ignore-robots", "--progress", "none", "list.txt"}

	killWhen(t, dir, "", args, func() bool { return hits.Load() >= n/2 })
	if hits.Load() >= n {
		t.Fatal("the first run finished before the kill")
	}

	// The second run: killed as soon as it says it is indexing.
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	announced := false
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "pages saved by the last run") {
			cmd.Process.Signal(syscall.SIGKILL)
			announced = true
			break
		}
	}
	cmd.Wait()
	if !announced {
		t.Fatal("the second run did not announce the indexing of the first run's pages")
	}

	failing.Store(false)
	r := trawl(t, dir, "", append([]string{args[0], "--retry-failed"}, args[1:]...)...)
	if r.code != 0 {
		t.Fatalf("third run: exit %d\n%s", r.code, r.stderr)
	}
	t.Logf("third run re-indexed the log the kill left: %v", strings.Contains(r.stderr, "pages saved by the last run"))
	stored := storedURLs(t, filepath.Join(dir, "j.db")) // fails on a record that is not 200: a 503 left as latest
	if len(stored) != n {
		t.Errorf("%d URLs with a 200 record, want %d", len(stored), n)
	}
	s := trawl(t, dir, "", "stats", "j.db")
	if s.code != 0 || !strings.Contains(s.stdout, fmt.Sprintf("records   %d ", n)) || strings.Contains(s.stdout, "failed ") ||
		strings.Contains(s.stdout, "not indexed") {
		t.Errorf("stats: exit %d\n%s", s.code, s.stdout)
	}
}

// hostileSite serves every trap we know: a redirect loop, an endless
// calendar, a 1 GiB gzip bomb, a 200 MB body, a silent server, latin-1
// and broken HTML, odd schemes.
func hostileSite() http.Handler {
	var one bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&one, gzip.BestCompression)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	bomb := bytes.Repeat(one.Bytes(), 1024) // 1 GiB decoded
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<html><body>
<a href="/loop/a">loop</a> <a href="/cal/2026/1">calendar</a> <a href="/bomb">bomb</a> <a href="/huge">huge</a>
<a href="/silent">silent</a> <a href="/latin">latin</a> <a href="/broken">broken</a>
<a href="mailto:x@y.z">m</a> <a href="javascript:alert(1)">j</a> <a href="data:text/html,hi">d</a>
<a href="ftp://h/f">f</a> <a href="http://[::1">bad</a> <a href="/a b/ü?q=ä">unicode</a> <a href="/`+strings.Repeat("x", 5000)+`">long</a>
<a href="/s/s/s/s">repeats</a></body></html>`)
	})
	mux.HandleFunc("/loop/a", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop/b", http.StatusFound) })
	mux.HandleFunc("/loop/b", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop/a", http.StatusFound) })
	mux.HandleFunc("/cal/", func(w http.ResponseWriter, r *http.Request) {
		var y, m int
		fmt.Sscanf(r.URL.Path, "/cal/%d/%d", &y, &m)
		fmt.Fprintf(w, `<a href="/cal/%d/%d">next month</a>`, y+m/12, m%12+1)
	})
	mux.HandleFunc("/bomb", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "text/html")
		w.Write(bomb)
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("<p>x</p>"), 8192)
		for sent := 0; sent < 200<<20; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/silent", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	mux.HandleFunc("/latin", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=iso-8859-1")
		w.Write([]byte("<p>caf\xe9 <a href=\"/from-latin/caf\xe9\">caf\xe9</a>"))
	})
	mux.HandleFunc("/broken", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<html><body><a href=/from-broken>x<div><p><a href='/from-broken2'>y<table><tr><td><a href=/from-broken3 class=z>z`)
	})
	mux.HandleFunc("/from-", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "found") })
	return mux
}

// checkShopItems fails unless items are the shop's 200 products, once
// each, with their fields right.
func checkShopItems(t *testing.T, items []map[string]any, base string) {
	t.Helper()
	urls := map[string]bool{}
	for _, it := range items {
		u := it["url"].(string)
		if urls[u] {
			t.Errorf("item %s twice", u)
		}
		urls[u] = true
		var i int
		fmt.Sscanf(u, base+"/shop/item/%d", &i)
		if it["type"] != "product" || it["title"] != testsite.ItemName(i) || it["price"] != testsite.ItemPrice(i) ||
			it["image"] != base+testsite.ItemImage(i) || len(it["tags"].([]any)) != 2 {
			t.Errorf("item %v", it)
		}
	}
	if len(items) != 200 || len(urls) != 200 {
		t.Errorf("%d items for %d pages, want 200", len(items), len(urls))
	}
}
