package browser_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/crawler/browser"
	"github.com/trawl-dev/trawl/internal/chromiumtest"
)

// handlerLoader answers a page's requests from an in-process handler, and
// notes what was asked.
type handlerLoader struct {
	h     http.Handler
	mu    sync.Mutex
	asked []string
}

func (l *handlerLoader) Load(_ context.Context, req *browser.Request) *browser.Response {
	l.mu.Lock()
	l.asked = append(l.asked, req.Type+" "+req.URL)
	l.mu.Unlock()
	if strings.HasSuffix(req.URL, "/blocked") {
		return &browser.Response{Err: errors.New("robots.txt disallows it"), Blocked: true}
	}
	r := httptest.NewRequest(req.Method, req.URL, strings.NewReader(string(req.Body)))
	w := httptest.NewRecorder()
	l.h.ServeHTTP(w, r)
	body, _ := io.ReadAll(w.Result().Body)
	return &browser.Response{Status: w.Code, Header: w.Header(), Body: body}
}

func (l *handlerLoader) saw(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, a := range l.asked {
		if strings.Contains(a, s) {
			return true
		}
	}
	return false
}

var site = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/api":
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"title":"from the API","links":["/a","/b"]}`)
	case "/app.js":
		w.Header().Set("Content-Type", "text/javascript")
		io.WriteString(w, `fetch("/api").then(r => r.json()).then(d => {
			document.querySelector("#app").innerHTML = "<h1>" + d.title + "</h1>" + d.links.map(l => '<a href="' + l + '">' + l + '</a>').join("");
			fetch("/blocked").catch(() => { document.body.dataset.blocked = "yes" });
		});`)
	}
})

func page(url, body string) *browser.Page {
	return &browser.Page{URL: url, Status: 200, Header: http.Header{"Content-Type": {"text/html"}}, Body: []byte(body),
		Idle: 300 * time.Millisecond, Timeout: 10 * time.Second}
}

func start(t *testing.T, opts browser.Options) *browser.Pool {
	opts.Path = chromiumtest.Need(t)
	p, err := browser.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// A page built by script: the DOM after it holds what the API gave, every
// request went through the Loader, and a blocked one failed in the page.
func TestRenderAnswersEveryRequest(t *testing.T) {
	p := start(t, browser.Options{Tabs: 2, TabPages: 2, UserAgent: "trawl-test"})
	l := &handlerLoader{h: site}
	for i := range 3 { // past TabPages: a tab is replaced on the way
		res, err := p.Render(context.Background(), page("http://127.0.0.1:1/p"+strconv.Itoa(i), `<!doctype html><div id="app"></div><script src="/app.js"></script>`), l)
		if err != nil {
			t.Fatal(err)
		}
		dom := string(res.DOM)
		for _, want := range []string{"<!DOCTYPE html>", "<h1>from the API</h1>", `<a href="/a">`, `data-blocked="yes"`} {
			if !strings.Contains(dom, want) {
				t.Errorf("render %d: the DOM lacks %s:\n%s", i, want, dom)
			}
		}
		if !res.Settled {
			t.Errorf("render %d did not settle: %s", i, res.Note)
		}
	}
	for _, want := range []string{"Script http://127.0.0.1:1/app.js", "XHR http://127.0.0.1:1/api", "XHR http://127.0.0.1:1/blocked"} {
		if !l.saw(want) {
			t.Errorf("the loader was not asked for %s: %v", want, l.asked)
		}
	}
	if s := p.Stats(); s.Rendered != 3 || s.Busy != 0 {
		t.Errorf("stats %+v, want 3 rendered, none busy", s)
	}
}

// A page that never stops polling is taken at its deadline; one that
// scripts a navigation stays and names where it would have gone; a
// screenshot is a PNG; a selector to wait for ends the wait.
func TestRenderDeadlineNavigationScreenshot(t *testing.T) {
	p := start(t, browser.Options{Tabs: 1})
	l := &handlerLoader{h: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "{}") })}
	pg := page("http://127.0.0.1:1/poll", `<p>x</p><script>setInterval(() => fetch("/tick?" + Math.random()), 50)</script>`)
	pg.Timeout = 2 * time.Second
	res, err := p.Render(context.Background(), pg, l)
	if err != nil {
		t.Fatal(err)
	}
	if res.Settled || !strings.Contains(res.Note, "not settled") {
		t.Errorf("a polling page: settled %v, note %q", res.Settled, res.Note)
	}
	pg = page("http://127.0.0.1:1/go", `<p>x</p><script>setTimeout(() => { location.href = "/elsewhere"; setTimeout(() => document.body.append(Object.assign(document.createElement("i"), {id: "late"})), 300) }, 10)</script>`)
	pg.Wait, pg.Screenshot = "#late", true
	res, err = p.Render(context.Background(), pg, l)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Settled || len(res.Navigations) != 1 || res.Navigations[0] != "http://127.0.0.1:1/elsewhere" {
		t.Errorf("navigation: settled %v, navigations %v", res.Settled, res.Navigations)
	}
	if !strings.Contains(string(res.DOM), `id="late"`) {
		t.Errorf("the page left: %s", res.DOM)
	}
	if !strings.HasPrefix(string(res.Screenshot), "\x89PNG") {
		t.Errorf("screenshot is not a PNG: % x", res.Screenshot[:min(8, len(res.Screenshot))])
	}
}

// A script in an endless loop and a page that eats memory fail with the
// reason, and the next page renders in a fresh tab.
func TestRenderHungAndCrashed(t *testing.T) {
	p := start(t, browser.Options{Tabs: 1, MaxMemory: 64 << 20})
	l := &handlerLoader{h: site}
	pg := page("http://127.0.0.1:1/loop", `<p>x</p><script>setTimeout(() => { for (;;) {} }, 10)</script>`)
	pg.Timeout = 2 * time.Second
	if _, err := p.Render(context.Background(), pg, l); !errors.Is(err, browser.ErrHung) {
		t.Errorf("endless loop: %v, want ErrHung", err)
	}
	pg = page("http://127.0.0.1:1/eat", `<script>const a = []; setInterval(() => { for (let i = 0; i < 100; i++) a.push(new Array(1e5).fill(Math.random())) }, 1)</script>`)
	pg.Timeout = 20 * time.Second
	if _, err := p.Render(context.Background(), pg, l); !errors.Is(err, browser.ErrCrashed) {
		t.Errorf("memory eater: %v, want ErrCrashed", err)
	}
	res, err := p.Render(context.Background(), page("http://127.0.0.1:1/ok", `<div id="app"></div><script src="/app.js"></script>`), l)
	if err != nil || !strings.Contains(string(res.DOM), "from the API") {
		t.Fatalf("after a hung and a crashed page: %v", err)
	}
	if s := p.Stats(); s.Failed != 2 || s.Rendered != 1 {
		t.Errorf("stats %+v, want 2 failed and 1 rendered", s)
	}
}

// Find names how to install Chromium when there is none.
func TestFindExplains(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := browser.Find(""); err == nil || !strings.Contains(err.Error(), "apt-get install chromium") {
		t.Errorf("Find with no Chromium: %v", err)
	}
	if _, err := browser.Find(filepath.Join(os.TempDir(), "no-such-chromium")); err == nil {
		t.Error("Find of a missing path: no error")
	}
}

// A tab that rendered a page that never stops polling renders the next
// page with none of the last one's requests.
func TestRenderTabReuseIsolated(t *testing.T) {
	p := start(t, browser.Options{Tabs: 1})
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "{}") })
	poll := page("http://127.0.0.1:1/poll", `<p>x</p><script>setInterval(() => fetch("/tick?" + Math.random()), 20)</script>`)
	poll.Timeout = time.Second
	if _, err := p.Render(context.Background(), poll, &handlerLoader{h: ok}); err != nil {
		t.Fatal(err)
	}
	next := &handlerLoader{h: ok}
	pg := page("http://127.0.0.1:1/next", `<p>next</p><script>setTimeout(() => fetch("/mine"), 200)</script>`)
	if _, err := p.Render(context.Background(), pg, next); err != nil {
		t.Fatal(err)
	}
	if next.saw("/tick") || !next.saw("/mine") {
		t.Errorf("the next page's loader was asked for %v", next.asked)
	}
}

// A browser killed under the pool is started again: the next page renders.
func TestRenderBrowserKilled(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	p := start(t, browser.Options{Tabs: 1})
	l := &handlerLoader{h: site}
	pg := func() *browser.Page {
		return page("http://127.0.0.1:1/p", `<!doctype html><div id="app"></div><script src="/app.js"></script>`)
	}
	if _, err := p.Render(context.Background(), pg(), l); err != nil {
		t.Fatal(err)
	}
	killed := 0
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline"); err == nil && strings.Contains(string(cmdline), tmp) {
			syscall.Kill(pid, syscall.SIGKILL)
			killed++
		}
	}
	if killed == 0 {
		t.Fatal("found no browser process to kill")
	}
	res, err := p.Render(context.Background(), pg(), l)
	if err != nil || !strings.Contains(string(res.DOM), "from the API") {
		t.Fatalf("no render after the browser was killed: %v", err)
	}
	if s := p.Stats(); s.Restarts != 1 {
		t.Errorf("%d restarts, want 1", s.Restarts)
	}
}
