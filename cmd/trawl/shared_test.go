package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/internal/redistest"
	"github.com/trawl-dev/trawl/internal/testsite"
)

// hostSites serves one synthetic site on each of n loopback hosts
// (127.0.0.1, 127.0.0.2, …: separate hosts on Linux), and records the
// most requests any one host had in flight at once.
type hostSites struct {
	sites    []*testsite.Site
	urls     []string
	inflight []atomic.Int32
	mu       sync.Mutex
	peak     []int32
}

func newHostSites(t testing.TB, n, pages int, delay time.Duration) *hostSites {
	t.Helper()
	hs := &hostSites{inflight: make([]atomic.Int32, n), peak: make([]int32, n)}
	for i := range n {
		site := testsite.New(pages)
		site.Delay = delay
		site.Links = 4
		site.PageSize = 2 << 10
		hs.sites = append(hs.sites, site)
		hs.urls = append(hs.urls, serveOn(t, fmt.Sprintf("127.0.0.%d", i+1), hs.count(i, site)))
	}
	return hs
}

// serveOn serves h on a free port of loopback address ip (127.0.0.1,
// 127.0.0.2, …: separate hosts on Linux) until t ends, and returns its URL.
func serveOn(t testing.TB, ip string, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Skipf("loopback host %s: %v (Linux serves all of 127/8)", ip, err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func (hs *hostSites) count(i int, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hs.inflight[i].Add(1)
		defer hs.inflight[i].Add(-1)
		hs.mu.Lock()
		hs.peak[i] = max(hs.peak[i], n)
		hs.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (hs *hostSites) seeds() []string {
	var s []string
	for _, u := range hs.urls {
		s = append(s, u+"/p/0")
	}
	return s
}

func (hs *hostSites) total() int {
	n := 0
	for _, s := range hs.sites {
		n += s.Total()
	}
	return n
}

// refetched returns how many page requests went to pages already
// requested, and how many pages were never requested.
func (hs *hostSites) refetched() (again, never int) {
	for _, s := range hs.sites {
		for i := range s.Pages {
			switch h := s.Hits(i); {
			case h == 0:
				never++
			case h > 1:
				again += h - 1
			}
		}
	}
	return again, never
}

// proc is a trawl process started in the background.
type proc struct {
	cmd      *exec.Cmd
	out, err syncBuffer
	done     chan struct{}
	code     int
}

// syncBuffer is a bytes.Buffer that a test may read while the process
// still writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startTrawl(t testing.TB, dir string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binary, args...), done: make(chan struct{})}
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.err
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			p.code = ee.ExitCode()
		}
		close(p.done)
	}()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	return p
}

