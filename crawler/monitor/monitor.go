// Package monitor watches a running job from outside: Prometheus metrics
// at /metrics, the same figures for scripts at /status.json, and a live
// status page at / that a person can read on a phone. It is read-only: no
// request changes the job.
//
// A Monitor is the job's crawler.Observer; attach the crawler it observes
// with Attach, and serve Handler.
package monitor

import (
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/internal/metrics"
)

// Source is what a Monitor reads at each look: a running crawler.
type Source interface {
	Progress() crawler.Progress
	DownHosts() []string
}

const (
	bucket   = 5 * time.Second // resolution of the rate chart
	buckets  = 60              // five minutes of it
	topHosts = 10              // hosts named in metrics and tables
)

// Monitor counts what a job does and serves it.
type Monitor struct {
	reg   metrics.Registry
	start time.Time

	requests  *metrics.CounterVec
	errs      *metrics.CounterVec
	skipped   *metrics.CounterVec
	retries   *metrics.Counter
	fetchDur  *metrics.Histogram
	batchSize *metrics.Histogram
	commitDur *metrics.Histogram

	mu       sync.Mutex
	src      Source
	shared   func(context.Context) (SharedView, error)
	revisits func() (RevisitView, error)
	render   func() RenderView
	series   [buckets]point // ring of rate buckets
	hosts    map[string]*hostStat
	kinds    map[string]int
	held     map[string]time.Time
}

type point struct {
	At     int64 // bucket start, unix seconds
	Pages  int   `json:"pages"`
	Errors int   `json:"errors"`
}

type hostStat struct {
	requests int
	errors   int
	busy     time.Duration // sum of durations
	gap      time.Duration
}

// New returns a Monitor with its metrics registered in a registry of its
// own, with the Go runtime's and the process's.
func New() *Monitor {
	m := &Monitor{
		start:     time.Now(),
		hosts:     make(map[string]*hostStat),
		kinds:     make(map[string]int),
		held:      make(map[string]time.Time),
		requests:  metrics.NewCounterVec("trawl_requests_total", "Requests answered or failed, by status class (none: no answer).", "class"),
		errs:      metrics.NewCounterVec("trawl_request_errors_total", "Requests that failed after their retries, by kind of failure.", "kind"),
		skipped:   metrics.NewCounterVec("trawl_skipped_total", "URLs not fetched on purpose, by reason.", "reason"),
		retries:   metrics.NewCounter("trawl_retries_total", "Attempts after the first."),
		fetchDur:  metrics.NewHistogram("trawl_fetch_duration_seconds", "Duration of a request's last attempt, body included.", metrics.ExponentialBuckets(0.001, 4, 10)),
		batchSize: metrics.NewHistogram("trawl_commit_batch_results", "Results saved per writer transaction.", metrics.ExponentialBuckets(1, 4, 6)),
		commitDur: metrics.NewHistogram("trawl_commit_duration_seconds", "Duration of a writer transaction, flushes included.", metrics.ExponentialBuckets(0.0005, 4, 9)),
	}
	m.reg.Register(m.requests, m.errs, m.skipped, m.retries, m.fetchDur, m.batchSize, m.commitDur)
	m.reg.Collect(m.collect)
	m.reg.Collect(metrics.Runtime(m.start))
	return m
}

// Attach makes m read the job's counts from src.
func (m *Monitor) Attach(src Source) {
	m.mu.Lock()
	m.src = src
	m.mu.Unlock()
}

// Visited implements crawler.Observer.
func (m *Monitor) Visited(v crawler.Visit) {
	if v.Skipped != "" {
		m.skipped.Inc(string(v.Skipped))
		return
	}
	m.requests.Inc(class(v.Status))
	if v.Kind != "" {
		m.errs.Inc(string(v.Kind))
	}
	m.retries.Add(float64(max(v.Attempts-1, 0)))
	m.fetchDur.Observe(v.Duration.Seconds())
	failed := v.Kind != "" || v.Status >= 400
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.point(time.Now())
	p.Pages++
	h := m.hosts[v.Host]
	if h == nil {
		h = &hostStat{}
		m.hosts[v.Host] = h
	}
	h.requests++
	h.busy += v.Duration
	h.gap = v.Gap
	if failed {
		p.Errors++
		h.errors++
		kind := string(v.Kind)
		if kind == "" {
			kind = "HTTP " + class(v.Status)
		}
		m.kinds[kind]++
	}
}

// Committed implements crawler.Observer.
func (m *Monitor) Committed(results int, took time.Duration) {
	m.batchSize.Observe(float64(results))
	m.commitDur.Observe(took.Seconds())
}

