package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/crawler/page"
	"github.com/trawl-dev/trawl/crawler/rules"
	"github.com/trawl-dev/trawl/internal/units"
	"github.com/trawl-dev/trawl/store"
	"github.com/trawl-dev/trawl/store/warc"
)

// usageError is a mistake in the command line or config: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

// duration is a time.Duration read from flags and YAML as "500ms", "2s".
type duration time.Duration

func (d *duration) String() string { return time.Duration(*d).String() }
func (d *duration) Type() string   { return "duration" }
func (d *duration) Set(s string) error {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("bad duration %q (want e.g. 500ms, 2s, 1m)", s)
	}
	if v < 0 {
		return fmt.Errorf("duration %q must not be negative", s)
	}
	*d = duration(v)
	return nil
}
func (d *duration) UnmarshalYAML(n *yaml.Node) error { return d.Set(n.Value) }

// size is a byte count read from flags and YAML as "10MB", "512KB".
type size int64

func (s *size) String() string { return units.FormatSize(int64(*s)) }
func (s *size) Type() string   { return "size" }
func (s *size) Set(v string) error {
	n, err := units.ParseSize(v)
	if err != nil {
		return err
	}
	*s = size(n)
	return nil
}
func (s *size) UnmarshalYAML(n *yaml.Node) error { return s.Set(n.Value) }

// jobOptions are the settings of crawl and fetch, from a YAML config and
// flags (flags win). The YAML keys are the flag names with '_' for '-'.
type jobOptions struct {
	Job         string   `yaml:"job"`
	Seeds       []string `yaml:"seeds"`
	Concurrency int      `yaml:"concurrency"`
	PerHost     int      `yaml:"per_host"`
	Delay       duration `yaml:"delay"`
	Retries     int      `yaml:"retries"`
	Timeout     duration `yaml:"timeout"`
	UserAgent   string   `yaml:"user_agent"`
	MaxBody     size     `yaml:"max_body"`
	Scope       string   `yaml:"scope"`
	Include     []string `yaml:"include"`
	Exclude     []string `yaml:"exclude"`
	Depth       int      `yaml:"depth"`
	MaxPages    int      `yaml:"max_pages"`
	MaxPerHost  int      `yaml:"max_per_host"`
	MaxLinks    int      `yaml:"max_links"`
	OutDir      string   `yaml:"out_dir"`
	Layout      string   `yaml:"layout"`
	Checksums   string   `yaml:"checksums"`

	IgnoreRobots bool     `yaml:"ignore_robots"`
	Insecure     bool     `yaml:"insecure"`
	DenyPrivate  *bool    `yaml:"deny_private"` // nil: on when the scope reaches beyond the seeds' hosts
	AutoThrottle bool     `yaml:"auto_throttle"`
	MaxDelay     duration `yaml:"max_delay"`
	Metrics      string   `yaml:"metrics"`  // address of the status page and metrics; "" for none
	Frontier     string   `yaml:"frontier"` // redis://… of a shared crawl; "" keeps the queue in the job
	Crawl        string   `yaml:"crawl"`    // the shared crawl's name
	Lease        duration `yaml:"lease"`
	Headers      []string `yaml:"headers"` // "Name: value", or "@FILE" of such lines
	Rate         float64  `yaml:"rate"`
	RatePerHost  float64  `yaml:"rate_per_host"`
	LimitRate    size     `yaml:"limit_rate"`
	Cookies      bool     `yaml:"cookies"`
	LoadCookies  string   `yaml:"load_cookies"`
	Proxy        string   `yaml:"proxy"`
	NoProxy      bool     `yaml:"no_proxy"`
	Redact       []string `yaml:"redact"`
	WARC         string   `yaml:"warc"` // folder of WARC files; "" for none
	WARCMaxSize  size     `yaml:"warc_max_size"`
	WARCPrefix   string   `yaml:"warc_prefix"`
	WARCDedup    bool     `yaml:"warc_dedup"`
	WARCCDX      bool     `yaml:"warc_cdx"`
	Requisites   bool     `yaml:"requisites"`
	Sitemaps     bool     `yaml:"sitemaps"`

	rules.Rules `yaml:",inline"` // follow and extract

	config      string
	header      http.Header // Headers, read
	proxy       *url.URL    // Proxy, read
	retryFailed bool        // --retry-failed
	deny        bool        // --deny-private as parsed
	quiet       bool
	verbose     bool
	progress    string // --progress
}

