package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/trawl-dev/trawl/configs"
	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/crawler/job"
	"github.com/trawl-dev/trawl/crawler/monitor"
	"github.com/trawl-dev/trawl/crawler/render"
	"github.com/trawl-dev/trawl/crawler/task"
	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/internal/atomicfile"
	"github.com/trawl-dev/trawl/internal/jobfile"
	"github.com/trawl-dev/trawl/internal/units"
	"github.com/trawl-dev/trawl/store"
	"github.com/trawl-dev/trawl/store/export"
)

func cmdCrawl(ctx context.Context, args []string, stderr io.Writer) error {
	o, rest, err := configs.Parse(configs.Crawl, args)
	if err != nil {
		return err
	}
	o.Seeds = append(o.Seeds, rest...)
	if len(o.Seeds) == 0 {
		return usagef("no seed URL given")
	}
	for _, s := range o.Seeds {
		if _, err := frontier.Canonical(s); err != nil {
			return usagef("seed: %v", err)
		}
	}
	sum, err := runJob(ctx, o, nil, stderr)
	if err != nil {
		return err
	}
	if sum.Stored > 0 && sum.Failed == sum.Stored {
		return exitStatus(exitFailures) // not one page of the run succeeded
	}
	return nil
}

func cmdFetch(ctx context.Context, args []string, stdin io.Reader, stderr io.Writer) error {
	o, rest, err := configs.Parse(configs.Fetch, args)
	if err != nil {
		return err
	}
	if len(rest) > 1 {
		return usagef("fetch takes one LIST, got %d arguments", len(rest))
	}
	name, in := "stdin", stdin
	if len(rest) == 1 && rest[0] != "-" {
		f, err := os.Open(rest[0])
		if err != nil {
			return usagef("list: %v", err)
		}
		defer f.Close()
		name, in = rest[0], f
	}
	sum, err := runJob(ctx, o, func(c *crawler.Crawler) error { return enqueueList(ctx, c, name, in, o.Download.Dir != "", stderr) }, stderr)
	if err != nil {
		return err
	}
	if sum.Failed > 0 {
		return exitStatus(exitFailures)
	}
	return nil
}