// Held implements crawler.Observer.
func (m *Monitor) Held(host string, until time.Time) {
	m.mu.Lock()
	m.held[host] = until
	m.mu.Unlock()
}

// point returns the rate bucket of now, clearing a stale one. m.mu must
// be held.
func (m *Monitor) point(now time.Time) *point {
	at := now.Truncate(bucket).Unix()
	p := &m.series[(at/int64(bucket.Seconds()))%buckets]
	if p.At != at {
		*p = point{At: at}
	}
	return p
}

func class(status int) string {
	switch {
	case status == 0:
		return "none"
	case status < 200:
		return "1xx"
	case status < 300:
		return "2xx"
	case status < 400:
		return "3xx"
	case status < 500:
		return "4xx"
	}
	return "5xx"
}

// Handler serves the status page at /, the metrics at /metrics and the
// status at /status.json, for GET and HEAD only.
func (m *Monitor) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.reg.Handler())
	mux.HandleFunc("GET /status.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		enc.Encode(m.Status())
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
		page, _ := assets.ReadFile("status.html")
		w.Write(page)
	})
	mux.HandleFunc("GET /status.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		js, _ := assets.ReadFile("status.js")
		w.Write(js)
	})
	return mux
}

//go:embed status.html status.js
var assets embed.FS

// Status is the job as /status.json tells it.
type Status struct {
	Elapsed   float64       `json:"elapsed_s"`
	Progress  crawlerCounts `json:"progress"`
	PagesPerS float64       `json:"pages_per_s"` // over the last bucket or two
	Rate      []ratePoint   `json:"rate"`        // pages/s and errors/s, oldest first
	Busiest   []HostRow     `json:"busiest"`
	Slowest   []HostRow     `json:"slowest"`
	Errors    []ErrorRow    `json:"errors"`
	Down      []string      `json:"down"`
	Held      []HeldRow     `json:"held"`
	Processes []ProcessRow  `json:"processes"` // the processes of a shared crawl (none on one machine)
	Shared    *SharedView   `json:"shared,omitempty"`
	Revisits  *RevisitView  `json:"revisits,omitempty"`
	Rendering *RenderView   `json:"rendering,omitempty"`
}

// RenderView is what the browser that renders a job's pages did (see
// --render).
type RenderView struct {
	Tabs     int     `json:"tabs"`     // at most at once
	Busy     int64   `json:"busy"`     // rendering now
	Rendered int64   `json:"rendered"` // pages, this run
	Failed   int64   `json:"failed"`   // renders that hung or crashed
	Restarts int64   `json:"restarts"` // browsers started again
	MeanMS   float64 `json:"mean_ms"`  // rendering time a page
}

// RevisitView is what a job crawled again found (see --recrawl and
// --continuous), as the job keeps it.
type RevisitView struct {
	Scheduled    int     `json:"scheduled"` // URLs waiting in a continuous job's schedule
	Due          int     `json:"due"`       // of them, due by now
	Revisited    int     `json:"revisited"` // URL records of a pass after the first
	Changed      int     `json:"changed"`
	Unchanged    int     `json:"unchanged"`
	Gone         int     `json:"gone"`
	New          int     `json:"new"`
	Failed       int     `json:"failed"`
	NotModified  int     `json:"not_modified"`  // 304s among them
	BytesSaved   int64   `json:"bytes_saved"`   // body bytes the 304s did not transfer
	ChangedRatio float64 `json:"changed_ratio"` // changed of changed and unchanged
}

type crawlerCounts struct {
	Stored   int   `json:"stored"`
	Total    int   `json:"total"`
	Failed   int   `json:"failed"`
	Skipped  int   `json:"skipped"`
	Bytes    int64 `json:"bytes"`
	Received int64 `json:"received"`
	Queued   int   `json:"queued"`
	Leased   int   `json:"leased"`
	Hosts    int   `json:"hosts"`
	Items    int   `json:"items"`
}

type ratePoint struct {
	T      int64   `json:"t"`
	Pages  float64 `json:"pages_per_s"`
	Errors float64 `json:"errors_per_s"`
}

// A HostRow is one host in the tables.
type HostRow struct {
	Host     string  `json:"host"`
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	AvgMS    float64 `json:"avg_ms"`
	GapMS    float64 `json:"gap_ms"`
}

// An ErrorRow is one kind of failure and how often it happened.
type ErrorRow struct {
	Kind  string `json:"kind"`
	Count int    `json:"count"`
}

// A HeldRow is a host held by its server's request to slow down.
type HeldRow struct {
	Host  string  `json:"host"`
	ForS  float64 `json:"for_s"`
	Until string  `json:"until"`
}

