// Package frontier is trawl's URL queue: it deduplicates canonical URLs,
// keeps one queue per host with the time that host may next be fetched, and
// leases URLs to workers so that work in flight at a crash is fetched again.
//
// The Frontier interface is what the crawler needs; Bolt implements it in a
// job's bbolt file, and other implementations (Redis, for several processes)
// can satisfy it too.
package frontier

import (
	"context"
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

// Frontier is a persistent, deduplicating, per-host-paced URL queue.
type Frontier interface {
	// Add queues the requests whose URL was never added before and
	// returns how many were new.
	Add(ctx context.Context, reqs []Request) (int, error)
	// Next leases the next URL whose host is ready, waiting until one is.
	// It returns ErrDrained when nothing is queued or leased.
	Next(ctx context.Context) (Lease, error)
	// Release ends the fetch of l (its host may be leased again according
	// to p) without completing it.
	Release(l Lease, p Pace)
	// Return puts an unfinished lease back in the queue; its host is not
	// leased again before notBefore.
	Return(l Lease, notBefore time.Time)
	// Hold keeps host from being leased before until.
	Hold(host string, until time.Time)
	// Complete removes completed leases from the queue and adds what was
	// found on their pages, in one step.
	Complete(ctx context.Context, done []Done) error
	// Stats returns current counts.
	Stats() Stats
}
