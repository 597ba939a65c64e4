// Package job assembles a crawler.Crawler from a job's settings: it opens
// the parts the engine runs with (the frontier, politeness and its state,
// the transport and fetcher, the sink, the WARC archive, the cookie jar)
// and the Saver that commits results, in the job file's transaction when
// the frontier lives there too.
//
// The engine (package crawler) knows none of these concrete types; this
// package is the one place that does.
package job

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/trawl-dev/trawl/configs"
	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/crawler/archive"
	"github.com/trawl-dev/trawl/crawler/cookies"
	"github.com/trawl-dev/trawl/crawler/download"
	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/crawler/page"
	"github.com/trawl-dev/trawl/crawler/render"
	"github.com/trawl-dev/trawl/crawler/scope"
	"github.com/trawl-dev/trawl/crawler/task"
	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/frontier/bolt"
	"github.com/trawl-dev/trawl/politeness"
	"github.com/trawl-dev/trawl/politeness/boltstate"
	"github.com/trawl-dev/trawl/store"
	"github.com/trawl-dev/trawl/store/warc"
)

// An Opener opens the frontier of a job with the options the job's
// settings make (initial pace, lease time, limits, and the counts of
// earlier runs).
type Opener func(frontier.Options) (frontier.Frontier, error)

// An Option changes how New assembles a job.
type Option func(*assembly)

type assembly struct {
	transport http.RoundTripper
	open      Opener
	state     politeness.State
	sink      fetch.Sink
	log       *slog.Logger
	extractor page.Extractor
	observer  crawler.Observer
	onRender  func(*render.Renderer)
}

// WithTransport sends the job's requests through rt (see
// crawltest.HandlerTransport for one that serves an in-process handler).
func WithTransport(rt http.RoundTripper) Option { return func(a *assembly) { a.transport = rt } }

// WithFrontier makes the job drain the frontier open returns instead of
// one kept in the job file. Results are then saved in the job first and
// completed in the frontier second: a crash in between fetches a page
// again, it never loses one.
func WithFrontier(open Opener) Option { return func(a *assembly) { a.open = open } }

// WithPolitenessState keeps what politeness learns of hosts in s, which
// other processes may share, instead of in the job.
func WithPolitenessState(s politeness.State) Option { return func(a *assembly) { a.state = s } }

// WithSink streams bodies into s instead of the job (or the files of a
// download folder).
func WithSink(s fetch.Sink) Option { return func(a *assembly) { a.sink = s } }

// WithLogger logs to l (each fetch at Info, failures at Info with their
// error).
func WithLogger(l *slog.Logger) Option { return func(a *assembly) { a.log = l } }

// WithExtractor passes every 2xx page to e (see crawler.Parts.Extractor).
func WithExtractor(e page.Extractor) Option { return func(a *assembly) { a.extractor = e } }

// WithObserver reports what the job does to o.
func WithObserver(o crawler.Observer) Option { return func(a *assembly) { a.observer = o } }

// New returns the Crawler of the job in st with the settings of j (see
// configs.Parse, which checks and resolves them). A bad setting or seed
// fails with an error wrapping crawler.ErrConfig.
func New(st *store.Store, j configs.Job, opts ...Option) (*crawler.Crawler, error) {
	var a assembly
	for _, o := range opts {
		o(&a)
	}
	if j.Fetch.UserAgent == "" {
		j.Fetch.UserAgent = crawler.DefaultUserAgent
	}
	seeds, sc, err := seedsAndScope(j)
	if err != nil {
		return nil, err
	}
	redactor := fetch.NewRedactor(j.Fetch.Redact)
	rt, err := a.transportFor(j, seeds)
	if err != nil {
		return nil, err
	}
	rt, gatePolicy := gated(j, rt)
	arch, err := openArchive(st, j, redactor)
	if err != nil {
		return nil, err
	}
	policy := a.policy(st, j, rt, arch)
	*gatePolicy = policy
	jar, err := openJar(st, j.Cookies)
	if err != nil {
		return nil, err
	}
	fo := fetch.Options{Config: j.Fetch, Transport: rt, Redactor: redactor}
	if jar != nil {
		fo.Jar = jar
	}
	fetcher := fetch.New(fo)
	p := crawler.Parts{
		Config: j.Engine, Scope: sc, Store: st, Politeness: policy, Fetcher: fetcher,
		Redactor: redactor, Extractor: a.extractor, Observer: a.observer, Log: a.log,
	}
	p.Seeds = seeds
	if err := a.openParts(&p, st, j, policy, jar, arch); err != nil {
		return nil, err
	}
	ren, err := a.openRenderer(j, fetcher, policy, arch)
	if err != nil {
		return nil, err
	}
	if ren != nil {
		p.Renderer = ren
	}
	c, err := crawler.New(p)
	if err != nil && ren != nil {
		ren.Close()
	}
	return c, err
}

