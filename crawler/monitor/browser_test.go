package monitor_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"net/http/httptest"

	"github.com/trawl-dev/trawl/configs"
	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/crawler/job"
	"github.com/trawl-dev/trawl/crawler/monitor"
	"github.com/trawl-dev/trawl/internal/chromiumtest"
	"github.com/trawl-dev/trawl/store"
)

// chromium finds a headless browser, or skips the test.
func chromium(t *testing.T) string { return chromiumtest.Need(t) }

// look loads url in headless Chromium, lets its script run, and returns
// the page as it then stands, and what the browser logged.
func look(t *testing.T, bin, url string, extra ...string) (dom, log string) {
	t.Helper()
	args := append([]string{"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0",
		"--virtual-time-budget=3000", "--window-size=1200,1000"}, extra...)
	if len(extra) == 0 {
		args = append(args, "--dump-dom")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, errb.String())
	}
	return out.String(), errb.String()
}

var rateRE = regexp.MustCompile(`id="rate">([0-9.]+)<`)

// A person opens the status page mid-crawl: it shows a pages/s figure that
// moves, the host table, and no script errors.
func TestStatusPageInBrowser(t *testing.T) {
	bin := chromium(t)
	var served atomic.Int64
	srv := httptest.NewServer(slowSite(5000, &served))
	defer srv.Close()
	st, err := store.Open(filepath.Join(t.TempDir(), "job.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mon := monitor.New()
	ms := httptest.NewServer(mon.Handler())
	defer ms.Close()
	cfg := configs.Default(configs.Crawl)
	cfg.Seeds = []string{srv.URL + "/p/0"}
	cfg.Politeness.AutoThrottle = false
	c, err := job.New(st, cfg, job.WithObserver(mon))
	if err != nil {
		t.Fatal(err)
	}
	mon.Attach(c)
	// As a process of a shared crawl shows it (the data comes from Redis
	// there; see cmd/trawl's TestSharedCrawlStatusPage).
	mon.ShowShared(func(context.Context) (monitor.SharedView, error) {
		return monitor.SharedView{Crawl: "books", Completed: 1234, Queued: 56, Leased: 7, Processes: []monitor.ProcessRow{
			{ID: "node1/4242/ab12cd34", Completed: 800, Leased: 4, Alive: true, Seen: time.Now().UTC().Format(time.RFC3339)},
			{ID: "node2/4343/ef56ab78", Completed: 434, Leased: 3, Alive: false, Seen: time.Now().UTC().Format(time.RFC3339)},
		}}, nil
	})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	defer func() { stop(); <-done }()

	waitServed := func(n int64) { waitFor(&served, n) }
	rate := func(dom string) float64 { t.Helper(); return pagesPerS(t, dom) }
	waitServed(50)
	dom1, log1 := look(t, bin, ms.URL+"/")
	r1 := rate(dom1)
	n := served.Load()
	waitServed(n + 150)
	// The figure is the rate of the last whole 5-second bucket: wait until
	// the job's own figure has moved, then look again.
	deadline := time.Now().Add(20 * time.Second)
	for math.Abs(mon.Status().PagesPerS-r1) < 0.15 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond) // polling a condition, with a deadline
	}
	dom2, log2 := look(t, bin, ms.URL+"/")

	rates := checkPages(t, srv.URL, rate, []string{dom1, dom2}, []string{log1, log2})
	shot := filepath.Join(os.TempDir(), "trawl-status-page.png")
	if dir := os.Getenv("TRAWL_ARTIFACTS"); dir != "" {
		shot = filepath.Join(dir, "status-page.png")
	}
	look(t, bin, ms.URL+"/", "--screenshot="+shot, "--hide-scrollbars")
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 10000 {
		t.Errorf("screenshot %s: %v", shot, err)
	}
	t.Logf("screenshot: %s; pages/s %v then %v", shot, rates[0], rates[1])
}

