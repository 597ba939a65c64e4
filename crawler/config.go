package crawler

import (
	"fmt"
	"time"

	"github.com/trawl-dev/trawl/crawler/rules"
)

// ErrConfig marks errors in a job's configuration, its rules included
// (it is rules.ErrConfig).
var ErrConfig = rules.ErrConfig

// Config is what the engine itself reads of a job's settings; the rest
// configure the parts it is given (see Parts and package configs).
type Config struct {
	Follow      bool          // extract and follow links; false only fetches what is added
	Concurrency int           // requests in flight in all
	MaxDepth    int           // most hops from a seed; 0 is no limit
	MaxLinks    int           // most links followed from one page; 0 is no limit
	MaxPages    int           // stop after this many pages stored in the job; 0 is no limit
	MaxPerHost  int           // most pages fetched from one host; 0 is no limit
	Lease       time.Duration // how long a lease lives unless extended
	// Sitemaps also reads the sitemaps of the seeds' hosts (their
	// robots.txt Sitemap lines and /sitemap.xml), and queues the URLs they
	// list that are in scope.
	Sitemaps bool
	// Requisites also fetches what each page needs to render (images,
	// stylesheets, scripts…) from any host; they count toward no depth.
	Requisites bool
	// Pass (the job's, see store.Store.Pass: a URL's first record's) and
	// Revisit are set by the job. Revisit asks a URL the job holds again
	// with its previous record's validators (see Store.Previous).
	Pass    int
	Revisit bool
}

// Check reports the first setting of c that the engine cannot run with;
// its errors wrap ErrConfig. It does not change c.
func (c Config) Check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
	}
	switch {
	case c.Concurrency < 1:
		return bad("concurrency must be at least 1, not %d", c.Concurrency)
	case c.MaxDepth < 0:
		return bad("depth must not be negative")
	case c.MaxPages < 0:
		return bad("max-pages must not be negative")
	case c.MaxPerHost < 0:
		return bad("max-per-host must not be negative")
	case c.MaxLinks < 0:
		return bad("max-links must not be negative")
	case c.Lease <= 0:
		return bad("lease must be positive")
	}
	return nil
}

// Version is trawl's version.
const Version = "0.1.0"

// DefaultUserAgent is sent when a job names no User-Agent.
const DefaultUserAgent = "trawl/0.1 (+https://github.com/trawl-dev/trawl)"