// enqueueList adds the requests of a list, one a line: a URL, or a JSON
// object (see fetch.Request). Blank lines and '#' comments are skipped;
// bad lines are reported with their number and skipped.
func enqueueList(ctx context.Context, c *crawler.Crawler, name string, in io.Reader, outDir bool, stderr io.Writer) error {
	const batch = 10000
	lines := &lineReader{r: bufio.NewReaderSize(in, 64<<10), max: maxListLine}
	reqs := make([]task.Task, 0, batch)
	line, bad, total, added := 0, 0, 0, 0
	warned := false
	flush := func() error {
		n, err := c.Add(ctx, reqs...)
		added += n
		reqs = reqs[:0]
		return err
	}
	for lines.next() {
		line++
		if lines.tooLong {
			bad++
			fmt.Fprintf(stderr, "trawl fetch: %s:%d: longer than %s (skipped)\n", name, line, units.FormatSize(maxListLine))
			continue
		}
		r, err := parseListLine(lines.text)
		if r == nil && err == nil {
			continue
		}
		if err != nil {
			bad++
			if bad <= 20 {
				fmt.Fprintf(stderr, "trawl fetch: %s:%d: %v (skipped)\n", name, line, err)
			}
			continue
		}
		total++
		if r.Out != "" && !outDir && !warned {
			fmt.Fprintf(stderr, "trawl fetch: %s:%d: \"out\" names a file, but there is no --out-dir: bodies go into the job\n", name, line)
			warned = true
		}
		reqs = append(reqs, *r)
		if len(reqs) == batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := lines.err; err != nil {
		return fmt.Errorf("reading %s: line %d: %w", name, line+1, err)
	}
	if err := flush(); err != nil {
		return err
	}
	if bad > 20 {
		fmt.Fprintf(stderr, "trawl fetch: %s: %d bad lines in all (skipped)\n", name, bad)
	}
	fmt.Fprintf(stderr, "trawl fetch: %s: %d requests read, %d new to the job\n", name, total, added)
	return nil
}

// maxListLine is the longest list line read; a longer one is skipped.
const maxListLine = 16 << 20

// lineReader reads the lines of a list, skipping (and flagging) those
// longer than max without holding them.
type lineReader struct {
	r       *bufio.Reader
	max     int
	text    string
	tooLong bool
	err     error
	buf     []byte
}

// next reads the next line; it returns false at the end or on an error.
func (l *lineReader) next() bool {
	l.buf, l.tooLong, l.text = l.buf[:0], false, ""
	for {
		chunk, err := l.r.ReadSlice('\n')
		if !l.tooLong {
			if len(l.buf)+len(chunk) > l.max+1 {
				l.tooLong, l.buf = true, l.buf[:0]
			} else {
				l.buf = append(l.buf, chunk...)
			}
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF:
			if len(l.buf) == 0 && !l.tooLong && len(chunk) == 0 {
				return false
			}
		case err != nil:
			l.err = err
			return false
		}
		l.text = strings.TrimRight(string(l.buf), "\r\n")
		return true
	}
}

// parseListLine reads one line of a list: a URL, or a JSON request object
// such as {"url": "…", "method": "POST", "headers": {…}, "body": "…", "out":
// "name"}. It returns nil for a blank or comment line, and an error for a
// bad one.
func parseListLine(line string) (*task.Task, error) {
	s := strings.TrimSpace(line)
	if s == "" || s[0] == '#' {
		return nil, nil
	}
	var r struct {
		fetch.Request
		Out string `json:"out,omitempty"`
	}
	if s[0] == '{' {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("bad JSON request: %w", err)
		}
		if dec.More() {
			return nil, errors.New("bad JSON request: more after the object")
		}
		if r.URL == "" {
			return nil, errors.New(`JSON request without "url"`)
		}
	} else {
		r.URL = s
	}
	t, err := task.Task{Request: r.Request, Out: r.Out}.Canonical()
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// runJob opens the job, prepares the crawler, calls fill (if any) to add
// work, runs the job with progress on a terminal, and prints the summary.
func runJob(ctx context.Context, o *configs.Job, fill func(*crawler.Crawler) error, stderr io.Writer) (*crawler.Summary, error) {
	if err := job.Check(*o); err != nil {
		return nil, err
	}
	opts := []job.Option{}
	ex, err := extractor(o)
	if err != nil {
		return nil, err
	}
	if ex != nil {
		opts = append(opts, job.WithExtractor(ex))
	}
	mon, stopMonitor, err := serveMonitor(o.Output.Metrics, stderr)
	if err != nil {
		return nil, err
	}
	defer stopMonitor()
	if mon != nil {
		opts = append(opts, job.WithObserver(mon))
	}
	st, kind, err := openJob(ctx, o, stderr)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if o.Recrawl {
		if err := startPass(ctx, st, o.File, stderr); err != nil {
			return nil, err
		}
	}
	log := logger(o, stderr)
	note := func() string { return "" }
	var sh *shared
	if o.Shared.Frontier != "" {
		if sh, err = joinShared(ctx, o, kind, st, log); err != nil {
			return nil, err
		}
		defer sh.close()
		opts = append(opts, sh.options()...)
		note = sh.note
		if mon != nil {
			mon.ShowShared(sh.view)
		}
	}
	var ren *render.Renderer
	opts = append(opts, watchRenderer(&ren, mon, o.Render.Browsers))
	c, err := job.New(st, *o, append(opts, job.WithLogger(log))...)
	if err != nil {
		return nil, err
	}
	if mon != nil {
		mon.Attach(c)
		if o.Recrawl || o.Continuous.On {
			mon.ShowRevisits(func() (monitor.RevisitView, error) { return revisitView(st) })
		}
	}
	if err := addWork(ctx, c, o, fill, stderr); err != nil {
		return nil, err
	}
	stopProgress := startProgress(c, o, !o.Engine.Follow, stderr, note)
	sum, err := c.Run(ctx)
	stopProgress()
	if sum != nil {
		printSummary(stderr, o, sum)
		if ren != nil {
			printRendering(stderr, ren)
		}
		if sh != nil {
			sh.summary(stderr)
		}
		printPass(st, stderr)
	}
	if o.WACZ != "" && sum != nil && err == nil {
		err = writeWACZ(o.WACZ, st, stderr)
	}
	return sum, err
}

// writeWACZ packs the job's WARC files into the WACZ at path.
func writeWACZ(path string, st *store.Store, stderr io.Writer) error {
	if !replaceable(path) {
		return usagef("--wacz %s exists and is not a WACZ of trawl's: remove it, or give another file", path)
	}
	return atomicfile.Write(path, true, func(w io.Writer) error {
		n, err := export.WACZ(w, "trawl/"+version, st)
		if err == nil {
			fmt.Fprintf(stderr, "trawl: %d pages packed with their archive into %s\n", n, path)
		}
		return err
	})
}

// revisitView reads what the job's revisits found, for the status page.
func revisitView(st *store.Store) (monitor.RevisitView, error) {
	r, err := st.Revisits()
	if err != nil {
		return monitor.RevisitView{}, err
	}
	v := monitor.RevisitView{Changed: r.ByChange[store.ChangeChanged], Unchanged: r.ByChange[store.ChangeUnchanged],
		Gone: r.ByChange[store.ChangeGone], New: r.ByChange[store.ChangeNew], Failed: r.ByChange[store.ChangeFailed],
		NotModified: r.NotModified, BytesSaved: r.BytesSaved}
	v.Revisited = v.Changed + v.Unchanged + v.Gone + v.New + v.Failed
	if n := v.Changed + v.Unchanged; n > 0 {
		v.ChangedRatio = float64(v.Changed) / float64(n)
	}
	v.Scheduled, v.Due, err = st.Scheduled(time.Now())
	return v, err
}

// startPass begins the job's next pass, or says why it resumes the
// current one.
func startPass(ctx context.Context, st *store.Store, file string, stderr io.Writer) error {
	pass, n, err := job.StartPass(ctx, st)
	switch {
	case errors.Is(err, job.ErrUnfinished):
		fmt.Fprintf(stderr, "trawl: pass %d of %s is not finished: resuming it (once it is, --recrawl starts pass %d)\n", pass, file, pass+1)
	case err != nil:
		return err
	case n == 0:
		fmt.Fprintf(stderr, "trawl: %s holds no URLs yet: this is its first pass\n", file)
	default:
		fmt.Fprintf(stderr, "trawl: pass %d of %s: %d URLs to visit again\n", pass, file, n)
	}
	return nil
}

// printPass writes what the job's current pass found, after its first.
func printPass(st *store.Store, w io.Writer) {
	pass, err := st.Pass()
	if err != nil || pass < 2 {
		return
	}
	counts, err := st.PassCounts()
	if err != nil {
		return
	}
	fmt.Fprintf(w, "  pass %-4d %s (see trawl changes)\n", pass, changeCounts(counts[pass]))
}

// changeCounts says a pass's counts by change, in a fixed order.
func changeCounts(c map[store.Change]int) string {
	var parts []string
	for _, k := range []store.Change{store.ChangeNew, store.ChangeChanged, store.ChangeUnchanged, store.ChangeGone, store.ChangeFailed} {
		parts = append(parts, fmt.Sprintf("%d %s", c[k], k))
	}
	return strings.Join(parts, ", ")
}

// openJob opens the job file of o, indexes what a stopped run left, and
// claims it for o's kind of job.
func openJob(ctx context.Context, o *configs.Job, stderr io.Writer) (*store.Store, jobfile.Kind, error) {
	st, err := store.Open(o.File, nil)
	if err != nil {
		return nil, "", err
	}
	kind, err := claimJob(ctx, st, o, stderr)
	if err != nil {
		st.Close()
		return nil, "", err
	}
	return st, kind, nil
}

func claimJob(ctx context.Context, st *store.Store, o *configs.Job, stderr io.Writer) (jobfile.Kind, error) {
	if n, err := st.Unindexed(); err != nil {
		return "", err
	} else if n > 0 {
		// Left by a run that stopped before it could index them.
		fmt.Fprintf(stderr, "trawl: indexing %d pages saved by the last run\n", n)
		if _, err := st.CatchUp(ctx); err != nil {
			return "", err
		}
	}
	kind := jobfile.FetchJob
	if o.Engine.Follow {
		kind = jobfile.CrawlJob
	}
	if was, err := st.File().ClaimKind(kind); err != nil {
		return "", err
	} else if was != kind {
		// A crawl's queue fetched without following links would end it
		// short for good; a fetch list crawled would follow links.
		return "", usagef("%s is a %s job: resume it with 'trawl %s --job %s'", o.File, was, was, o.File)
	}
	return kind, nil
}

// addWork says what a resumed job holds, and adds the run's work: fill's
// (a list), and the failed URLs with --retry-failed.
func addWork(ctx context.Context, c *crawler.Crawler, o *configs.Job, fill func(*crawler.Crawler) error, stderr io.Writer) error {
	if p := c.Progress(); p.Total > 0 || p.Queued > 0 {
		fmt.Fprintf(stderr, "trawl: resuming job %s: %d pages stored, %d URLs queued\n", o.File, p.Total, p.Queued)
	}
	if fill != nil {
		if err := fill(c); err != nil {
			return err
		}
	}
	if o.RetryFailed {
		n, err := c.RetryFailed(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "trawl: %d failed URLs queued again\n", n)
	}
	return nil
}

// serveMonitor serves the status page and metrics at addr (none when
// addr is ""), until stop is called.
func serveMonitor(addr string, stderr io.Writer) (mon *monitor.Monitor, stop func(), err error) {
	if addr == "" {
		return nil, func() {}, nil
	}
	ln, err := listenMetrics(addr)
	if err != nil {
		return nil, nil, err
	}
	mon = monitor.New()
	srv := &http.Server{Handler: mon.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	fmt.Fprintf(stderr, "trawl: status page at http://%s/ (Prometheus metrics at /metrics)\n", ln.Addr())
	return mon, func() { srv.Close() }, nil
}

// logger returns the job's log: warnings (-q: errors only; -v: every
// fetch).
func logger(o *configs.Job, stderr io.Writer) *slog.Logger {
	level := slog.LevelWarn
	if o.Output.Verbose {
		level = slog.LevelInfo
	}
	if o.Output.Quiet {
		level = slog.LevelError
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
}

// listenMetrics listens on the --metrics address: a port alone, or
// ":PORT", is on loopback. A taken address is a usage error.
func listenMetrics(addr string) (net.Listener, error) {
	if !strings.Contains(addr, ":") {
		addr = ":" + addr
	}
	if strings.HasPrefix(addr, ":") {
		addr = "127.0.0.1" + addr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, usagef("--metrics %s: %v", addr, err)
	}
	return ln, nil
}

// printSummary writes the end-of-run report of a job run with cfg.
func printSummary(w io.Writer, o *configs.Job, s *crawler.Summary) {
	what := "pages"
	if o.Download.Dir != "" {
		what = "files"
	}
	fmt.Fprintf(w, "trawl: %s after %s: %d %s saved (%d failed), %s, %.0f %s/s\n",
		s.Reason, s.Elapsed.Round(time.Millisecond), s.Stored, what, s.Failed, units.FormatSize(s.Bytes), s.PagesPerSecond(), what)
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(s.ByStatus)) {
		parts = append(parts, fmt.Sprintf("%s: %d", statusLabel(k), s.ByStatus[k]))
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "  status    %s\n", strings.Join(parts, ", "))
	}
	if o.Engine.Follow {
		fmt.Fprintf(w, "  links     %d duplicates dropped, %d outside scope, %d spider traps", s.Duplicates, s.Offsite, s.Traps)
		if s.Budget > 0 {
			fmt.Fprintf(w, ", %d over a host's budget", s.Budget)
		}
		fmt.Fprintf(w, "; max depth %d; %d retries\n", s.MaxDepth, s.Retries)
	} else {
		fmt.Fprintf(w, "  requests  %d repeats dropped; %d retries\n", s.Duplicates, s.Retries)
	}
	if s.Items > 0 || s.ExtractErrors > 0 {
		fmt.Fprintf(w, "  items     %d saved; %d pages with extraction errors (see trawl stats)\n", s.Items, s.ExtractErrors)
	}
	if o.WARC.Dir != "" {
		fmt.Fprintf(w, "  archive   %d responses in %s (%d as revisits of an earlier capture)\n", s.Archived, o.WARC.Dir, s.Revisits)
	}
	if s.Skipped > 0 {
		fmt.Fprintf(w, "  skipped   %d URLs not fetched: robots.txt disallows them, or their host's budget is spent\n", s.Skipped)
	}
	if len(s.DownHosts) > 0 {
		fmt.Fprintf(w, "  down      %s (no answer; their URLs failed fast)\n", strings.Join(s.DownHosts, ", "))
	}
	for _, e := range topErrors(s.Errors, 5) {
		fmt.Fprintf(w, "  error     %dx %s\n", s.Errors[e], e)
	}
	if s.Failed > 0 && len(s.Failures) > 0 {
		shown := s.Failures[:min(len(s.Failures), 10)]
		fmt.Fprintf(w, "  failed    %d URLs (see trawl stats); the first %d:\n", s.Failed, len(shown))
		for _, f := range shown {
			fmt.Fprintf(w, "            %s  %s\n", f.URL, failureText(f.Status, f.Error))
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(w, "  job       %s: %d pages in all, %d URLs still queued\n", o.File, s.Total, s.Queued)
	fmt.Fprintf(w, "  memory    Go heap %s at most", units.FormatSize(int64(ms.HeapSys)))
	if own, file := residentNow(); own > 0 {
		fmt.Fprintf(w, "; resident now %s of the process's own (heap, seen-set) and %s of mapped files (the job's pages, which the kernel reclaims at will)",
			units.FormatSize(own), units.FormatSize(file))
	}
	if peak := peakRSS(); peak > 0 {
		fmt.Fprintf(w, "; %s resident at the peak, both counted", units.FormatSize(peak))
	}
	fmt.Fprintln(w)
	if s.Reason == "interrupted" || s.Queued > 0 {
		fmt.Fprintf(w, "  resume    run the same command again\n")
	}
	if s.Failed > 0 {
		fmt.Fprintf(w, "  retry     run the same command with --retry-failed to try again those that got no answer, a 5xx or a cut-off body\n")
	}
}

func helpFor(cmd string) string {
	var b strings.Builder
	switch cmd {
	case "crawl", "fetch":
		c := configs.Crawl
		if cmd == "fetch" {
			c = configs.Fetch
		}
		o := configs.Default(c)
		fs := configs.Flags(c, &o)
		fs.SetOutput(&b)
		if cmd == "crawl" {
			b.WriteString("Usage: trawl crawl [flags] URL...\n\nCrawl from the seed URLs, following links within --scope, and save every\npage in the job file. Running it again resumes the job. A --config file\nmay add follow and extract rules to turn pages into items.\n\nFlags:\n")
		} else {
			b.WriteString(fetchHelp)
		}
		b.WriteString(fs.FlagUsages())
	case "export":
		b.WriteString(exportHelp)
	case "extract":
		b.WriteString(extractHelp)
	case "stats":
		b.WriteString("Usage: trawl stats [--json] [--check] JOB\n       trawl stats [--json] --frontier redis://HOST:PORT/DB --crawl NAME\n\nPrint a job's counts by status, top hosts, bytes, errors, items by type,\nextraction errors, time span and rate, from the counts the job keeps.\n--check also reads every record, and exits\n4 if the job is damaged inside. With --frontier and --crawl, print\nthe crawl-wide view of a shared crawl: pages completed, queued and leased,\nURLs seen, expired leases, and every process with what it did. --json\nprints them as one JSON object, for scripts.\n")
	case "demo":
		b.WriteString(demoHelp)
	case "changes":
		b.WriteString(changesHelp)
	default:
		b.WriteString(usage)
	}
	return b.String()
}

// failureText says why a URL failed: its error, or its status.
func failureText(status int, err string) string {
	if err != "" {
		return err
	}
	return fmt.Sprintf("HTTP %d", status)
}

const fetchHelp = `Usage: trawl fetch [flags] [LIST]

Fetch every request in LIST ('-' or none: stdin), one a line: a URL, or a
JSON object such as
  {"url": "https://api.example.com/q", "method": "POST",
   "headers": {"Content-Type": "application/json"}, "body": "{\"q\": 1}",
   "out": "answers/q1.json"}
Blank lines and # comments are skipped; bad lines are reported with their
number and skipped.

Bodies go into the job file, or with --out-dir stream to files under DIR
(DIR/host/path by default), each written whole under a temporary name and
renamed when complete. A download cut off by a crash is continued with Range
on the next run. Running the same command again resumes the job; nothing
finished is fetched again. Exit code 3 when some URLs failed.

Flags:
`

// topErrors returns the most frequent of a run's errors, most frequent
// first.
func topErrors(errs map[string]int, n int) []string {
	keys := slices.Collect(maps.Keys(errs))
	sort.Slice(keys, func(i, j int) bool {
		if errs[keys[i]] != errs[keys[j]] {
			return errs[keys[i]] > errs[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys[:min(n, len(keys))]
}

// watchRenderer is the option that keeps the job's renderer, when it
// renders, in *ren, and shows it on mon (when not nil).
func watchRenderer(ren **render.Renderer, mon *monitor.Monitor, tabs int) job.Option {
	return job.WithRenderer(func(r *render.Renderer) {
		*ren = r
		if mon != nil {
			mon.ShowRendering(func() monitor.RenderView { return renderView(r, tabs) })
		}
	})
}

// renderView is the status page's view of the job's browser.
func renderView(r *render.Renderer, tabs int) monitor.RenderView {
	s := r.Stats()
	v := monitor.RenderView{Tabs: tabs, Busy: s.Busy, Rendered: s.Rendered, Failed: s.Failed, Restarts: s.Restarts}
	if n := s.Rendered + s.Failed; n > 0 {
		v.MeanMS = float64(s.Time.Milliseconds()) / float64(n)
	}
	return v
}

// printRendering adds the browser's part to a run's summary.
func printRendering(w io.Writer, r *render.Renderer) {
	v := renderView(r, 0)
	fmt.Fprintf(w, "  rendered  %d pages in the browser (%d failed: hung or crashed), %.0f ms a page; %d browser restarts\n",
		v.Rendered, v.Failed, v.MeanMS, v.Restarts)
}
