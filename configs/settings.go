package configs

import (
	"fmt"
	"strconv"
	"time"

	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/crawler/render"
	"github.com/trawl-dev/trawl/crawler/scope"
	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/internal/units"
	"github.com/trawl-dev/trawl/store/warc"
)

// A Setting is the declaration of one job setting.
type Setting struct {
	Name  string // the flag's long name; the YAML key is Key()
	Short string // the flag's one-letter name, if any
	// Bare is the value of the flag given alone (--render), for a
	// setting that takes one of Words; the flag's next argument, when it
	// is one of Words, is its value (--render auto).
	Bare    string
	Words   []string
	Cmds    Command // the commands that take it
	Default string  // as typed on the command line; "" for the type's zero
	Help    string  // one line, for --help
	Doc     string  // the reference's fuller text; "" is Help
	Group   string  // the reference's section
	// Only says where the setting is given when not in both places: a flag
	// only (say, --config), or a config file only (seeds, follow…).
	Only Where
	// Alias is another key a config file may use (headers, for header).
	Alias string
	bind  func(*Job) value
	check func(*Job) error // nil: any value of its type
}

// Where a setting may be given.
type Where uint8

// Places a setting may be given.
const (
	Anywhere Where = iota // as a flag and as a config file key
	FlagOnly
	FileOnly
)

// Key is the setting's key in a YAML config.
func (s Setting) Key() string {
	b := []byte(s.Name)
	for i, c := range b {
		if c == '-' {
			b[i] = '_'
		}
	}
	return string(b)
}

// Type is the form of the setting's value: int, bool, duration, size…
func (s Setting) Type() string {
	var j Job
	return s.bind(&j).Type()
}

func i(p func(*Job) *int) func(*Job) value     { return func(j *Job) value { return intValue{p(j)} } }
func b(p func(*Job) *bool) func(*Job) value    { return func(j *Job) value { return boolValue{p(j)} } }
func f(p func(*Job) *float64) func(*Job) value { return func(j *Job) value { return floatValue{p(j)} } }
func str(p func(*Job) *string) func(*Job) value {
	return func(j *Job) value { return stringValue{p(j)} }
}
func size(p func(*Job) *int64) func(*Job) value { return func(j *Job) value { return sizeValue{p(j)} } }
func list(p func(*Job) *[]string) func(*Job) value {
	return func(j *Job) value { return listValue{p(j), new(bool)} }
}
func dur(p func(*Job) *time.Duration) func(*Job) value {
	return func(j *Job) value { return durationValue{p(j)} }
}

// atLeast checks that an int setting is at least min.
func atLeast(name string, min int, get func(*Job) int) func(*Job) error {
	return func(j *Job) error {
		switch v := get(j); {
		case v < 0:
			return usagef("--%s must not be negative (got %d)", name, v)
		case v < min:
			return usagef("--%s must be at least %d", name, min)
		}
		return nil
	}
}

// notNegative checks that a number setting is not below zero.
func notNegative[T int | int64 | float64](name string, get func(*Job) T) func(*Job) error {
	return func(j *Job) error {
		if v := get(j); v < 0 {
			return usagef("--%s must not be negative (got %v)", name, v)
		}
		return nil
	}
}

// oneOf checks that a string setting is one of the values given.
func oneOf(name string, get func(*Job) string, values ...string) func(*Job) error {
	return func(j *Job) error {
		v := get(j)
		for _, ok := range values {
			if v == ok {
				return nil
			}
		}
		return usagef("--%s %q: want %s", name, v, orList(values))
	}
}

func orList(vs []string) string {
	var out string
	for k, v := range vs {
		switch {
		case k == 0:
		case k == len(vs)-1:
			out += " or "
		default:
			out += ", "
		}
		if v == "" {
			v = `""`
		}
		out += v
	}
	return out
}

// Settings returns every job setting, in the order --help shows them.
func Settings() []Setting {
	return append(append(append(jobSettings(), fetchSettings()...), renderSettings()...), outputSettings()...)
}