func defaultOptions() jobOptions {
	d := crawler.DefaultConfig()
	return jobOptions{
		Job:          "trawl.db",
		Concurrency:  d.Concurrency,
		PerHost:      d.PerHost,
		Retries:      d.Retries,
		Timeout:      duration(d.Timeout),
		UserAgent:    d.UserAgent,
		MaxBody:      size(d.MaxBody),
		Scope:        d.Scope,
		Depth:        d.MaxDepth,
		MaxLinks:     d.MaxLinks,
		AutoThrottle: d.AutoThrottle,
		MaxDelay:     duration(d.MaxDelay),
		Lease:        duration(d.Lease),
		WARCMaxSize:  size(warc.DefaultMaxSize),
		WARCPrefix:   "trawl",
		WARCDedup:    true,
	}
}

// flags binds o to a flag set; each flag's default is o's current value.
func (o *jobOptions) flags(name string, crawl bool) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.Job, "job", o.Job, "job file: results, queue and state (resumed when it exists)")
	fs.StringVar(&o.config, "config", "", "YAML job config (see configs/); flags override it")
	fs.IntVarP(&o.Concurrency, "concurrency", "c", o.Concurrency, "requests in flight in all")
	fs.IntVar(&o.PerHost, "per-host", o.PerHost, "requests in flight to one host")
	fs.Var(&o.Delay, "delay", "least time between requests to one host (e.g. 500ms)")
	fs.IntVar(&o.Retries, "retries", o.Retries, "retries after the first attempt, on timeouts, connection errors, 408/425/429/5xx")
	fs.Var(&o.Timeout, "timeout", "time limit of one attempt, body included (with --out-dir: most time without a byte)")
	fs.StringVar(&o.UserAgent, "user-agent", o.UserAgent, "User-Agent header")
	fs.Var(&o.MaxBody, "max-body", "largest decoded body kept (KB, MB, GB); 0 = no limit (with --out-dir: none unless given)")
	fs.BoolVar(&o.Insecure, "insecure", o.Insecure, "do not verify TLS certificates")
	fs.BoolVar(&o.IgnoreRobots, "ignore-robots", o.IgnoreRobots, "fetch what robots.txt disallows (only for your own sites)")
	fs.BoolVar(&o.AutoThrottle, "auto-throttle", o.AutoThrottle, "pace each host by its latency; slow down sharply on 429/503 (--auto-throttle=false to turn off)")
	fs.Var(&o.MaxDelay, "max-delay", "most delay auto-throttle may reach")
	if !crawl {
		fs.StringVar(&o.OutDir, "out-dir", o.OutDir, "stream each 2xx body to a file under this folder, not into the job")
		fs.StringVar(&o.Layout, "layout", o.Layout, "file names under --out-dir: host (DIR/host/path), flat (DIR/name) or hash (DIR/ab/abcd….ext)")
		fs.StringVar(&o.Checksums, "checksums", o.Checksums, "sha256sum file to verify downloads against (by file name or URL)")
	}
	if crawl {
		fs.StringVar(&o.Scope, "scope", o.Scope, "links to follow: host, domain, subtree or any")
		fs.StringArrayVar(&o.Include, "include", o.Include, "follow only URLs matching this regexp (repeatable)")
		fs.StringArrayVar(&o.Exclude, "exclude", o.Exclude, "never follow URLs matching this regexp (repeatable)")
		fs.IntVar(&o.Depth, "depth", o.Depth, "most hops from a seed (a guard against endless link chains); 0 = no limit")
		fs.IntVar(&o.MaxPages, "max-pages", o.MaxPages, "stop when the job holds this many pages; 0 = no limit")
		fs.IntVar(&o.MaxPerHost, "max-per-host", o.MaxPerHost, "most pages fetched from one host (a page budget); 0 = no limit")
		fs.IntVar(&o.MaxLinks, "max-links", o.MaxLinks, "most links followed from one page (the rest are left, and the record says links_truncated); 0 = no limit")
		fs.BoolVar(&o.deny, "deny-private", o.DenyPrivate != nil && *o.DenyPrivate,
			"refuse loopback, private, link-local and metadata addresses other than the seeds' (default: on for --scope domain and any)")
	} else {
		fs.BoolVar(&o.deny, "deny-private", o.DenyPrivate != nil && *o.DenyPrivate,
			"refuse loopback, private, link-local and metadata addresses, also behind redirects and proxies (default: off)")
	}
	fs.StringVar(&o.Metrics, "metrics", o.Metrics, "serve a live status page, /metrics (Prometheus) and /status.json at this address (PORT or HOST:PORT; loopback unless HOST says otherwise)")
	fs.StringArrayVarP(&o.Headers, "header", "H", o.Headers, "send this header with every request: 'Name: value', or @FILE of such lines (repeatable; a list line's own headers win)")
	fs.StringArrayVar(&o.Redact, "redact", o.Redact, "a header whose value is a secret, never written to the job, a log or an export (Authorization, Cookie, Proxy-Authorization and Set-Cookie always are)")
	fs.Float64Var(&o.Rate, "rate", o.Rate, "most requests a second in all (robots.txt and retries included); 0 = no limit")
	fs.Float64Var(&o.RatePerHost, "rate-per-host", o.RatePerHost, "most requests a second to one host (--per-host may still be in flight); 0 = no limit")
	fs.Var(&o.LimitRate, "limit-rate", "most body bytes a second in all (e.g. 500KB, 2MB); 0 = no limit")
	fs.BoolVar(&o.Cookies, "cookies", o.Cookies, "keep cookies as a browser does (public-suffix aware), saved in the job: a resumed job goes on with its session")
	fs.StringVar(&o.LoadCookies, "load-cookies", o.LoadCookies, "start with the cookies of this Netscape cookies.txt (as curl, wget and browser extensions write); implies --cookies")
	fs.StringVar(&o.Proxy, "proxy", o.Proxy, "send every request through this proxy: http://[user:pass@]HOST:PORT, https://… or socks5://… (default: HTTP_PROXY, HTTPS_PROXY, NO_PROXY)")
	fs.BoolVar(&o.NoProxy, "no-proxy", o.NoProxy, "ignore the proxy environment variables")
	fs.StringVar(&o.WARC, "warc", o.WARC, "also archive every request and response, as sent and received, in WARC 1.1 files in this folder (HTTP/1.1 only)")
	fs.Var(&o.WARCMaxSize, "warc-max-size", "start a new WARC file past this size")
	fs.StringVar(&o.WARCPrefix, "warc-prefix", o.WARCPrefix, "WARC file names: PREFIX-TIMESTAMP-SERIAL-HOST.warc.gz")
	fs.BoolVar(&o.WARCDedup, "warc-dedup", o.WARCDedup, "write a payload archived before as a revisit record (--warc-dedup=false: always whole)")
	fs.BoolVar(&o.WARCCDX, "warc-cdx", o.WARCCDX, "write a CDXJ index (pywb's) beside each WARC file")
	if crawl {
		fs.BoolVar(&o.Sitemaps, "sitemaps", o.Sitemaps, "also crawl the URLs the seeds' hosts list in sitemaps (robots.txt Sitemap lines and /sitemap.xml; indexes 3 deep, gzip and text ones), in scope")
		fs.BoolVar(&o.Requisites, "requisites", o.Requisites, "also fetch what each page needs to render (images, stylesheets, scripts, media) from any host; they add no depth")
	}
	fs.StringVar(&o.Frontier, "frontier", o.Frontier, "share one crawl with other trawl processes through this Redis (redis://HOST:6379/0, rediss://, unix://); needs --crawl")
	fs.StringVar(&o.Crawl, "crawl", o.Crawl, "name of the shared crawl (with --frontier)")
	fs.Var(&o.Lease, "lease", "how long a URL stays leased to a process that stops extending it (a killed one); running fetches are extended")
	fs.BoolVar(&o.retryFailed, "retry-failed", false, "also try again the job's URLs that failed in earlier runs (no answer, 408/425/429/5xx, cut-off body)")
	fs.StringVar(&o.progress, "progress", "auto", "progress display: bar (a fetch's list: percent, rate, ETA), line, none; auto: bar or line on a terminal, a plain line every 10s elsewhere")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "no progress line and no log, only the summary and errors")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "log every fetch to stderr")
	fs.BoolP("help", "h", false, "show this help")
	return fs
}

