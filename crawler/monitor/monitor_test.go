package monitor_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/trawl-dev/trawl/configs"
	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/crawler/job"
	"github.com/trawl-dev/trawl/crawler/monitor"
	"github.com/trawl-dev/trawl/internal/testsite"
	"github.com/trawl-dev/trawl/store"
)

// slowSite serves a testsite of n pages, with some missing pages, slowly
// at first (so that a look mid-crawl finds it running) and slower later.
func slowSite(n int, served *atomic.Int64) http.Handler {
	site := testsite.New(n)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		k := served.Add(1)
		time.Sleep(time.Duration(2+k/40) * time.Millisecond)
		if strings.HasSuffix(r.URL.Path, "7") {
			http.NotFound(w, r)
			return
		}
		site.ServeHTTP(w, r)
	})
}

// crawl starts a crawl of srv observed by a Monitor served on loopback. It
// returns the monitor's URL and a function that waits for the end.
func crawl(t *testing.T, srv *httptest.Server, perHost int) (*store.Store, string, func() *crawler.Summary) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "job.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	mon := monitor.New()
	ms := httptest.NewServer(mon.Handler())
	t.Cleanup(ms.Close)
	cfg := configs.Default(configs.Crawl)
	cfg.Seeds = []string{srv.URL + "/p/0"}
	cfg.Politeness.PerHost = perHost
	cfg.Politeness.AutoThrottle = false
	c, err := job.New(st, cfg, job.WithObserver(mon))
	if err != nil {
		t.Fatal(err)
	}
	mon.Attach(c)
	done := make(chan *crawler.Summary, 1)
	go func() {
		sum, err := c.Run(context.Background())
		if err != nil {
			t.Error(err)
		}
		done <- sum
	}()
	return st, ms.URL, func() *crawler.Summary { return <-done }
}

func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse as the Prometheus text format: %v", err)
	}
	return fams
}

// value returns the value of the series of name with the label pair (if
// label is not empty).
func value(fams map[string]*dto.MetricFamily, name, label, want string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
	for _, m := range f.Metric {
		ok := label == ""
		for _, lp := range m.Label {
			if lp.GetName() == label && lp.GetValue() == want {
				ok = true
			}
		}
		if !ok {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

func TestMetricsMatchTheJob(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(slowSite(300, &served))
	defer srv.Close()
	st, base, wait := crawl(t, srv, 4)

	deadline := time.Now().Add(20 * time.Second)
	for served.Load() < 30 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // polling a condition, with a deadline
	}
	mid := scrape(t, base)
	if v := value(mid, "trawl_requests_total", "class", "2xx"); v <= 0 {
		t.Errorf("mid-crawl: trawl_requests_total{class=\"2xx\"} = %v, want some", v)
	}
	for _, name := range []string{"trawl_queue_urls", "trawl_leases", "trawl_fetch_duration_seconds", "process_resident_memory_bytes", "go_goroutines"} {
		if value(mid, name, "", "") < 0 {
			t.Errorf("mid-crawl: no %s", name)
		}
	}
	sum := wait()
	end := scrape(t, base)
	urls, bytes, err := st.Count()
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name, label, lv string
		want            float64
	}{
		{"trawl_pages_stored_total", "", "", float64(sum.Stored)},
		{"trawl_pages_stored_total", "", "", float64(urls)},
		{"trawl_stored_bytes_total", "", "", float64(bytes)},
		{"trawl_requests_total", "class", "2xx", float64(sum.ByStatus[200])},
		{"trawl_requests_total", "class", "4xx", float64(sum.ByStatus[404])},
		{"trawl_pages_failed_total", "", "", float64(sum.Failed)},
		{"trawl_queue_urls", "", "", 0},
		{"trawl_fetch_duration_seconds", "", "", float64(sum.Stored)},
	}
	for _, c := range checks {
		if got := value(end, c.name, c.label, c.lv); got != c.want {
			t.Errorf("at the end: %s{%s=%q} = %v, want %v (the job's count)", c.name, c.label, c.lv, got, c.want)
		}
	}
	if sum.ByStatus[404] == 0 || sum.ByStatus[200] == 0 {
		t.Fatalf("the site gave no mix of statuses: %v", sum.ByStatus)
	}
	if hosts := end["trawl_host_gap_seconds"]; hosts == nil || len(hosts.Metric) != 1 {
		t.Errorf("trawl_host_gap_seconds: %v, want the one host", hosts)
	}

	// /status.json tells the same, and nothing changes the job.
	resp, err := http.Get(base + "/status.json")
	if err != nil {
		t.Fatal(err)
	}
	var s monitor.Status
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s.Progress.Stored != sum.Stored || len(s.Busiest) != 1 || len(s.Rate) == 0 || len(s.Errors) == 0 {
		t.Errorf("status.json: %+v", s)
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		req, _ := http.NewRequest(m, base+"/status.json", strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s /status.json: %d, want 405 (read-only)", m, resp.StatusCode)
		}
	}
}

// A job that renders shows its browser on /metrics and /status.json.
func TestRenderingShown(t *testing.T) {
	mon := monitor.New()
	srv := httptest.NewServer(mon.Handler())
	defer srv.Close()
	if fams := scrape(t, srv.URL); fams["trawl_rendered_pages_total"] != nil {
		t.Error("rendering metrics before the job renders")
	}
	mon.ShowRendering(func() monitor.RenderView {
		return monitor.RenderView{Tabs: 4, Busy: 3, Rendered: 120, Failed: 2, Restarts: 1, MeanMS: 640}
	})
	fams := scrape(t, srv.URL)
	for _, c := range []struct {
		name, label, lv string
		want            float64
	}{
		{"trawl_render_tabs", "state", "busy", 3},
		{"trawl_render_tabs", "state", "all", 4},
		{"trawl_rendered_pages_total", "outcome", "rendered", 120},
		{"trawl_rendered_pages_total", "outcome", "failed", 2},
		{"trawl_browser_restarts_total", "", "", 1},
		{"trawl_render_seconds_mean", "", "", 0.64},
	} {
		if got := value(fams, c.name, c.label, c.lv); got != c.want {
			t.Errorf("%s{%s=%q} = %v, want %v", c.name, c.label, c.lv, got, c.want)
		}
	}
	if s := mon.Status(); s.Rendering == nil || s.Rendering.Rendered != 120 {
		t.Errorf("status: %+v", s.Rendering)
	}
}