func jobSettings() []Setting {
	return []Setting{
		{Name: "job", Doc: "the job file; an existing job is resumed", Group: "Job", Cmds: Both, Default: "trawl.db", Help: "job file: results, queue and state (resumed when it exists)",
			bind: str(func(j *Job) *string { return &j.File })},
		{Name: "config", Doc: "YAML config (see below); flags override it", Group: "Job", Cmds: Both, Only: FlagOnly, Help: "YAML job config (see configs/); flags override it",
			bind: str(func(j *Job) *string { return &j.Config })},
		{Name: "seeds", Group: "Job", Cmds: Crawl, Only: FileOnly, Help: "URLs to start from (on the command line: the arguments)",
			bind: list(func(j *Job) *[]string { return &j.Seeds })},
		{Name: "concurrency", Doc: "requests in flight in all", Short: "c", Group: "Job", Cmds: Both, Default: "16", Help: "requests in flight in all",
			bind: i(func(j *Job) *int { return &j.Engine.Concurrency }), check: atLeast("concurrency", 1, func(j *Job) int { return j.Engine.Concurrency })},
		{Name: "retry-failed", Doc: "also try again the job's URLs that failed in earlier runs in a way another try may fix: no answer, 408, 425, 429, 5xx, a cut-off body or a checksum mismatch (not a 404, nor a body over `--max-body`)", Group: "Job", Cmds: Both, Only: FlagOnly, Help: "also try again the job's URLs that failed in earlier runs (no answer, 408/425/429/5xx, cut-off body)",
			bind: b(func(j *Job) *bool { return &j.RetryFailed })},
		{Name: "recrawl", Doc: "start the job's next pass once its current one is finished: every URL the job holds is asked for again (with `If-None-Match` / `If-Modified-Since` where its stored response had an `ETag` or `Last-Modified`), new links are followed, and each URL's record of the pass says what changed (see `trawl changes`). An unfinished pass is resumed first, and only resumed: run the same command again after a stop and nothing saved is fetched twice. Not with `--frontier`", Group: "Job", Cmds: Both, Only: FlagOnly, Help: "start the job's next pass: visit every URL again, conditionally, and record what changed",
			bind: b(func(j *Job) *bool { return &j.Recrawl })},
		{Name: "continuous", Doc: "keep the job running, revisiting each URL when it is due: after `--revisit` at first (sooner if the response's `Cache-Control: max-age` or `Expires` says so), half as long after a change, half as long again after none, within `--min-revisit` and `--max-revisit`. Revisits are conditional, as with `--recrawl`, and each makes a new version of the URL's record (see `trawl changes`). The schedule is in the job: a stopped job resumes it. Stop it with Ctrl-C. Not with `--frontier`", Group: "Revisits", Cmds: Both, Help: "keep running, revisiting each URL when it is due (see --revisit)",
			bind: b(func(j *Job) *bool { return &j.Continuous.On })},
		{Name: "revisit", Group: "Revisits", Cmds: Both, Default: "24h", Help: "with --continuous: a URL's first interval between visits",
			bind: dur(func(j *Job) *time.Duration { return &j.Continuous.First }), check: checkRevisits},
		{Name: "min-revisit", Group: "Revisits", Cmds: Both, Default: "1h", Help: "with --continuous: the shortest interval between visits of a URL",
			bind: dur(func(j *Job) *time.Duration { return &j.Continuous.Min })},
		{Name: "max-revisit", Group: "Revisits", Cmds: Both, Default: "720h", Help: "with --continuous: the longest interval between visits of a URL",
			bind: dur(func(j *Job) *time.Duration { return &j.Continuous.Max })},
		{Name: "scope", Doc: "links followed: `host` (the seeds' hosts), `domain` (their registrable domains), `subtree` (under the seeds' directories), `any`", Group: "Scope", Cmds: Crawl, Default: "host", Help: "links to follow: host, domain, subtree or any",
			bind: str(func(j *Job) *string { return (*string)(&j.Scope.Mode) }),
			check: func(j *Job) error {
				if err := (scope.Config{Mode: j.Scope.Mode}).Check(); err != nil {
					return usagef("--scope: %v", err)
				}
				return nil
			}},
		{Name: "include", Doc: "follow only URLs matching one of these regexps (repeatable)", Group: "Scope", Cmds: Crawl, Help: "follow only URLs matching this regexp (repeatable)",
			bind: list(func(j *Job) *[]string { return &j.Scope.Include }), check: patterns(func(j *Job) []string { return j.Scope.Include })},
		{Name: "exclude", Doc: "never follow URLs matching these regexps (repeatable)", Group: "Scope", Cmds: Crawl, Help: "never follow URLs matching this regexp (repeatable)",
			bind: list(func(j *Job) *[]string { return &j.Scope.Exclude }), check: patterns(func(j *Job) []string { return j.Scope.Exclude })},
		{Name: "depth", Doc: "most hops from a seed, a guard against endless link chains; 0 = no limit", Group: "Scope", Cmds: Crawl, Default: strconv.Itoa(scope.DefaultMaxDepth), Help: "most hops from a seed (a guard against endless link chains); 0 = no limit",
			bind: i(func(j *Job) *int { return &j.Engine.MaxDepth }), check: notNegative("depth", func(j *Job) int { return j.Engine.MaxDepth })},
		{Name: "max-pages", Doc: "stop when the job holds N pages; 0 = no limit", Group: "Scope", Cmds: Crawl, Help: "stop when the job holds this many pages; 0 = no limit",
			bind: i(func(j *Job) *int { return &j.Engine.MaxPages }), check: notNegative("max-pages", func(j *Job) int { return j.Engine.MaxPages })},
		{Name: "max-per-host", Doc: "a page budget: at most N pages fetched from one host, over all runs of the job; links past it are not queued; 0 = no limit", Group: "Scope", Cmds: Crawl, Help: "most pages fetched from one host (a page budget); 0 = no limit",
			bind: i(func(j *Job) *int { return &j.Engine.MaxPerHost }), check: notNegative("max-per-host", func(j *Job) int { return j.Engine.MaxPerHost })},
		{Name: "max-links", Group: "Scope", Cmds: Crawl, Default: "6000", Help: "most links followed from one page (the rest are left, and the record says links_truncated); 0 = no limit",
			bind: i(func(j *Job) *int { return &j.Engine.MaxLinks }), check: notNegative("max-links", func(j *Job) int { return j.Engine.MaxLinks })},
		{Name: "sitemaps", Doc: "also crawl what the seeds' hosts list in sitemaps: the `Sitemap:` lines of their robots.txt and `/sitemap.xml`; sitemap indexes followed 3 deep; gzip and plain-text sitemaps; read as a stream of tokens within the protocol's limits (50,000 URLs and 50 MB uncompressed a file: a gzip bomb costs nothing) and its location rule (a sitemap at `/a/sitemap.xml` lists only URLs under `/a/`); the URLs obey the scope and robots.txt, and a sitemap's `lastmod` is kept on the page's record. A sitemap cut short says so on its own record", Group: "Scope", Cmds: Crawl, Help: "also crawl the URLs the seeds' hosts list in sitemaps (robots.txt Sitemap lines and /sitemap.xml; indexes 3 deep, gzip and text ones), in scope",
			bind: b(func(j *Job) *bool { return &j.Engine.Sitemaps })},
		{Name: "requisites", Doc: "also fetch what pages need to render (see *Archiving*)", Group: "Scope", Cmds: Crawl, Help: "also fetch what each page needs to render (images, stylesheets, scripts, media) from any host; they add no depth",
			bind: b(func(j *Job) *bool { return &j.Engine.Requisites })},
		{Name: "out-dir", Group: "Downloads", Cmds: Fetch, Help: "stream each 2xx body to a file under this folder, not into the job",
			bind: str(func(j *Job) *string { return &j.Download.Dir })},
		{Name: "layout", Group: "Downloads", Cmds: Fetch, Help: "file names under --out-dir: host (DIR/host/path), flat (DIR/name) or hash (DIR/ab/abcd….ext)",
			bind:  str(func(j *Job) *string { return &j.Download.Layout }),
			check: oneOf("layout", func(j *Job) string { return j.Download.Layout }, "", "host", "flat", "hash")},
		{Name: "checksums", Group: "Downloads", Cmds: Fetch, Help: "sha256sum file to verify downloads against (by file name or URL)",
			bind: str(func(j *Job) *string { return &j.Download.Checksums })},
	}
}