func (p *proc) wait(t testing.TB, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(d):
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
		t.Fatalf("trawl did not finish in %v:\n%s", d, p.err.String())
		return -1
	}
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// mergedURLs exports the jobs merged and counts the records of each URL.
func mergedURLs(t *testing.T, dir string, jobs ...string) map[string]int {
	t.Helper()
	r := trawl(t, dir, "", append([]string{"export", "--no-body"}, jobs...)...)
	if r.code != 0 {
		t.Fatalf("export: exit %d: %s", r.code, r.stderr)
	}
	urls := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec struct {
			URL    string `json:"url"`
			Status int    `json:"status"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Status != 200 {
			t.Errorf("%s: status %d", rec.URL, rec.Status)
		}
		urls[rec.URL]++
	}
	return urls
}

func sharedArgs(rds *redistest.Server, crawl, job string, hs *hostSites, extra ...string) []string {
	return sharedArgsAt(rds.URL(), crawl, job, hs, extra...)
}

// sharedArgsAt are the arguments of a process of the crawl shared through
// the frontier at addr (a Redis, or a cluster).
func sharedArgsAt(addr, crawl, job string, hs *hostSites, extra ...string) []string {
	args := []string{"crawl", "--frontier", addr, "--crawl", crawl, "--job", job,
		"--per-host", "2", "-c", "8", "--auto-throttle=false"}
	return append(append(args, extra...), hs.seeds()...)
}

// startJobs starts a trawl process for each job, with args(job).
func startJobs(t *testing.T, dir string, jobs []string, args func(job string) []string) []*proc {
	t.Helper()
	var ps []*proc
	for _, j := range jobs {
		ps = append(ps, startTrawl(t, dir, args(j)...))
	}
	return ps
}

func checkMerged(t *testing.T, dir string, hs *hostSites, jobs ...string) {
	t.Helper()
	urls := mergedURLs(t, dir, jobs...)
	want := 0
	for i, s := range hs.sites {
		want += s.Pages
		for p := range s.Pages {
			if n := urls[hs.urls[i]+testsite.Path(p)]; n != 1 {
				t.Errorf("%s%s: %d records in the merged export, want 1", hs.urls[i], testsite.Path(p), n)
			}
		}
	}
	if len(urls) != want {
		t.Errorf("merged export holds %d URLs, want %d", len(urls), want)
	}
}

// waitAll waits for each process to exit 0.
func waitAll(t *testing.T, ps []*proc) {
	t.Helper()
	for i, p := range ps {
		if code := p.wait(t, 3*time.Minute); code != 0 {
			t.Fatalf("process %d: exit %d\n%s", i, code, p.err.String())
		}
	}
}

// checkPeaks checks that no host had more than most requests in flight.
func (hs *hostSites) checkPeaks(t *testing.T, most int32) {
	t.Helper()
	for i, peak := range hs.peak {
		if peak > most {
			t.Errorf("host %s saw %d requests in flight at once, want at most %d (--per-host across processes)", hs.urls[i], peak, most)
		}
	}
}

func TestSharedCrawlThreeProcesses(t *testing.T) {
	rds := redistest.Start(t, redistest.Options{})
	hs := newHostSites(t, 4, 300, 20*time.Millisecond)
	dir := t.TempDir()
	jobs := []string{"a.db", "b.db", "c.db"}
	ps := startJobs(t, dir, jobs, func(j string) []string { return sharedArgs(rds, "three", j, hs) })
	waitAll(t, ps)
	hs.checkPeaks(t, 2)
	again, never := hs.refetched()
	if again != 0 || never != 0 {
		t.Errorf("%d pages fetched twice, %d never fetched; want every page once", again, never)
	}
	checkMerged(t, dir, hs, jobs...)
	for i, j := range jobs {
		if n := len(storedURLs(t, filepath.Join(dir, j))); n < 100 {
			t.Errorf("process %d stored %d pages: the work was not shared", i, n)
		}
	}
	st := trawl(t, dir, "", "stats", "--frontier", rds.URL(), "--crawl", "three")
	if st.code != 0 || !strings.Contains(st.stdout, "1200 completed, 0 queued, 0 leased") || !strings.Contains(st.stdout, "done") {
		t.Errorf("stats --frontier: exit %d\n%s%s", st.code, st.stdout, st.stderr)
	}
	// A process that joins after the crawl is done exits at once.
	before := hs.total()
	late := trawl(t, dir, "", sharedArgs(rds, "three", "late.db", hs)...)
	if late.code != 0 || hs.total() != before {
		t.Errorf("a process joining a finished crawl: exit %d, %d requests; want 0 and none\n%s", late.code, hs.total()-before, late.stderr)
	}
}

func TestSharedCrawlKill9(t *testing.T) {
	rds := redistest.Start(t, redistest.Options{})
	hs := newHostSites(t, 4, 300, 20*time.Millisecond)
	dir := t.TempDir()
	jobs := []string{"a.db", "b.db", "c.db"}
	ps := startJobs(t, dir, jobs, func(j string) []string { return sharedArgs(rds, "kill", j, hs, "--lease", "2s") })
	waitFor(t, time.Minute, "300 requests", func() bool { return hs.total() >= 300 })
	ps[0].cmd.Process.Signal(syscall.SIGKILL)
	<-ps[0].done
	for i, p := range ps[1:] {
		if code := p.wait(t, 3*time.Minute); code != 0 {
			t.Fatalf("process %d: exit %d\n%s", i+1, code, p.err.String())
		}
	}
	again, never := hs.refetched()
	if never != 0 {
		t.Errorf("%d pages never fetched after a process was killed", never)
	}
	// The dead process held at most -c 8 leases.
	if again > 8 {
		t.Errorf("%d pages fetched twice, more than the 8 leases the killed process could hold", again)
	}
	st := trawl(t, dir, "", "stats", "--frontier", rds.URL(), "--crawl", "kill")
	t.Logf("killed one of three at 300 requests: %d pages fetched twice\n%s", again, st.stdout)
	checkMerged(t, dir, hs, jobs...)
	for i, peak := range hs.peak {
		if peak > 2 {
			t.Errorf("host %s saw %d requests in flight at once, want at most 2", hs.urls[i], peak)
		}
	}
}

func TestSharedCrawlRedisRestart(t *testing.T) {
	rds := redistest.Start(t, redistest.Options{AOF: true})
	hs := newHostSites(t, 2, 300, 10*time.Millisecond)
	dir := t.TempDir()
	jobs := []string{"a.db", "b.db"}
	ps := startJobs(t, dir, jobs, func(j string) []string { return sharedArgs(rds, "restart", j, hs, "--lease", "5s") })
	waitFor(t, time.Minute, "150 requests", func() bool { return hs.total() >= 150 })
	rds.Kill()
	at := hs.total()
	time.Sleep(3 * time.Second) // Redis stays away for longer than the client's own retries: the point of the test
	if err := rds.Restart(); err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		if code := p.wait(t, 3*time.Minute); code != 0 {
			t.Fatalf("process %d: exit %d\n%s", i, code, p.err.String())
		}
		if !strings.Contains(p.err.String(), "redis unreachable") || !strings.Contains(p.err.String(), "redis back") {
			t.Errorf("process %d did not say Redis was unreachable:\n%s", i, p.err.String())
		}
	}
	again, never := hs.refetched()
	if never != 0 {
		t.Errorf("%d pages never fetched after Redis restarted", never)
	}
	t.Logf("Redis killed at %d requests and restarted from its AOF: %d pages fetched twice", at, again)
	checkMerged(t, dir, hs, jobs...)
}

func TestSharedCrawlRedisLostState(t *testing.T) {
	rds := redistest.Start(t, redistest.Options{}) // no persistence: a restart empties it
	hs := newHostSites(t, 1, 300, 10*time.Millisecond)
	dir := t.TempDir()
	p := startTrawl(t, dir, sharedArgs(rds, "lost", "a.db", hs, "--lease", "5s")...)
	waitFor(t, time.Minute, "50 requests", func() bool { return hs.total() >= 50 })
	if err := rds.Restart(); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, time.Minute); code != 1 || !strings.Contains(p.err.String(), "gone") {
		t.Fatalf("after Redis came back empty: exit %d, want 1 saying the crawl is gone\n%s", code, p.err.String())
	}
	before := hs.total()
	r := trawl(t, dir, "", sharedArgs(rds, "lost", "a.db", hs)...)
	if r.code != 1 || !strings.Contains(r.stderr, "restarted without persistence") || hs.total() != before {
		t.Fatalf("rerun on the emptied Redis: exit %d, %d requests; want 1, none, and why\n%s", r.code, hs.total()-before, r.stderr)
	}
}

func TestSharedCrawlUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"crawl", "--frontier", "redis://127.0.0.1:1/0", "http://127.0.0.1/"},
		{"crawl", "--crawl", "x", "http://127.0.0.1/"},
		{"crawl", "--frontier", "http://127.0.0.1:1/", "--crawl", "x", "http://127.0.0.1/"},
		{"crawl", "--frontier", "redis://127.0.0.1:1/0", "--crawl", "a{b}", "http://127.0.0.1/"},
		{"fetch", "--frontier", "redis://127.0.0.1:1/0", "--crawl", "x", "--lease", "10ms", "-"},
		{"stats", "--frontier", "redis://127.0.0.1:1/0"},
		{"crawl", "--frontier", "redis+cluster:///0", "--crawl", "x", "http://127.0.0.1/"},
		{"crawl", "--frontier", "redis+cluster://127.0.0.1:1,,127.0.0.1:2", "--crawl", "x", "http://127.0.0.1/"},
		{"crawl", "--frontier", "redis+cluster://127.0.0.1:1/3", "--crawl", "x", "http://127.0.0.1/"},
		{"crawl", "--frontier", "redis://127.0.0.1:1/0", "--crawl", "x", "--frontier-shards", "-1", "http://127.0.0.1/"},
		{"crawl", "--frontier", "redis://127.0.0.1:1/0", "--crawl", "x", "--frontier-shards", "5000", "http://127.0.0.1/"},
		{"crawl", "--frontier", "redis://127.0.0.1:1/0", "--crawl", "x", "--frontier-replicas", "-2", "http://127.0.0.1/"},
	} {
		if r := trawl(t, dir, "", args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, r.code, r.stderr)
		}
	}
	// Nothing listens there: a clear error, not a usage one.
	r := trawl(t, dir, "", "crawl", "--job", "x.db", "--frontier", "redis://127.0.0.1:1/0", "--crawl", "x", "http://127.0.0.1/")
	if r.code != 1 || !strings.Contains(r.stderr, "--frontier") {
		t.Errorf("unreachable Redis: exit %d, want 1\n%s", r.code, r.stderr)
	}
	r = trawl(t, dir, "", "crawl", "--job", "y.db", "--frontier", "redis+cluster://127.0.0.1:1,127.0.0.1:2", "--crawl", "x", "http://127.0.0.1/")
	if r.code != 1 || !strings.Contains(r.stderr, "--frontier") {
		t.Errorf("unreachable cluster: exit %d, want 1\n%s", r.code, r.stderr)
	}
}

// The status page of a process in a shared crawl shows the crawl-wide
// counts from Redis and every process of the crawl.
func TestSharedCrawlStatusPage(t *testing.T) {
	rds := redistest.Start(t, redistest.Options{})
	hs := newHostSites(t, 2, 300, 20*time.Millisecond)
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	a := startTrawl(t, dir, sharedArgs(rds, "status", "a.db", hs, "--metrics", addr)...)
	b := startTrawl(t, dir, sharedArgs(rds, "status", "b.db", hs)...)
	var view struct {
		Shared *struct {
			Crawl     string `json:"crawl"`
			Completed int    `json:"completed"`
			Processes []struct {
				ID    string `json:"id"`
				Alive bool   `json:"alive"`
			} `json:"processes"`
		} `json:"shared"`
	}
	waitFor(t, time.Minute, "both processes on the status page", func() bool {
		resp, err := http.Get("http://" + addr + "/status.json")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		if json.NewDecoder(resp.Body).Decode(&view) != nil || view.Shared == nil {
			return false
		}
		alive := 0
		for _, p := range view.Shared.Processes {
			if p.Alive {
				alive++
			}
		}
		return alive == 2 && view.Shared.Completed > 0
	})
	if view.Shared.Crawl != "status" {
		t.Errorf("status page names crawl %q", view.Shared.Crawl)
	}
	for _, p := range []*proc{a, b} {
		if code := p.wait(t, 3*time.Minute); code != 0 {
			t.Fatalf("exit %d\n%s", code, p.err.String())
		}
	}
}

// Two fetch processes given the same list share it: each URL is fetched
// once in all, and a crawl process cannot join their fetch.
func TestSharedFetch(t *testing.T) {
	rds := redistest.Start(t, redistest.Options{})
	hs := newHostSites(t, 2, 250, 10*time.Millisecond)
	dir := t.TempDir()
	var list strings.Builder
	for _, u := range hs.urls {
		for p := range 250 {
			fmt.Fprintf(&list, "%s%s\n", u, testsite.Path(p))
		}
	}
	listFile := filepath.Join(dir, "list.txt")
	if err := os.WriteFile(listFile, []byte(list.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	args := func(job string) []string {
		return []string{"fetch", "--frontier", rds.URL(), "--crawl", "list", "--job", job, "--per-host", "2", "-c", "4", listFile}
	}
	a, b := startTrawl(t, dir, args("a.db")...), startTrawl(t, dir, args("b.db")...)
	for _, p := range []*proc{a, b} {
		if code := p.wait(t, 3*time.Minute); code != 0 {
			t.Fatalf("exit %d\n%s", code, p.err.String())
		}
	}
	again, never := hs.refetched()
	if again != 0 || never != 0 {
		t.Errorf("%d URLs fetched twice, %d never; want each once", again, never)
	}
	checkMerged(t, dir, hs, "a.db", "b.db")
	r := trawl(t, dir, "", sharedArgs(rds, "list", "c.db", hs)...)
	if r.code != 2 || !strings.Contains(r.stderr, "fetch crawl") {
		t.Errorf("a crawl joining a fetch: exit %d, want 2 saying what the crawl is\n%s", r.code, r.stderr)
	}
}

// A Redis that may evict a crawl's keys is refused before anything is
// fetched, saying what to set.
func TestSharedCrawlRefusesAnEvictingRedis(t *testing.T) {
	rds := redistest.Start(t, redistest.Options{Args: []string{"--maxmemory-policy", "allkeys-lru"}})
	hs := newHostSites(t, 1, 20, 0)
	r := trawl(t, t.TempDir(), "", sharedArgs(rds, "evict", "a.db", hs)...)
	if r.code != exitUsage || !strings.Contains(r.stderr, "noeviction") || hs.total() != 0 {
		t.Fatalf("exit %d after %d requests; want 2, none, and the advice\n%s", r.code, hs.total(), r.stderr)
	}
}

// A Redis out of memory (noeviction) pauses the crawl with a clear message,
// not the script's error; with memory again it finishes.
func TestSharedCrawlWaitsWhileRedisIsFull(t *testing.T) {
	rds := redistest.Start(t, redistest.Options{})
	hs := newHostSites(t, 1, 300, 10*time.Millisecond)
	dir := t.TempDir()
	p := startTrawl(t, dir, sharedArgs(rds, "full", "a.db", hs)...)
	waitFor(t, time.Minute, "50 requests", func() bool { return hs.total() >= 50 })
	c := rds.Client(t)
	ctx := context.Background()
	if err := c.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "writes refused for want of memory", func() bool {
		info, _ := c.Info(ctx, "errorstats").Result()
		return strings.Contains(info, "errorstat_OOM:count=")
	})
	if err := c.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.err.String())
	}
	if !strings.Contains(p.err.String(), "out of memory") || strings.Contains(p.err.String(), "script") {
		t.Errorf("want the out-of-memory message and no script error:\n%s", p.err.String())
	}
	if _, never := hs.refetched(); never != 0 {
		t.Errorf("%d pages never fetched", never)
	}
	checkMerged(t, dir, hs, "a.db")
}

// A Redis set to evict keys mid-run, and evicting them, stops the crawl
// with exit 1 saying why, instead of a process that makes no progress; the
// job keeps what it saved.
func TestSharedCrawlStopsWhenRedisEvicts(t *testing.T) {
	rds := redistest.Start(t, redistest.Options{})
	hs := newHostSites(t, 1, 3000, 5*time.Millisecond)
	dir := t.TempDir()
	p := startTrawl(t, dir, sharedArgs(rds, "evicted", "a.db", hs)...)
	waitFor(t, time.Minute, "100 requests", func() bool { return hs.total() >= 100 })
	c := rds.Client(t)
	ctx := context.Background()
	if err := c.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.ConfigSet(ctx, "maxmemory", "1mb").Err(); err != nil {
		t.Fatal(err)
	}
	code := p.wait(t, time.Minute)
	if code != 1 || !strings.Contains(p.err.String(), "noeviction") {
		t.Fatalf("exit %d; want 1 naming noeviction\n%s", code, p.err.String())
	}
	if urls := mergedURLs(t, dir, "a.db"); len(urls) < 50 {
		t.Errorf("the job holds %d pages; it saved more before Redis evicted", len(urls))
	}
}

// A second process joining a shared crawl with other seeds or scope is
// refused, saying what the crawl was started with; one with the same
// settings joins.
func TestSharedCrawlRefusesOtherSettings(t *testing.T) {
	rds := redistest.Start(t, redistest.Options{})
	hs := newHostSites(t, 2, 5, 0)
	dir := t.TempDir()
	if r := trawl(t, dir, "", sharedArgs(rds, "same", "a.db", hs)...); r.code != 0 {
		t.Fatalf("first process: exit %d\n%s", r.code, r.stderr)
	}
	r := trawl(t, dir, "", sharedArgs(rds, "same", "b.db", hs, "--scope", "domain")...)
	if r.code != exitUsage || !strings.Contains(r.stderr, "other settings") || !strings.Contains(r.stderr, "scope host") ||
		!strings.Contains(r.stderr, "scope domain") {
		t.Errorf("another scope: exit %d\n%s", r.code, r.stderr)
	}
	other := append([]string{"crawl", "--frontier", rds.URL(), "--crawl", "same", "--job", "c.db"}, hs.seeds()[:1]...)
	if r := trawl(t, dir, "", other...); r.code != exitUsage || !strings.Contains(r.stderr, "seeds") {
		t.Errorf("other seeds: exit %d\n%s", r.code, r.stderr)
	}
	if r := trawl(t, dir, "", sharedArgs(rds, "same", "d.db", hs)...); r.code != 0 {
		t.Errorf("the same settings: exit %d\n%s", r.code, r.stderr)
	}
}

// One of three processes is killed with kill -9 every 2 s, ten times, and
// started again on its job each time: every page is fetched, pages fetched
// twice are at most the killed processes' leases, and no lease is left in
// Redis at the end.
func TestSharedCrawlKill9Repeatedly(t *testing.T) {
	rds := redistest.Start(t, redistest.Options{})
	hs := newHostSites(t, 4, 1000, 40*time.Millisecond)
	dir := t.TempDir()
	jobs := []string{"a.db", "b.db", "c.db"}
	start := func(j string) *proc { return startTrawl(t, dir, sharedArgs(rds, "kills", j, hs, "--lease", "2s")...) }
	ps := make([]*proc, len(jobs))
	for i, j := range jobs {
		ps[i] = start(j)
	}
	kills := 0
	for ; kills < 10 && hs.total() < 3600; kills++ {
		time.Sleep(2 * time.Second) // the pace: a kill every 2 s
		i := kills % len(ps)
		ps[i].cmd.Process.Signal(syscall.SIGKILL)
		<-ps[i].done
		ps[i] = start(jobs[i])
	}
	if kills < 10 {
		t.Fatalf("the crawl was nearly done after %d kills; slow the sites down", kills)
	}
	for i, p := range ps {
		if code := p.wait(t, 3*time.Minute); code != 0 {
			t.Fatalf("process %d: exit %d\n%s", i, code, p.err.String())
		}
	}
	again, never := hs.refetched()
	if never != 0 {
		t.Errorf("%d pages never fetched", never)
	}
	if again > kills*8 {
		t.Errorf("%d pages fetched twice, more than the %d leases %d killed processes could hold", again, kills*8, kills)
	}
	st := trawl(t, dir, "", "stats", "--frontier", rds.URL(), "--crawl", "kills")
	if !strings.Contains(st.stdout, "4000 completed, 0 queued, 0 leased") {
		t.Errorf("leases left in Redis, or pages missing:\n%s%s", st.stdout, st.stderr)
	}
	t.Logf("%d kills: %d pages fetched twice", kills, again)
	checkMerged(t, dir, hs, jobs...)
}

// Redis paused for 20 s (CLIENT PAUSE 20000) mid-crawl: the processes
// wait for it, saying so, and the crawl completes with every page.
func TestSharedCrawlRedisPaused(t *testing.T) {
	rds := redistest.Start(t, redistest.Options{})
	hs := newHostSites(t, 2, 300, 10*time.Millisecond)
	dir := t.TempDir()
	jobs := []string{"a.db", "b.db"}
	ps := startJobs(t, dir, jobs, func(j string) []string { return sharedArgs(rds, "pause", j, hs, "--lease", "60s") })
	waitFor(t, time.Minute, "150 requests", func() bool { return hs.total() >= 150 })
	c := rds.Client(t)
	if err := c.Do(context.Background(), "CLIENT", "PAUSE", "20000").Err(); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	for i, p := range ps {
		if code := p.wait(t, 3*time.Minute); code != 0 {
			t.Fatalf("process %d: exit %d\n%s", i, code, p.err.String())
		}
	}
	if took := time.Since(paused); took < 19*time.Second {
		t.Errorf("the crawl ended %v after a 20 s pause of Redis: it did not wait for it", took)
	}
	again, never := hs.refetched()
	if never != 0 || again != 0 {
		t.Errorf("%d pages never fetched, %d twice, after Redis was paused", never, again)
	}
	checkMerged(t, dir, hs, jobs...)
}

// Redis whose disk fills up (its AOF on a small tmpfs) refuses writes
// with MISCONF: a shared fetch waits for it, saying so, and finishes once
// the disk has room again. Needs root, to mount the tmpfs.
func TestSharedFetchRedisDiskFull(t *testing.T) {
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (needs root): %v %s", err, out)
	}
	defer exec.Command("umount", "-l", mnt).Run()
	// appendfsync everysec: with always, Redis exits on a failed write.
	rds := redistest.Start(t, redistest.Options{AOF: true, Args: []string{"--dir", mnt, "--appendfsync", "everysec", "--auto-aof-rewrite-percentage", "0"}})
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		time.Sleep(time.Millisecond)
	}))
	defer srv.Close()
	dir := t.TempDir()
	var list strings.Builder
	for i := range 30000 {
		fmt.Fprintf(&list, "%s/%d/%s\n", srv.URL, i, strings.Repeat("x", 60))
	}
	os.WriteFile(filepath.Join(dir, "list.txt"), []byte(list.String()), 0o644)
	p := startTrawl(t, dir, "fetch", "--frontier", rds.URL(), "--crawl", "full", "--job", "f.db", "-c", "8", "--per-host", "8", "list.txt")
	c := rds.Client(t)
	waitFor(t, time.Minute, "Redis's disk full", func() bool {
		info, _ := c.Info(context.Background(), "persistence").Result()
		return strings.Contains(info, "aof_last_write_status:err")
	})
	// The disk stays full until trawl has met the refusal and said so.
	waitFor(t, time.Minute, "trawl's word of the full disk", func() bool {
		return strings.Contains(p.err.String(), "cannot write to its disk")
	})
	if out, err := exec.Command("mount", "-o", "remount,size=64m", mnt).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, out)
	}
	if code := p.wait(t, 3*time.Minute); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.err.String())
	}
	if !strings.Contains(p.err.String(), "redis back") {
		t.Errorf("no word of Redis writing again:\n%s", p.err.String())
	}
	if n := len(storedURLs(t, filepath.Join(dir, "f.db"))); n != 30000 {
		t.Errorf("%d URLs stored, want 30000", n)
	}
}
