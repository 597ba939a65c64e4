package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// replayTools finds what the replay test drives: ReplayWeb.page's built
// app (TRAWL_REPLAYWEB, a folder with its sw.js and ui.js), puppeteer-core
// (TRAWL_NODE_PATH, a node_modules holding it), node and Chromium. It
// skips without them, or fails where TRAWL_REQUIRE_REAL is set.
func replayTools(t *testing.T) (app, nodePath, browser string) {
	t.Helper()
	app, nodePath = os.Getenv("TRAWL_REPLAYWEB"), os.Getenv("TRAWL_NODE_PATH")
	_, errApp := os.Stat(filepath.Join(app, "sw.js"))
	_, errPup := os.Stat(filepath.Join(nodePath, "puppeteer-core"))
	_, errNode := exec.LookPath("node")
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if app != "" && errApp == nil && errPup == nil && errNode == nil && browser != "" {
		return app, nodePath, browser
	}
	msg := "replay test: needs node, chromium (apt-get install -y nodejs chromium), ReplayWeb.page " +
		"(npm pack replaywebpage@2.5.3 && tar xzf replaywebpage-2.5.3.tgz; TRAWL_REPLAYWEB=package) " +
		"and puppeteer-core (npm install puppeteer-core; TRAWL_NODE_PATH=node_modules)"
	if os.Getenv("TRAWL_REQUIRE_REAL") != "" {
		t.Fatal(msg + " (TRAWL_REQUIRE_REAL is set)")
	}
	t.Skip(msg)
	return "", "", ""
}

// replaySite is a small site to replay: a page with a stylesheet, an
// image and a link to a second page, each with a Last-Modified, so that a
// second pass gets 304s.
func replaySite() http.Handler {
	img := image.NewRGBA(image.Rect(0, 0, 8, 6))
	for i := range img.Pix {
		img.Pix[i] = 0xc0
	}
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	var pngData bytes.Buffer
	png.Encode(&pngData, img)
	files := map[string][2]string{
		"/r/0": {"text/html; charset=utf-8", `<!doctype html><html><head><title>Replay zero</title><link rel="stylesheet" href="/s.css"></head>` +
			`<body><h1>Replay page zero</h1><img src="/img.png"><a href="/r/1">next</a></body></html>`},
		"/r/1":     {"text/html; charset=utf-8", `<!doctype html><html><head><title>Replay one</title></head><body><h1>Replay page one</h1></body></html>`},
		"/s.css":   {"text/css", "body { color: rgb(1, 2, 3) }\n"},
		"/img.png": {"image/png", pngData.String()},
	}
	modified := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", f[0])
		http.ServeContent(w, r, "", modified, strings.NewReader(f[1])) // answers If-Modified-Since with 304
	})
}

// TestReplayWACZ crawls a site twice with --warc (the second pass all
// server-not-modified revisits), packs a WACZ, and replays it in
// ReplayWeb.page in headless Chromium: the page shows its text, its
// stylesheet applies, its image loads, and its link leads to the next
// archived page.
func TestReplayWACZ(t *testing.T) {
	app, nodePath, browser := replayTools(t)
	site := httptest.NewServer(replaySite())
	defer site.Close()
	dir := t.TempDir()
	wz := filepath.Join(dir, "site.wacz")
	crawl := []string{"crawl", "--job", "j.db", "--warc", "w", "--requisites", site.URL + "/r/0"}
	if r := trawl(t, dir, "", crawl...); r.code != 0 {
		t.Fatalf("pass 1: exit %d\n%s", r.code, r.stderr)
	}
	r := trawl(t, dir, "", append(crawl, "--recrawl", "--wacz", wz)...)
	if r.code != 0 || !strings.Contains(r.stderr, "4 unchanged") {
		t.Fatalf("pass 2: exit %d\n%s", r.code, r.stderr)
	}
	index := fmt.Sprintf(`<!doctype html><html><head><script src="/ui.js"></script></head><body>
<replay-web-page source="/site.wacz" url="%s/r/0" embed="replayonly" style="display:block;width:1000px;height:700px"></replay-web-page>
</body></html>`, site.URL)
	replay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/", "/index.html":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(index))
		case "/ui.js":
			http.ServeFile(w, r, filepath.Join(app, "ui.js"))
		case "/replay/sw.js":
			http.ServeFile(w, r, filepath.Join(app, "sw.js"))
		case "/site.wacz":
			http.ServeFile(w, r, wz) // with Range, as the replay app reads it
		default:
			http.NotFound(w, r)
		}
	}))
	defer replay.Close()
	cmd := exec.Command("node", "testdata/replay.js", browser, replay.URL+"/index.html", site.URL+"/r/0", site.URL+"/r/1")
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("replay.js: %v\n%s", err, out)
	}
	var got struct {
		Text, Color, NextText, Error string
		ImageWidth                   int
		Logs                         []string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("replay.js said %q: %v", out, err)
	}
	if got.Error != "" || !strings.Contains(got.Text, "Replay page zero") || got.Color != "rgb(1, 2, 3)" || got.ImageWidth != 8 ||
		!strings.Contains(got.NextText, "Replay page one") {
		t.Errorf("replay: text %q, colour %q, image width %d, next page %q, error %s\nconsole:\n%s",
			got.Text, got.Color, got.ImageWidth, got.NextText, got.Error, strings.Join(got.Logs, "\n"))
	}
}
