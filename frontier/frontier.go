// Package frontier is trawl's URL queue: it deduplicates canonical URLs,
// keeps one queue per host with the time that host may next be fetched, and
// leases URLs to workers so that work in flight at a crash is fetched again.
//
// Bolt keeps the frontier in a job's bbolt file. The crawler uses it through
// its own small interface (crawler.Frontier), which other implementations,
// such as a Redis-backed one shared by several processes, can satisfy too.
package frontier

import (
	"errors"
	"time"
)

// ErrDrained is returned by Next when nothing is queued and nothing is
// leased: the crawl is complete.
var ErrDrained = errors.New("frontier: drained")

// A Request is a URL to fetch, with how far it is from a seed.
type Request struct {
	URL   string // canonical URL (see Canonical)
	Depth int    // hops from a seed; seeds have depth 0
	// Spec describes a request other than a plain GET of URL (method,
	// headers, body…), opaque to the frontier. It is part of the request's
	// identity: one URL with two Specs is two requests.
	Spec string
}

// ID returns the identity of r that deduplication uses: its URL, or its
// URL and Spec.
func (r Request) ID() string {
	if r.Spec == "" {
		return r.URL
	}
	return r.URL + "\x00" + r.Spec
}

// A Lease is a Request handed to one worker. The URL stays in the frontier
// until its lease is completed; a lease that is never completed (the process
// died) returns to the queue.
type Lease struct {
	Request
	Host string // Host(URL)
	Key  []byte // implementation's key for the queued entry
}

// A Pace says when a host may be fetched next. It is what the politeness
// layer decides after a fetch.
type Pace struct {
	Gap       time.Duration // least time between two request starts to the host
	Limit     int           // most leases of the host at once; 0 keeps the current limit
	NotBefore time.Time     // the host is not leased again before this time
}

// Done reports a completed lease and the requests found on its page.
type Done struct {
	Lease Lease
	Found []Request
}

// Stats is a snapshot of a frontier's counts.
type Stats struct {
	Queued   int // URLs waiting, not leased
	Leased   int // URLs leased and not yet completed
	Hosts    int // hosts with queued or leased URLs
	Seen     int // distinct URLs ever added (this run's view)
	Filtered int // Add calls rejected as already seen, this run
}