func fetchSettings() []Setting {
	return []Setting{
		{Name: "per-host", Doc: "requests in flight to one host", Group: "Politeness", Cmds: Both, Default: "2", Help: "requests in flight to one host",
			bind: i(func(j *Job) *int { return &j.Politeness.PerHost }), check: atLeast("per-host", 1, func(j *Job) int { return j.Politeness.PerHost })},
		{Name: "delay", Doc: "least time from the end of one response of a host to the start of its next request, robots.txt included (`500ms`, `2s`); with a delay, one request to a host at a time. A robots.txt `Crawl-delay` is kept the same way", Group: "Politeness", Cmds: Both, Help: "least time from the end of one response of a host to its next request (e.g. 500ms)",
			bind: dur(func(j *Job) *time.Duration { return &j.Politeness.Delay })},
		{Name: "rate-per-host", Doc: "most requests a second to one host: a gap of 1/N between starts, and of 1/N from the end of each response to the next start, kept by the frontier (so across processes), while `--per-host` may still be in flight", Group: "Politeness", Cmds: Both, Help: "most requests a second to one host (--per-host may still be in flight); 0 = no limit",
			bind: f(func(j *Job) *float64 { return &j.Politeness.RatePerHost }), check: notNegative("rate-per-host", func(j *Job) float64 { return j.Politeness.RatePerHost })},
		{Name: "auto-throttle", Doc: "pace each host by its latency: gap = latency / `--per-host`, moving halfway to that target each response; an error response never speeds a host up; 429/503 double the gap (at least 1s). `--auto-throttle=false` turns it off", Group: "Politeness", Cmds: Both, Default: "true", Help: "pace each host by its latency; slow down sharply on 429/503 (--auto-throttle=false to turn off)",
			bind: b(func(j *Job) *bool { return &j.Politeness.AutoThrottle })},
		{Name: "max-delay", Doc: "the most auto-throttle may slow a host to", Group: "Politeness", Cmds: Both, Default: "60s", Help: "most delay auto-throttle may reach",
			bind: dur(func(j *Job) *time.Duration { return &j.Politeness.MaxDelay })},
		{Name: "ignore-robots", Doc: "fetch what robots.txt disallows (only for your own sites)", Group: "Politeness", Cmds: Both, Help: "fetch what robots.txt disallows (only for your own sites)",
			bind: b(func(j *Job) *bool { return &j.Politeness.IgnoreRobots })},
		{Name: "retries", Doc: "retries after the first attempt, with exponential backoff and jitter, on connection errors, timeouts, 408, 425, 429, 500, 502, 503, 504; `Retry-After` (seconds or date) is honoured and holds the whole host. A POST or PATCH is sent again only after a refused connection, 429 or 503, never after it may have been acted on", Group: "Fetching", Cmds: Both, Default: "3", Help: "retries after the first attempt, on timeouts, connection errors, 408/425/429/5xx",
			bind: i(func(j *Job) *int { return &j.Fetch.Retries }), check: notNegative("retries", func(j *Job) int { return j.Fetch.Retries })},
		{Name: "timeout", Doc: "time limit of one attempt, **body included**", Group: "Fetching", Cmds: Both, Default: "30s", Help: "time limit of one attempt, body included (with --out-dir: most time without a byte)",
			bind: dur(func(j *Job) *time.Duration { return &j.Fetch.Timeout }),
			check: func(j *Job) error {
				if j.Fetch.Timeout <= 0 {
					return usagef("--timeout must be positive")
				}
				return nil
			}},
		{Name: "user-agent", Doc: "User-Agent header", Group: "Fetching", Cmds: Both, Default: crawler.DefaultUserAgent, Help: "User-Agent header",
			bind: str(func(j *Job) *string { return &j.Fetch.UserAgent })},
		{Name: "max-body", Doc: "largest decoded body (KB, MB, GB; 0 = none). Larger ones, including gzip/deflate/br bombs, are cut off at the limit and recorded as errors", Group: "Fetching", Cmds: Both, Default: "10MB", Help: "largest decoded body kept (KB, MB, GB); 0 = no limit (with --out-dir: none unless given)",
			bind: size(func(j *Job) *int64 { return &j.Fetch.MaxBody })},
		{Name: "insecure", Doc: "do not verify TLS certificates (verification is on by default)", Group: "Fetching", Cmds: Both, Help: "do not verify TLS certificates",
			bind: b(func(j *Job) *bool { return &j.Fetch.Insecure })},
		{Name: "deny-private", Doc: "refuse to connect to loopback, private, link-local and cloud-metadata addresses other than the seeds' own hosts (see *Hostile sites*)", Group: "Fetching", Cmds: Both, Help: "refuse loopback, private, link-local and metadata addresses other than the seeds', also behind redirects and proxies (default: on for crawl --scope domain and any)",
			bind: b(func(j *Job) *bool { return &j.Fetch.DenyPrivate })},
		{Name: "header", Doc: "sent with every request (repeatable; `@FILE` reads such lines from a file; a list line's own headers win). Secret headers are not sent on a redirect to another origin", Short: "H", Alias: "headers", Group: "Fetching", Cmds: Both, Help: "send this header with every request: 'Name: value', or @FILE of such lines (repeatable; a list line's own headers win); in a config file a map or a list",
			bind: func(j *Job) value { return headerValue{&j.Fetch.Header, new(bool)} }},
		{Name: "redact", Doc: "a header whose value is a secret (repeatable); `Authorization`, `Cookie`, `Proxy-Authorization` and `Set-Cookie` always are. Secret values are never written to the job, a log or an export: they show as `[redacted]`", Group: "Fetching", Cmds: Both, Help: "a header whose value is a secret, never written to the job, a log or an export (Authorization, Cookie, Proxy-Authorization and Set-Cookie always are)",
			bind: list(func(j *Job) *[]string { return &j.Fetch.Redact })},
		{Name: "rate", Doc: "most requests a second in all, in bursts of one (robots.txt and retries included); the per-host limits still apply; per process in a shared crawl", Group: "Fetching", Cmds: Both, Help: "most requests a second in all (robots.txt and retries included); 0 = no limit",
			bind: f(func(j *Job) *float64 { return &j.Fetch.Rate }), check: notNegative("rate", func(j *Job) float64 { return j.Fetch.Rate })},
		{Name: "limit-rate", Doc: "most body bytes a second in all (`500KB`, `2MB`), as wget's and curl's", Group: "Fetching", Cmds: Both, Help: "most body bytes a second in all (e.g. 500KB, 2MB); 0 = no limit",
			bind: size(func(j *Job) *int64 { return &j.Fetch.LimitRate })},
		{Name: "cookies", Doc: "keep cookies as a browser does (public-suffix aware), saved in the job with the pages that got them: a resumed job goes on with its session. Each redirect hop is a request of its own, so a host only ever gets its own cookies", Group: "Fetching", Cmds: Both, Help: "keep cookies as a browser does (public-suffix aware), saved in the job: a resumed job goes on with its session",
			bind: b(func(j *Job) *bool { return &j.Cookies.Keep })},
		{Name: "load-cookies", Doc: "start with the cookies of a Netscape `cookies.txt` (curl, wget, browser extensions); implies `--cookies`. `trawl export --format cookies JOB` writes one back", Group: "Fetching", Cmds: Both, Help: "start with the cookies of this Netscape cookies.txt (as curl, wget and browser extensions write); implies --cookies",
			bind: str(func(j *Job) *string { return &j.Cookies.File })},
		{Name: "proxy", Doc: "send every request through `http://[user:pass@]HOST:PORT`, `https://…` or `socks5://…`; without it, `HTTP_PROXY`, `HTTPS_PROXY` and `NO_PROXY` apply (Go ignores them for loopback targets)", Group: "Fetching", Cmds: Both, Help: "send every request through this proxy: http://[user:pass@]HOST:PORT, https://… or socks5://… (default: HTTP_PROXY, HTTPS_PROXY, NO_PROXY)",
			bind: str(func(j *Job) *string { return &j.Fetch.Proxy }), check: checkProxy},
		{Name: "no-proxy", Doc: "ignore the proxy environment variables", Group: "Fetching", Cmds: Both, Help: "ignore the proxy environment variables",
			bind: b(func(j *Job) *bool { return &j.Fetch.NoProxy })},
		{Name: "warc", Group: "Archive", Cmds: Both, Help: "also archive every request and response, as sent and received, in WARC 1.1 files in this folder (HTTP/1.1 only)",
			bind: str(func(j *Job) *string { return &j.WARC.Dir })},
		{Name: "warc-max-size", Group: "Archive", Cmds: Both, Default: units.FormatSize(warc.DefaultMaxSize), Help: "start a new WARC file past this size",
			bind: size(func(j *Job) *int64 { return &j.WARC.MaxSize }), check: needsWARC("warc-max-size")},
		{Name: "warc-prefix", Group: "Archive", Cmds: Both, Default: "trawl", Help: "WARC file names: PREFIX-TIMESTAMP-SERIAL-HOST.warc.gz",
			bind: str(func(j *Job) *string { return &j.WARC.Prefix }), check: needsWARC("warc-prefix")},
		{Name: "warc-dedup", Group: "Archive", Cmds: Both, Default: "true", Help: "write a payload archived before as a revisit record (--warc-dedup=false: always whole)",
			bind: b(func(j *Job) *bool { return &j.WARC.Dedup }), check: needsWARC("warc-dedup")},
		{Name: "warc-cdx", Group: "Archive", Cmds: Both, Help: "write a CDXJ index (pywb's) beside each WARC file",
			bind: b(func(j *Job) *bool { return &j.WARC.CDX }), check: needsWARC("warc-cdx")},
		{Name: "wacz", Group: "Archive", Cmds: Both, Help: "when the run ends, pack the job's WARC files into this WACZ file (as trawl export --format wacz)",
			bind: str(func(j *Job) *string { return &j.WACZ }), check: needsWARC("wacz")},
	}
}