// waitFor waits until served reaches n, for 30 seconds at most.
func waitFor(served *atomic.Int64, n int64) {
	deadline := time.Now().Add(30 * time.Second)
	for served.Load() < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // polling a condition, with a deadline
	}
}

// pagesPerS reads the pages/s figure of the status page's DOM.
func pagesPerS(t *testing.T, dom string) float64 {
	t.Helper()
	m := rateRE.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("no pages/s figure on the page:\n%s", dom)
	}
	r, _ := strconv.ParseFloat(m[1], 64)
	return r
}

// checkPages checks two looks at the status page of a crawl of site: the
// shared crawl's section, the host table, a pages/s figure that moved,
// and no script error in the browser's logs. It returns the two figures.
func checkPages(t *testing.T, site string, rate func(string) float64, doms, logs []string) []float64 {
	t.Helper()
	var rates []float64
	for _, dom := range doms {
		rates = append(rates, rate(dom))
		for _, want := range []string{"Crawl books: 1234 pages in all", `<td class="host">node1/4242/ab12cd34</td>`, "gone since"} {
			if !strings.Contains(dom, want) {
				t.Errorf("the shared crawl's section lacks %q", want)
			}
		}
		host := strings.TrimPrefix(site, "http://")
		if !strings.Contains(dom, `<td class="host">`+host+`</td>`) {
			t.Errorf("the host table does not name %s:\n%s", host, dom)
		}
	}
	if rates[0] <= 0 || rates[0] == rates[1] {
		t.Errorf("pages/s read %v then %v: want a live figure that moves", rates[0], rates[1])
	}
	for _, l := range logs {
		for _, bad := range []string{"Uncaught", ":ERROR:CONSOLE", "Refused to", "Failed to load resource"} {
			if strings.Contains(l, bad) {
				t.Errorf("the browser logged %q:\n%s", bad, l)
			}
		}
	}
	return rates
}

// Hostile strings where the status page shows what a crawl met (hosts,
// error kinds, held and down hosts) are shown as text in Chromium: none
// runs as script or becomes an element.
func TestStatusPageHostileStrings(t *testing.T) {
	bin := chromium(t)
	mon := monitor.New()
	evil := `<img src=x onerror="document.body.setAttribute('data-pwned','1')">`
	for i := range 3 {
		mon.Visited(crawler.Visit{Host: fmt.Sprintf("%s%d</td></script>", evil, i), Status: 500, Kind: fetch.ErrorKind(evil), Duration: time.Second})
	}
	mon.Held(evil+"held", time.Now().Add(time.Hour))
	ms := httptest.NewServer(mon.Handler())
	defer ms.Close()
	dom, _ := look(t, bin, ms.URL+"/")
	if strings.Contains(dom, `data-pwned="1"`) || strings.Contains(dom, `<img src="x"`) {
		t.Fatalf("a hostile string became part of the page:\n%s", dom)
	}
	if !strings.Contains(dom, "&lt;img src=x onerror=") {
		t.Errorf("the hostile host is not shown as text:\n%s", dom)
	}
}

// A crawl of 100,000 hosts keeps /metrics to a bounded set of series.
func TestMetricsCardinality(t *testing.T) {
	mon := monitor.New()
	for i := range 100_000 {
		mon.Visited(crawler.Visit{Host: fmt.Sprintf("host%d.example:80", i), Status: 200 + i%4*100, Kind: fetch.ErrorKind([]string{"", "timeout", "dns"}[i%3]), Duration: time.Millisecond})
	}
	ms := httptest.NewServer(mon.Handler())
	defer ms.Close()
	resp, err := http.Get(ms.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	series := 0
	for _, l := range strings.Split(string(data), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			series++
		}
	}
	if series > 400 {
		t.Errorf("%d series on /metrics after 100,000 hosts, want a bounded few hundred", series)
	}
	if n := strings.Count(string(data), "trawl_host_gap_seconds{"); n > 10 {
		t.Errorf("%d host gap series, want the 10 busiest", n)
	}
}