// SharedView is the crawl-wide view of a crawl shared by several
// processes, as its frontier keeps it.
type SharedView struct {
	Crawl     string       `json:"crawl"`
	Completed int          `json:"completed"`
	Queued    int          `json:"queued"`
	Leased    int          `json:"leased"`
	Lost      int          `json:"lost"` // leases that expired and were fetched again
	Processes []ProcessRow `json:"processes"`
}

// ProcessRow is one process of a shared crawl.
type ProcessRow struct {
	ID        string `json:"id"`
	Completed int    `json:"completed"`
	Leased    int    `json:"leased"`
	Alive     bool   `json:"alive"`
	Seen      string `json:"seen"` // its last report, RFC 3339
}

// ShowShared makes the status page show the crawl-wide view that fn
// returns (fn is called at each look, with a deadline).
func (m *Monitor) ShowShared(fn func(context.Context) (SharedView, error)) {
	m.mu.Lock()
	m.shared = fn
	m.mu.Unlock()
}

// ShowRevisits makes the status page and the metrics show what the
// revisits of a job crawled again found, as fn returns it at each look.
func (m *Monitor) ShowRevisits(fn func() (RevisitView, error)) {
	m.mu.Lock()
	m.revisits = fn
	m.mu.Unlock()
}

// ShowRendering makes the status page and the metrics show the job's
// browser, as fn returns it at each look.
func (m *Monitor) ShowRendering(fn func() RenderView) {
	m.mu.Lock()
	m.render = fn
	m.mu.Unlock()
}

// Status returns the job's status now.
func (m *Monitor) Status() Status {
	now := time.Now()
	m.mu.Lock()
	src, shared, revisits, render := m.src, m.shared, m.revisits, m.render
	s := Status{Elapsed: now.Sub(m.start).Seconds(), Processes: []ProcessRow{}, Down: []string{}, Held: []HeldRow{}}
	cur := now.Truncate(bucket).Unix()
	first := m.start.Truncate(bucket).Unix()
	for i := buckets - 1; i >= 0; i-- {
		at := cur - int64(i)*int64(bucket.Seconds())
		if at < first && cur-first >= int64(bucket.Seconds()) {
			continue // the chart starts with the job (once it has two points)
		}
		p := m.series[(at/int64(bucket.Seconds()))%buckets]
		rp := ratePoint{T: at}
		if p.At == at {
			span := bucket.Seconds()
			if i == 0 { // the current bucket is still filling
				span = max(now.Sub(time.Unix(at, 0)).Seconds(), 1)
			}
			rp.Pages, rp.Errors = float64(p.Pages)/span, float64(p.Errors)/span
		}
		s.Rate = append(s.Rate, rp)
	}
	if n := len(s.Rate); n > 0 {
		// The last whole bucket, unless the current one is half full or
		// the job is younger than it.
		s.PagesPerS = s.Rate[n-1].Pages
		if n >= 2 && now.Sub(time.Unix(cur, 0)) < bucket/2 && s.Rate[n-2].T >= first {
			s.PagesPerS = s.Rate[n-2].Pages
		}
	}
	rows := make([]HostRow, 0, len(m.hosts))
	for h, st := range m.hosts {
		rows = append(rows, HostRow{Host: h, Requests: st.requests, Errors: st.errors,
			AvgMS: float64(st.busy.Milliseconds()) / float64(max(st.requests, 1)), GapMS: float64(st.gap.Milliseconds())})
	}
	s.Busiest = top(rows, func(a, b HostRow) int { return cmp.Compare(b.Requests, a.Requests) })
	s.Slowest = top(rows, func(a, b HostRow) int { return cmp.Compare(b.AvgMS, a.AvgMS) })
	for k, n := range m.kinds {
		s.Errors = append(s.Errors, ErrorRow{k, n})
	}
	slices.SortFunc(s.Errors, func(a, b ErrorRow) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Kind, b.Kind)) })
	for h, until := range m.held {
		if until.After(now) {
			s.Held = append(s.Held, HeldRow{Host: h, ForS: until.Sub(now).Seconds(), Until: until.UTC().Format(time.RFC3339)})
		}
	}
	m.mu.Unlock()
	if src != nil {
		p := src.Progress()
		s.Progress = crawlerCounts{Stored: p.Stored, Total: p.Total, Failed: p.Failed, Skipped: p.Skipped, Bytes: p.Bytes,
			Received: p.Received, Queued: p.Queued, Leased: p.Leased, Hosts: p.Hosts, Items: p.Items}
		s.Down = append(s.Down, src.DownHosts()...)
		slices.Sort(s.Down)
	}
	if revisits != nil {
		if v, err := revisits(); err == nil {
			s.Revisits = &v
		}
	}
	if render != nil {
		v := render()
		s.Rendering = &v
	}
	if shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if v, err := shared(ctx); err == nil {
			s.Shared, s.Processes = &v, v.Processes
		}
		cancel()
	}
	return s
}