func renderSettings() []Setting {
	return []Setting{
		{Name: "render", Bare: string(render.All), Words: []string{string(render.All), string(render.Some)}, Group: "Rendering", Cmds: Both,
			Help: "run each page's scripts in headless Chromium and keep the DOM they leave: --render (every HTML page) or --render auto (pages that look built by script)",
			Doc:  "run pages' scripts in headless Chromium before links and items are taken from them: `all` (the flag alone: every HTML page) or `auto` (pages whose HTML looks built by script: some script and under 200 bytes of text, or an empty app mount point such as `#app`; see docs/rendering.md). Every request the page makes is fetched by trawl, under the job's rules, and archived with `--warc`. The record keeps the response as received, and the rendered DOM",
			bind: str(func(j *Job) *string { return (*string)(&j.Render.Mode) }),
			check: func(j *Job) error {
				if err := (render.Config{Mode: j.Render.Mode}).Check(); err != nil {
					return usagef("--%v", err)
				}
				return nil
			}},
		{Name: "render-include", Group: "Rendering", Cmds: Both, Help: "also render the pages whose URL matches this regexp, whatever --render says (repeatable)",
			bind: list(func(j *Job) *[]string { return &j.Render.Include }), check: patterns(func(j *Job) []string { return j.Render.Include })},
		{Name: "chromium", Group: "Rendering", Cmds: Both, Help: "the browser to render with (default: chromium, chromium-browser or google-chrome on PATH); never downloaded",
			bind: str(func(j *Job) *string { return &j.Render.Chromium }), check: needsRender("chromium")},
		{Name: "render-idle", Group: "Rendering", Cmds: Both, Default: "500ms", Help: "a page is done when its network has been quiet this long after its load event",
			bind: dur(func(j *Job) *time.Duration { return &j.Render.Idle }), check: needsRender("render-idle")},
		{Name: "render-wait", Group: "Rendering", Cmds: Both, Help: "a page is done when an element matches this CSS selector (instead of --render-idle)",
			bind: str(func(j *Job) *string { return &j.Render.Wait }), check: needsRender("render-wait")},
		{Name: "render-timeout", Group: "Rendering", Cmds: Both, Default: "30s", Help: "most time for one page's render; a page not done by then is taken as it is, with a note",
			bind: dur(func(j *Job) *time.Duration { return &j.Render.Timeout }), check: func(j *Job) error {
				if j.Render.Timeout <= 0 {
					return usagef("--render-timeout must be positive")
				}
				return needsRender("render-timeout")(j)
			}},
		{Name: "scroll", Group: "Rendering", Cmds: Both, Help: "scroll each rendered page down this many screens, waiting for it to settle after each (pages that load more on scroll)",
			bind: i(func(j *Job) *int { return &j.Render.Scroll }), check: needsRender("scroll")},
		{Name: "browsers", Group: "Rendering", Cmds: Both, Help: "browser tabs rendering at once (default: the machine's cores)",
			bind: i(func(j *Job) *int { return &j.Render.Browsers }), check: needsRender("browsers")},
		{Name: "tab-pages", Group: "Rendering", Cmds: Both, Default: "50", Help: "pages a tab renders before it is closed and a fresh one opened",
			bind: i(func(j *Job) *int { return &j.Render.TabPages }), check: needsRender("tab-pages")},
		{Name: "render-max-memory", Group: "Rendering", Cmds: Both, Default: "512MB", Help: "JavaScript heap of one page's renderer; a page that needs more fails, and its tab is replaced",
			bind: size(func(j *Job) *int64 { return &j.Render.MaxMemory }), check: needsRender("render-max-memory")},
		{Name: "render-cache", Group: "Rendering", Cmds: Both, Default: "64MB", Help: "bytes of scripts, styles, images and API answers kept for later pages, which are not fetched again",
			bind: size(func(j *Job) *int64 { return &j.Render.Cache }), check: needsRender("render-cache")},
		{Name: "screenshot", Group: "Rendering", Cmds: Both, Help: "keep a PNG of each rendered page's viewport in the job (and, with --warc, as a resource record)",
			bind: b(func(j *Job) *bool { return &j.Render.Screenshot }), check: needsRender("screenshot")},
	}
}