// seedsAndScope returns the canonical seed tasks and the scope they make.
func seedsAndScope(j configs.Job) ([]task.Task, *scope.Scope, error) {
	seeds := make([]task.Task, 0, len(j.Seeds))
	urls := make([]string, 0, len(j.Seeds))
	for _, s := range j.Seeds {
		t, err := task.Get(s).Canonical()
		if err != nil {
			return nil, nil, fmt.Errorf("%w: seed: %v", crawler.ErrConfig, err)
		}
		seeds = append(seeds, t)
		urls = append(urls, t.Request.URL)
	}
	sc, err := scope.New(j.Scope, urls)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", crawler.ErrConfig, err)
	}
	return seeds, sc, nil
}

// transportFor returns the transport of the job, limited to its rates.
func (a *assembly) transportFor(j configs.Job, seeds []task.Task) (http.RoundTripper, error) {
	rt := a.transport
	if rt == nil {
		var proxy *url.URL
		if j.Fetch.Proxy != "" {
			u, err := url.Parse(j.Fetch.Proxy)
			if err != nil {
				return nil, fmt.Errorf("%w: proxy: %v", crawler.ErrConfig, err)
			}
			proxy = u
		}
		allowed := make([]string, len(seeds))
		for i, s := range seeds {
			allowed[i] = s.Request.URL
		}
		rt = fetch.NewTransport(fetch.TransportOptions{
			Concurrency: j.Engine.Concurrency, PerHost: j.Politeness.PerHost, Timeout: j.Fetch.Timeout,
			Insecure: j.Fetch.Insecure, DenyPrivate: j.Fetch.DenyPrivate, Allowed: allowed,
			Record: j.WARC.Dir != "", Proxy: proxy, NoProxy: j.Fetch.NoProxy,
		})
	}
	return fetch.Limit(rt, fetch.Limits{Requests: j.Fetch.Rate, Bytes: j.Fetch.LimitRate}), nil
}

// policy returns the job's politeness, its state in the job file unless an
// option gave another; robots.txt answers are archived too.
func (a *assembly) policy(st *store.Store, j configs.Job, rt http.RoundTripper, arch *archive.Archiver) *politeness.Policy {
	state := a.state
	if state == nil {
		state = boltstate.New(st.File())
	}
	po := politeness.Options{Config: j.Politeness, UserAgent: j.Fetch.UserAgent, State: state, RobotsTimeout: j.Fetch.Timeout}
	if !j.Politeness.IgnoreRobots {
		if arch != nil {
			rt = arch.Transport(rt)
		}
		po.Robots = &http.Client{Transport: rt}
	}
	return politeness.New(po)
}

// openJar opens the job's cookie jar, when it keeps one.
func openJar(st *store.Store, c cookies.Config) (*cookies.Jar, error) {
	if !c.On() {
		return nil, nil
	}
	jar, err := cookies.Open(st.File(), c.File)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", crawler.ErrConfig, err)
	}
	return jar, nil
}

// openArchive opens the job's WARC files, when it writes them.
func openArchive(st *store.Store, j configs.Job, redactor *fetch.Redactor) (*archive.Archiver, error) {
	if j.WARC.Dir == "" {
		return nil, nil
	}
	if err := st.SetWARCDir(j.WARC.Dir); err != nil {
		return nil, err
	}
	opts := warc.Options{Config: j.WARC, Software: "trawl/" + crawler.Version,
		Info: archive.Info(st.Path(), j.Fetch.UserAgent, j.Politeness.IgnoreRobots, description(j))}
	if earlier, err := st.HasArchived(); err != nil {
		return nil, err
	} else if earlier { // else this run's payloads are all there is, and the writer knows them
		opts.Known = func(digest string) (warc.Origin, bool) { return archivedBefore(st, digest) }
	}
	w, err := warc.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("%w: warc: %v", crawler.ErrConfig, err)
	}
	return archive.NewArchiver(w, redactor), nil
}