// parseJobArgs reads args into options: defaults, then the YAML config if
// --config names one, then the flags. It returns the positional arguments.
func parseJobArgs(name string, crawl bool, args []string) (*jobOptions, []string, error) {
	o := defaultOptions()
	fs := o.flags(name, crawl)
	if err := parseFlags(fs, args); err != nil {
		return nil, nil, err
	}
	if o.config != "" {
		path := o.config
		o = defaultOptions()
		if err := loadConfig(path, &o, crawl); err != nil {
			return nil, nil, err
		}
		fs = o.flags(name, crawl)
		if err := parseFlags(fs, args); err != nil {
			return nil, nil, err
		}
	}
	if fs.Changed("deny-private") {
		o.DenyPrivate = &o.deny
	}
	if o.OutDir != "" && !fs.Changed("max-body") && o.MaxBody == defaultOptions().MaxBody {
		o.MaxBody = 0 // downloads stream to disk: no cap unless asked for
	}
	switch o.Layout {
	case "", store.LayoutHost, store.LayoutFlat, store.LayoutHash:
	default:
		return nil, nil, usagef("unknown --layout %q (want host, flat or hash)", o.Layout)
	}
	if o.OutDir == "" && (o.Layout != "" || o.Checksums != "") {
		return nil, nil, usagef("--layout and --checksums need --out-dir")
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"concurrency", o.Concurrency}, {"per-host", o.PerHost}, {"retries", o.Retries}, {"depth", o.Depth}, {"max-pages", o.MaxPages}, {"max-per-host", o.MaxPerHost}} {
		if n.v < 0 {
			return nil, nil, usagef("--%s must not be negative (got %d)", n.name, n.v)
		}
	}
	if o.Concurrency == 0 || o.PerHost == 0 {
		return nil, nil, usagef("--concurrency and --per-host must be at least 1")
	}
	if o.Timeout == 0 {
		return nil, nil, usagef("--timeout must be positive")
	}
	if err := checkShared(&o); err != nil {
		return nil, nil, err
	}
	switch o.progress {
	case "auto", "bar", "line", "none":
	default:
		return nil, nil, usagef("--progress %q: want bar, line, none or auto", o.progress)
	}
	if o.Rate < 0 || o.RatePerHost < 0 || o.LimitRate < 0 {
		return nil, nil, usagef("--rate, --rate-per-host and --limit-rate must not be negative")
	}
	proxy, err := parseProxy(o.Proxy, o.NoProxy)
	if err != nil {
		return nil, nil, err
	}
	o.proxy = proxy
	h, err := parseHeaders(o.Headers)
	if err != nil {
		return nil, nil, err
	}
	o.header = h
	if o.WARC == "" && (fs.Changed("warc-max-size") || fs.Changed("warc-prefix") || fs.Changed("warc-dedup") || fs.Changed("warc-cdx")) {
		return nil, nil, usagef("--warc-max-size, --warc-prefix, --warc-dedup and --warc-cdx need --warc DIR")
	}
	if o.WARC != "" && o.WARCMaxSize < 64<<10 {
		return nil, nil, usagef("--warc-max-size %s: at least 64KB", units.FormatSize(int64(o.WARCMaxSize)))
	}
	if o.WARC != "" && (o.WARCPrefix == "" || strings.ContainsAny(o.WARCPrefix, `/\`)) {
		return nil, nil, usagef("--warc-prefix %q: a name, no slashes", o.WARCPrefix)
	}
	return &o, fs.Args(), nil
}

// errHelp is returned when --help was asked for; the caller prints usage.
var errHelp = errors.New("help requested")

func parseFlags(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return errHelp
		}
		return usagef("%v", err)
	}
	if h, _ := fs.GetBool("help"); h {
		return errHelp
	}
	return nil
}

var unknownField = regexp.MustCompile(`^(line \d+: )field (\S+) not found`)

func loadConfig(path string, o *jobOptions, crawl bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return usagef("config: %v", err)
	}
	if data, err = expandEnv(data); err != nil {
		return usagef("config %s: %v", path, err)
	}
	if err := checkExpansion(data); err != nil {
		return usagef("config %s: %v", path, err)
	}
	depth := o.Depth
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(o); err != nil && !errors.Is(err, io.EOF) {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = strings.ReplaceAll(msg, "in type main.jobOptions", "")
		msg = strings.ReplaceAll(msg, "unmarshal errors:\n  ", "")
		if m := unknownField.FindStringSubmatch(msg); m != nil {
			msg = m[1] + "unknown key " + strconv.Quote(m[2])
		}
		return usagef("config %s: %s", path, strings.TrimSpace(msg))
	}
	if err := checkPatterns(o); err != nil {
		return usagef("config %s: %v", path, err)
	}
	if crawl && (o.OutDir != "" || o.Layout != "" || o.Checksums != "") {
		return usagef("config %s: out_dir, layout and checksums are fetch settings, not crawl ones", path)
	}
	if !crawl && len(o.Follow) > 0 {
		return usagef("config %s: follow is a crawl setting (fetch follows no links)", path)
	}
	if !crawl && (len(o.Seeds) > 0 || len(o.Include) > 0 || len(o.Exclude) > 0 || o.Depth != depth || o.MaxPages != 0 || o.MaxPerHost != 0) {
		return usagef("config %s: seeds, include, exclude, depth, max_pages and max_per_host are crawl settings, not fetch ones", path)
	}
	return nil
}

// maxConfigExpansion bounds a config with its aliases expanded: a few
// aliases of a large anchor must not take the memory of the machine.
const maxConfigExpansion = 4 << 20

// checkExpansion refuses a config that YAML aliases would blow up, reading
// it as a node tree, where an alias is one node whatever it stands for.
func checkExpansion(data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil // the decoder reports it with its own words
	}
	memo := map[*yaml.Node]int64{}
	var size func(n *yaml.Node) int64
	size = func(n *yaml.Node) int64 {
		if n == nil {
			return 0
		}
		if v, ok := memo[n]; ok {
			return v
		}
		memo[n] = maxConfigExpansion + 1 // a cycle counts as too big
		v := int64(len(n.Value)) + 1 + size(n.Alias)
		for _, c := range n.Content {
			if v += size(c); v > maxConfigExpansion {
				break
			}
		}
		memo[n] = min(v, maxConfigExpansion+1)
		return memo[n]
	}
	if size(&doc) > maxConfigExpansion {
		return fmt.Errorf("with its aliases expanded the config is over %s; write the values out", units.FormatSize(maxConfigExpansion))
	}
	return nil
}

// Patterns are bounded in number and size, and repeats are dropped.
const (
	maxPatterns    = 1000
	maxPatternSize = 16 << 10
)

func checkPatterns(o *jobOptions) error {
	for _, list := range []*[]string{&o.Include, &o.Exclude} {
		seen := map[string]bool{}
		out := (*list)[:0]
		for _, p := range *list {
			if len(p) > maxPatternSize {
				return fmt.Errorf("a pattern of %s is over %s", units.FormatSize(int64(len(p))), units.FormatSize(maxPatternSize))
			}
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
		if len(out) > maxPatterns {
			return fmt.Errorf("%d patterns, more than %d", len(out), maxPatterns)
		}
		*list = out
	}
	return nil
}

// extractor compiles the config's rules; it returns nil when there are
// none. Its errors wrap crawler.ErrConfig (exit 2).
func (o *jobOptions) extractor() (page.Extractor, error) {
	if len(o.Follow) == 0 && len(o.Extract) == 0 {
		return nil, nil
	}
	rs, err := rules.Compile(o.Rules)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", o.config, err)
	}
	return rs, nil
}

// crawlerConfig turns options into the crawler's configuration.
func (o *jobOptions) crawlerConfig() crawler.Config {
	return crawler.Config{
		Seeds:       o.Seeds,
		Follow:      true,
		Scope:       o.Scope,
		Include:     o.Include,
		Exclude:     o.Exclude,
		MaxDepth:    o.Depth,
		MaxPages:    o.MaxPages,
		MaxPerHost:  o.MaxPerHost,
		MaxLinks:    o.MaxLinks,
		Concurrency: o.Concurrency,
		PerHost:     o.PerHost,
		Delay:       time.Duration(o.Delay),
		Retries:     o.Retries,
		Timeout:     time.Duration(o.Timeout),
		UserAgent:   o.UserAgent,
		MaxBody:     int64(o.MaxBody),
		Lease:       time.Duration(o.Lease),
		Header:      o.header,
		Proxy:       o.proxy,
		Cookies:     o.Cookies,
		CookieFile:  o.LoadCookies,
		Rate:        o.Rate,
		RatePerHost: o.RatePerHost,
		LimitRate:   int64(o.LimitRate),
		NoProxy:     o.NoProxy,
		Redact:      o.Redact,
		WARC:        crawler.WARC{Dir: o.WARC, Prefix: o.WARCPrefix, MaxSize: int64(o.WARCMaxSize), Dedup: o.WARCDedup, CDX: o.WARCCDX},
		Requisites:  o.Requisites,
		Sitemaps:    o.Sitemaps,

		IgnoreRobots: o.IgnoreRobots,
		Insecure:     o.Insecure,
		DenyPrivate:  o.DenyPrivate != nil && *o.DenyPrivate || o.DenyPrivate == nil && (o.Scope == "domain" || o.Scope == "any"),
		AutoThrottle: o.AutoThrottle,
		MaxDelay:     time.Duration(o.MaxDelay),
		OutDir:       o.OutDir,
		Layout:       o.Layout,
	}
}

// checkShared checks the settings of a shared crawl.
func checkShared(o *jobOptions) error {
	switch {
	case o.Frontier == "" && o.Crawl != "":
		return usagef("--crawl names a shared crawl: it needs --frontier redis://HOST:PORT/DB")
	case o.Frontier == "":
		return nil
	case o.Crawl == "":
		return usagef("--frontier needs --crawl NAME: the name of the shared crawl")
	case strings.ContainsAny(o.Crawl, "{}"):
		return usagef("--crawl %q: a name without braces", o.Crawl)
	case o.Lease < duration(time.Second):
		return usagef("--lease %s: at least 1s", time.Duration(o.Lease))
	}
	scheme, _, _ := strings.Cut(o.Frontier, "://")
	switch scheme {
	case "redis", "rediss", "unix":
		return nil
	}
	return usagef("--frontier %q: want redis://HOST:PORT/DB, rediss://… or unix:///path/to/socket", o.Frontier)
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces each ${VAR} in a config with the variable's value, so
// that secrets stay in the environment and out of config files; an unset
// variable is an error. ($VAR without braces is left alone: regexps use $.)
func expandEnv(data []byte) ([]byte, error) {
	var missing []string
	out := envRef.ReplaceAllFunc(data, func(m []byte) []byte {
		name := string(m[2 : len(m)-1])
		v, ok := os.LookupEnv(name)
		if !ok {
			missing = append(missing, name)
		}
		return []byte(v)
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("${%s} is not set in the environment", strings.Join(missing, "}, ${"))
	}
	return out, nil
}

// parseHeaders reads "Name: value" headers, and the lines of "@FILE"
// arguments (blank lines and # comments skipped).
func parseHeaders(specs []string) (http.Header, error) {
	h := http.Header{}
	for _, spec := range specs {
		lines := []string{spec}
		if name, ok := strings.CutPrefix(spec, "@"); ok {
			data, err := os.ReadFile(name)
			if err != nil {
				return nil, usagef("--header @%s: %v", name, err)
			}
			lines = strings.Split(string(data), "\n")
		}
		for _, line := range lines {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") && spec != line {
				continue
			}
			k, v, ok := strings.Cut(line, ":")
			k = strings.TrimSpace(k)
			if !ok || k == "" || strings.ContainsAny(k, " \t\r\n") || strings.ContainsAny(v, "\r\n") {
				return nil, usagef("--header %q: want 'Name: value'", redactLine(line))
			}
			h.Add(k, strings.TrimSpace(v))
		}
	}
	if len(h) == 0 {
		return nil, nil
	}
	return h, nil
}

// redactLine shows a bad header line without its value.
func redactLine(line string) string {
	if k, _, ok := strings.Cut(line, ":"); ok {
		return k + ": " + fetch.Redacted
	}
	if len(line) > 20 {
		return line[:20] + "…"
	}
	return line
}

// parseProxy reads a --proxy URL.
func parseProxy(s string, none bool) (*url.URL, error) {
	if s == "" {
		return nil, nil
	}
	if none {
		return nil, usagef("--proxy and --no-proxy together: choose one")
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return nil, usagef("--proxy %q: want http://HOST:PORT, https://… or socks5://…", s)
	}
	switch u.Scheme {
	case "http", "https", "socks5", "socks5h":
		return u, nil
	}
	return nil, usagef("--proxy %q: scheme %q (want http, https or socks5)", s, u.Scheme)
}