// needsRender checks that a rendering setting is given with --render or
// --render-include.
func needsRender(name string) func(*Job) error {
	return func(j *Job) error {
		if !j.Render.On() && j.Set(name) {
			return usagef("--%s needs --render (or --render-include)", name)
		}
		return nil
	}
}

func outputSettings() []Setting {
	return []Setting{
		{Name: "frontier", Group: "Shared crawl", Cmds: Both, Help: "share one crawl with other trawl processes through this Redis (redis://HOST:6379/0, rediss://, unix://) or Redis Cluster (redis+cluster://HOST:PORT,HOST:PORT); needs --crawl",
			bind: str(func(j *Job) *string { return &j.Shared.Frontier }), check: checkShared},
		{Name: "crawl", Group: "Shared crawl", Cmds: Both, Help: "name of the shared crawl (with --frontier)",
			bind: str(func(j *Job) *string { return &j.Shared.Crawl })},
		{Name: "frontier-shards", Doc: "how many shards a new shared crawl's work is split over, by host: `0` chooses (four per master on a Redis Cluster, `1` on a single Redis), `1` keeps the whole crawl on one hash slot. Fixed when the crawl is created: a process that asks for another number than the crawl has is refused (exit 2)", Group: "Shared crawl", Cmds: Both, Default: "0", Help: "shards a new shared crawl is split over, by host (0: four per master on a cluster, 1 on a single Redis)",
			bind: i(func(j *Job) *int { return &j.Shared.Shards }), check: func(j *Job) error {
				if j.Shared.Shards < 0 || j.Shared.Shards > 1024 {
					return usagef("--frontier-shards %d: from 0 to 1024", j.Shared.Shards)
				}
				return nil
			}},
		{Name: "frontier-replicas", Doc: "how many replicas an enqueue or a completion waits for (Redis `WAIT`, at most 1s) before trawl counts it done, so that a failover loses none of it: `0` chooses (1 on a cluster whose masters all have a replica, else none), `-1` waits for none", Group: "Shared crawl", Cmds: Both, Default: "0", Help: "replicas each enqueue and completion waits for (0: one on a cluster whose masters have one; -1: none)",
			bind: i(func(j *Job) *int { return &j.Shared.Replicas }), check: atLeast("frontier-replicas", -1, func(j *Job) int { return j.Shared.Replicas })},
		{Name: "lease", Group: "Shared crawl", Cmds: Both, Default: frontier.DefaultLeaseTTL.String(), Help: "how long a URL stays leased to a process that stops extending it (a killed one); running fetches are extended",
			bind: dur(func(j *Job) *time.Duration { return &j.Engine.Lease }),
			check: func(j *Job) error {
				if j.Engine.Lease <= 0 {
					return usagef("--lease must be positive")
				}
				return nil
			}},
		{Name: "metrics", Doc: "serve a live status page at `/`, Prometheus metrics at `/metrics` and `/status.json` at `ADDR` (`9090` or `:9090` listen on 127.0.0.1; `0.0.0.0:9090` on every interface). Read-only; an address that is taken is exit 2", Group: "Output", Cmds: Both, Help: "serve a live status page, /metrics (Prometheus) and /status.json at this address (PORT or HOST:PORT; loopback unless HOST says otherwise)",
			bind: str(func(j *Job) *string { return &j.Output.Metrics })},
		{Name: "progress", Doc: "`bar` (percent, done/total, rate, bytes, ETA: a fetch, whose list says how much there is), `line`, `none`; `auto` is a bar for a fetch and a line for a crawl on a terminal, and off a terminal a plain line every 10 s with no control characters", Group: "Output", Cmds: Both, Only: FlagOnly, Default: "auto", Help: "progress display: bar (a fetch's list: percent, rate, ETA), line, none; auto: bar or line on a terminal, a plain line every 10s elsewhere",
			bind:  str(func(j *Job) *string { return &j.Output.Progress }),
			check: oneOf("progress", func(j *Job) string { return j.Output.Progress }, "bar", "line", "none", "auto")},
		{Name: "quiet", Doc: "no progress line and no log", Short: "q", Group: "Output", Cmds: Both, Only: FlagOnly, Help: "no progress line and no log, only the summary and errors",
			bind: b(func(j *Job) *bool { return &j.Output.Quiet })},
		{Name: "verbose", Doc: "log every fetch to stderr", Short: "v", Group: "Output", Cmds: Both, Only: FlagOnly, Help: "log every fetch to stderr",
			bind: b(func(j *Job) *bool { return &j.Output.Verbose })},
	}
}

