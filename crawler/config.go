package crawler

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/trawl-dev/trawl/crawler/rules"
	"github.com/trawl-dev/trawl/crawler/scope"
	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/store"
)

// ErrConfig marks errors in a job's configuration, its rules included
// (it is rules.ErrConfig).
var ErrConfig = rules.ErrConfig

// Config is a job's settings. DefaultConfig gives the command line's
// defaults.
type Config struct {
	Seeds       []string      // URLs to start from (depth 0)
	Follow      bool          // extract and follow links; false only fetches what is added
	Scope       string        // which links to follow: host, domain, subtree or any
	Include     []string      // follow only URLs matching one of these regexps
	Exclude     []string      // never follow URLs matching one of these regexps
	MaxDepth    int           // most hops from a seed; 0 is no limit (default scope.DefaultMaxDepth)
	MaxPages    int           // stop after this many pages stored in the job; 0 is no limit
	MaxPerHost  int           // most pages fetched from one host; 0 is no limit
	MaxLinks    int           // most links followed from one page (DefaultMaxLinks); 0 is no limit
	Concurrency int           // requests in flight in all
	PerHost     int           // requests in flight to one host
	Delay       time.Duration // least time between request starts to one host
	Retries     int           // attempts after the first, for transient failures
	Timeout     time.Duration // one attempt, body included
	UserAgent   string
	MaxBody     int64         // bytes of decoded body; 0 is no limit
	Lease       time.Duration // how long a lease lives unless extended (default frontier.DefaultLeaseTTL)

	IgnoreRobots bool          // fetch what robots.txt disallows (for one's own sites)
	Insecure     bool          // skip TLS certificate verification
	DenyPrivate  bool          // refuse private, loopback and link-local addresses, but the seeds' own
	AutoThrottle bool          // pace each host by its latency (see politeness.Options)
	MaxDelay     time.Duration // most auto-throttle gap (default 60s)

	// OutDir, when set, makes every 2xx body stream to a file under it
	// instead of into the job (bulk download); records name the file.
	// Downloaded bodies are not parsed: no links, no items.
	OutDir    string
	Layout    string            // file names under OutDir: host (default), flat or hash (see store.Dir)
	Checksums map[string]string // expected hex SHA-256 by URL or file name (see download.ReadChecksums)

	// Header is sent with every request; a list line's own headers win.
	Header http.Header
	// Redact names headers, besides Authorization, Cookie,
	// Proxy-Authorization and Set-Cookie, whose values are secrets: never
	// written to the job, a log or an export (see fetch.Redactor).
	Redact []string

	// Rate caps the job's requests a second (robots.txt and retries
	// included), RatePerHost each host's, and LimitRate the body bytes a
	// second of the whole job; 0 is no limit.
	Rate        float64
	RatePerHost float64
	LimitRate   int64

	// Cookies keeps a cookie jar, saved in the job; CookieFile (a
	// Netscape cookies.txt) adds its cookies to it.
	Cookies    bool
	CookieFile string

	// Proxy sends every request through this proxy (http://, https://
	// or socks5:// URL) instead of the environment's; NoProxy ignores the
	// environment's proxies.
	Proxy   *url.URL
	NoProxy bool

	// WARC, when its Dir is set, archives every response in WARC files.
	WARC WARC
	// Sitemaps also reads the sitemaps of the seeds' hosts (their
	// robots.txt Sitemap lines and /sitemap.xml), and queues the URLs they
	// list that are in scope.
	Sitemaps bool
	// Requisites also fetches what each page needs to render (images,
	// stylesheets, scripts…) from any host; they count toward no depth.
	Requisites bool
}

// WARC configures the archive of a job.
type WARC struct {
	Dir     string // where the .warc.gz files go
	Prefix  string // of their names (default "trawl")
	MaxSize int64  // a file is closed past this size (default 1 GB)
	Dedup   bool   // a payload archived before is written as a revisit record
	CDX     bool   // a CDXJ index beside each file (pywb's format)
}

// DefaultMaxLinks is how many links are followed from one page by
// default, as Heritrix: a page with more is a trap or a sitemap.
const DefaultMaxLinks = 6000

// Version is trawl's version.
const Version = "0.1.0"

// DefaultUserAgent is sent when Config.UserAgent is empty.
const DefaultUserAgent = "trawl/0.1 (+https://github.com/trawl-dev/trawl)"

// DefaultConfig returns the defaults of the trawl command line.
func DefaultConfig() Config {
	return Config{
		Follow:       true,
		Scope:        "host",
		MaxDepth:     scope.DefaultMaxDepth,
		MaxLinks:     DefaultMaxLinks,
		Concurrency:  16,
		PerHost:      2,
		Retries:      3,
		Timeout:      30 * time.Second,
		UserAgent:    DefaultUserAgent,
		MaxBody:      10 << 20,
		AutoThrottle: true,
		MaxDelay:     60 * time.Second,
		Lease:        frontier.DefaultLeaseTTL,
	}
}

// Validate checks the settings, seeds, scope and patterns, so that a bad
// job is refused before anything is opened or fetched. Its errors wrap
// ErrConfig.
func (c *Config) Validate() error {
	if err := c.validate(); err != nil {
		return err
	}
	_, _, err := c.scope()
	return err
}

// scope returns the canonical seeds and the scope they make.
func (c *Config) scope() ([]string, *scope.Scope, error) {
	seeds := make([]string, 0, len(c.Seeds))
	for _, s := range c.Seeds {
		u, err := frontier.Canonical(s)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: seed: %v", ErrConfig, err)
		}
		seeds = append(seeds, u)
	}
	sc, err := scope.New(c.Scope, seeds, c.Include, c.Exclude)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return seeds, sc, nil
}

func (c *Config) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
	}
	switch {
	case c.Concurrency < 1:
		return bad("concurrency must be at least 1, not %d", c.Concurrency)
	case c.PerHost < 1:
		return bad("per-host must be at least 1, not %d", c.PerHost)
	case c.Retries < 0:
		return bad("retries must not be negative")
	case c.Timeout <= 0:
		return bad("timeout must be positive")
	case c.Delay < 0:
		return bad("delay must not be negative")
	case c.MaxBody < 0:
		return bad("max-body must not be negative")
	case c.MaxDepth < 0:
		return bad("depth must not be negative")
	case c.MaxPages < 0:
		return bad("max-pages must not be negative")
	case c.MaxPerHost < 0:
		return bad("max-per-host must not be negative")
	case c.MaxLinks < 0:
		return bad("max-links must not be negative")
	case c.Lease < 0:
		return bad("lease must not be negative")
	case c.Layout != "" && c.Layout != store.LayoutHost && c.Layout != store.LayoutFlat && c.Layout != store.LayoutHash:
		return bad("unknown layout %q (want host, flat or hash)", c.Layout)
	}
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
	if c.Lease == 0 {
		c.Lease = frontier.DefaultLeaseTTL
	}
	return nil
}