// top returns the first topHosts rows in the order of cmp.
func top(rows []HostRow, order func(a, b HostRow) int) []HostRow {
	out := slices.Clone(rows)
	slices.SortFunc(out, func(a, b HostRow) int { return cmp.Or(order(a, b), cmp.Compare(a.Host, b.Host)) })
	return out[:min(len(out), topHosts)]
}

// desc names a family the monitor reads at each scrape.
type desc struct {
	name, help string
	typ        metrics.Type
}

var (
	descStored   = desc{"trawl_pages_stored_total", "Pages saved in the job this run.", metrics.CounterType}
	descFailed   = desc{"trawl_pages_failed_total", "Pages saved this run with an error or a 4xx/5xx status.", metrics.CounterType}
	descBytes    = desc{"trawl_stored_bytes_total", "Body bytes saved this run.", metrics.CounterType}
	descReceived = desc{"trawl_received_bytes_total", "Download bytes received this run, unfinished files included.", metrics.CounterType}
	descItems    = desc{"trawl_items_total", "Items extracted and saved this run.", metrics.CounterType}
	descQueued   = desc{"trawl_queue_urls", "URLs waiting in the frontier.", metrics.GaugeType}
	descLeased   = desc{"trawl_leases", "URLs leased: being fetched or saved.", metrics.GaugeType}
	descHosts    = desc{"trawl_hosts", "Hosts with work, by state (active: with queued or leased URLs).", metrics.GaugeType}
	descGap      = desc{"trawl_host_gap_seconds", "The pace of the busiest hosts: least time between request starts.", metrics.GaugeType}
	descRevisits = desc{"trawl_revisits", "URL records of a job's passes after the first, by change.", metrics.GaugeType}
	descNotMod   = desc{"trawl_not_modified", "Revisits the server answered 304 Not Modified.", metrics.GaugeType}
	descSaved    = desc{"trawl_not_modified_bytes_saved", "Body bytes the 304s did not transfer.", metrics.GaugeType}
	descDue      = desc{"trawl_revisit_urls", "URLs in a continuous job's schedule, by state (due: by now).", metrics.GaugeType}
	descTabs     = desc{"trawl_render_tabs", "Browser tabs, by state (busy: rendering now; all: the most at once).", metrics.GaugeType}
	descRendered = desc{"trawl_rendered_pages_total", "Pages rendered in the browser this run, by outcome.", metrics.CounterType}
	descRenderS  = desc{"trawl_render_seconds_mean", "Mean time to render a page this run.", metrics.GaugeType}
	descRestarts = desc{"trawl_browser_restarts_total", "Browsers started again after one died or hung.", metrics.CounterType}
)

// collect writes the job's progress, read from its Status at each scrape.
func (m *Monitor) collect(w *metrics.Writer) {
	s := m.Status()
	p := s.Progress
	put := func(d desc, v float64, labels ...string) { w.Sample(d.name, d.help, d.typ, v, labels...) }
	put(descStored, float64(p.Stored))
	put(descFailed, float64(p.Failed))
	put(descBytes, float64(p.Bytes))
	put(descReceived, float64(p.Received))
	put(descItems, float64(p.Items))
	put(descQueued, float64(p.Queued))
	put(descLeased, float64(p.Leased))
	put(descHosts, float64(p.Hosts), "state", "active")
	put(descHosts, float64(len(s.Held)), "state", "held")
	put(descHosts, float64(len(s.Down)), "state", "down")
	for _, h := range s.Busiest {
		put(descGap, h.GapMS/1000, "host", h.Host)
	}
	if r := s.Revisits; r != nil {
		for _, c := range []struct {
			change string
			n      int
		}{{"changed", r.Changed}, {"unchanged", r.Unchanged}, {"gone", r.Gone}, {"new", r.New}, {"failed", r.Failed}} {
			put(descRevisits, float64(c.n), "change", c.change)
		}
		put(descNotMod, float64(r.NotModified))
		put(descSaved, float64(r.BytesSaved))
		put(descDue, float64(r.Scheduled), "state", "scheduled")
		put(descDue, float64(r.Due), "state", "due")
	}
	if r := s.Rendering; r != nil {
		put(descTabs, float64(r.Busy), "state", "busy")
		put(descTabs, float64(r.Tabs), "state", "all")
		put(descRendered, float64(r.Rendered), "outcome", "rendered")
		put(descRendered, float64(r.Failed), "outcome", "failed")
		put(descRenderS, r.MeanMS/1000)
		put(descRestarts, float64(r.Restarts))
	}
}