// needsWARC checks that an archive setting given comes with --warc.
func needsWARC(name string) func(*Job) error {
	return func(j *Job) error {
		if j.WARC.Dir == "" && j.Set(name) {
			return usagef("--%s needs --warc DIR", name)
		}
		return nil
	}
}

// The rules' keys of a config file: not flags, decoded into Job.Rules.
var ruleKeys = []Setting{
	{Name: "follow", Group: "Rules", Cmds: Crawl, Only: FileOnly, Help: "CSS selectors of the links to follow; when present, only those are followed (see docs/scrape.md)"},
	{Name: "extract", Group: "Rules", Cmds: Both, Only: FileOnly, Help: "item rules: name, match, each, fields (see docs/scrape.md)"},
}

// lookup returns the setting whose YAML key is key.
func lookup(key string) (Setting, bool) {
	for _, s := range Settings() {
		if s.Key() == key || s.Alias != "" && s.Alias == key {
			return s, true
		}
	}
	return Setting{}, false
}

func (s Setting) String() string { return fmt.Sprintf("--%s", s.Name) }

// checkRevisits checks --revisit, --min-revisit and --max-revisit.
func checkRevisits(j *Job) error {
	c := j.Continuous
	switch {
	case c.Min <= 0:
		return usagef("--min-revisit %s: must be positive", c.Min)
	case c.First < c.Min || c.First > c.Max:
		return usagef("--revisit %s: must be within --min-revisit %s and --max-revisit %s", c.First, c.Min, c.Max)
	case c.On && j.Shared.Frontier != "":
		return usagef("--continuous keeps its schedule in the job's own frontier; a shared crawl (--frontier) cannot run it yet")
	case c.On && j.Engine.MaxPerHost > 0:
		return usagef("--continuous with --max-per-host: a host's budget would be spent by revisits; bound a continuous job with --include/--exclude or --depth")
	case c.On && j.Recrawl:
		return usagef("--continuous and --recrawl: choose one (a continuous job revisits each URL on its own schedule)")
	}
	return nil
}