// archivedBefore finds the first capture of a payload in the job's
// earlier runs, for the archive's dedup across them.
func archivedBefore(st *store.Store, digest string) (warc.Origin, bool) {
	rec, ok := st.Archived(digest)
	if !ok {
		return warc.Origin{}, false
	}
	return warc.Origin{URI: rec.FinalURL, Date: rec.WARC.Date, ID: rec.WARC.ID, Digest: digest}, true
}

// description says what the job does, for its archive.
func description(j configs.Job) string {
	if !j.Engine.Follow {
		return "fetch of a URL list"
	}
	return fmt.Sprintf("crawl of %s, scope %s, depth %d, requisites %v", strings.Join(j.Seeds, " "), j.Scope.Mode, j.Engine.MaxDepth, j.Engine.Requisites)
}

// openParts opens the frontier, the sink and the saver, with what earlier
// runs of the job left.
func (a *assembly) openParts(p *crawler.Parts, st *store.Store, j configs.Job, policy *politeness.Policy, jar *cookies.Jar, arch *archive.Archiver) error {
	held, _, err := st.Count()
	if err != nil {
		return err
	}
	if p.Config.Pass, err = st.Pass(); err != nil {
		return err
	}
	p.Config.Revisit = p.Config.Pass > 1 || j.Continuous.On
	if p.Config.Pass > 1 { // --max-pages counts the pages of this pass
		counts, err := st.PassCounts()
		if err != nil {
			return err
		}
		held = 0
		for _, n := range counts[p.Config.Pass] {
			held += n
		}
	}
	fo := frontier.Options{Pace: policy.Initial(), LeaseTTL: j.Engine.Lease, MaxPages: j.Engine.MaxPages, MaxPerHost: j.Engine.MaxPerHost, Done: held}
	if j.Engine.MaxPerHost > 0 {
		if fo.Fetched, err = fetchedByHost(st, p.Config.Pass); err != nil {
			return err
		}
	}
	if a.open != nil {
		if p.Frontier, err = a.open(fo); err != nil {
			return err
		}
		p.Saver = apart{st: st, fr: p.Frontier, jar: jar}
	} else {
		fr, err := bolt.Open(st.File(), fo)
		if err != nil {
			return err
		}
		p.Frontier, p.Saver = fr, joint{st: st, fr: fr, jar: jar}
		if c := j.Continuous; c.On {
			st.SetSchedule(&store.Schedule{First: c.First, Min: c.Min, Max: c.Max})
			p.Frontier = &continuous{Frontier: fr, st: st}
		}
	}
	if p.Sink, err = a.sinkFor(st, j); err != nil {
		return err
	}
	if arch != nil {
		p.Sink, p.Archive = archive.New(p.Sink, arch), arch
	}
	return nil
}

// fetchedByHost counts the pages of each host the job fetched: in its
// current pass, when it is past its first (a host's budget is a pass's).
func fetchedByHost(st *store.Store, pass int) (map[string]int, error) {
	m := make(map[string]int)
	count := func(r *store.Record) error {
		if r.Skipped == "" {
			m[frontier.Host(r.URL)]++
		}
		return nil
	}
	if pass > 1 {
		return m, st.Versions(pass, count)
	}
	return m, st.Each(count)
}

// sinkFor returns where bodies go: an option's sink, the download folder,
// or the job.
func (a *assembly) sinkFor(st *store.Store, j configs.Job) (fetch.Sink, error) {
	switch {
	case a.sink != nil:
		return a.sink, nil
	case j.Download.Dir == "":
		return fetch.Memory{}, nil
	}
	var sums map[string]string
	if j.Download.Checksums != "" {
		f, err := os.Open(j.Download.Checksums)
		if err != nil {
			return nil, fmt.Errorf("%w: checksums: %v", crawler.ErrConfig, err)
		}
		sums, err = download.ReadChecksums(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%w: checksums %s: %v", crawler.ErrConfig, j.Download.Checksums, err)
		}
	}
	files, err := download.New(j.Download.Dir, j.Download.Layout, sums, st)
	if err != nil {
		return nil, fmt.Errorf("%w: out-dir: %v", crawler.ErrConfig, err)
	}
	return files, nil
}

// Check reports what would stop New for j before anything is opened: a
// bad seed, scope or pattern.
func Check(j configs.Job) error {
	if _, _, err := seedsAndScope(j); err != nil {
		return err
	}
	return checkRender(j)
}
