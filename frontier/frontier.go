// Package frontier defines trawl's URL queue: the Frontier contract, the
// requests and leases that pass through it, and the canonical form of URLs
// that deduplication uses.
//
// Implementations live in sub-packages: frontier/bolt keeps the queue in
// the job's bbolt file, frontier/memory keeps it in memory, and
// frontier/frontiertest is the conformance suite every implementation
// passes.
package frontier

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Frontier is the queue a crawl drains. It deduplicates requests, keeps
// one queue per host with the time that host may next be fetched, and
// leases requests to workers so that work in flight when a worker dies is
// fetched again.
//
// Concurrency: every method is safe for concurrent use by many goroutines
// (and, for an implementation shared by several processes, by many
// processes at once). Every method takes a context and may fail: an
// implementation may be a network service. An error other than the
// sentinel errors below means the call may or may not have taken effect.
//
// Dedup: Add queues a request only if no request with the same ID was ever
// added (see Request.ID). The check and the enqueue are one atomic step, so
// two callers adding the same URL queue it once.
//
// Leases: Lease hands one request to one owner, with a deadline
// (Options.LeaseTTL from the Lease or the last Extend). The request stays
// in the frontier until its lease is completed. A lease whose deadline
// passes is lost: the frontier puts its request back at the head of its
// host's queue, where any owner may lease it again. A lease ends in exactly
// one of three ways:
//   - Return: not fetched (politeness said later); it goes back to the
//     head of its host's queue and counts toward no limit.
//   - Release, then Complete: fetched. Release is called as soon as the
//     fetch is over and frees the host's slot with the host's new pace;
//     Complete is called once the result is saved, and removes the
//     request for good and adds the requests found on its page.
//   - Expiry, as above, when its owner neither extends nor ends it.
//
// Calling Extend, Release or Return with a lost lease returns an error
// wrapping ErrLeaseLost (Release still applies the pace). Complete with a
// lost lease still removes the request if it is queued and not leased
// again (its result was saved, so it is not fetched twice from now on),
// adds what was found, and returns an error wrapping ErrLeaseLost.
//
// Per-host scheduling belongs to the frontier, because only the frontier
// sees every owner: a host has at most Pace.Limit leases released or
// unreleased at once, request starts at least Pace.Gap apart, and none
// before a Hold or Pace.NotBefore ends.
//
// Limits: Options.MaxPerHost and Options.MaxPages are the frontier's
// decisions too. Add drops links (depth > 0) to a host that already has
// MaxPerHost requests admitted; a request leased after its host's budget
// was spent comes with Lease.OverBudget set, not to be fetched. Lease
// returns ErrLimit once MaxPages leases have been completed.
//
// An implementation must not block any method on another owner's lease
// (only Lease waits, and only for a host to become ready), and must not
// retain the slices it is given after the call returns.
type Frontier interface {
	// Add queues the requests never added before and returns how many it
	// queued.
	Add(ctx context.Context, reqs []Request) (int, error)
	// Requeue queues reqs although they were added before (URLs whose
	// earlier fetch failed, to be tried once more), and returns how many
	// it queued.
	Requeue(ctx context.Context, reqs []Request) (int, error)
	// Lease waits until a host is ready and leases the head of its queue.
	// It returns ErrDrained when nothing is queued and nothing is leased
	// anywhere, ErrLimit when MaxPages is reached, and ctx's error when
	// ctx ends first.
	Lease(ctx context.Context) (Lease, error)
	// Extend moves l's deadline to LeaseTTL from now.
	Extend(ctx context.Context, l Lease) error
	// Release ends the fetch of l: its host may be leased again as p says.
	Release(ctx context.Context, l Lease, p Pace) error
	// Return puts l back at the head of its host's queue, and the host is
	// not leased again before notBefore.
	Return(ctx context.Context, l Lease, notBefore time.Time) error
	// Hold keeps host from being leased before until.
	Hold(ctx context.Context, host string, until time.Time) error
	// Complete removes completed leases and adds what was found on their
	// pages, at depth given in each Request.
	Complete(ctx context.Context, done []Done) error
	// Stats returns the frontier's counts.
	Stats(ctx context.Context) (Stats, error)
}

var (
	// ErrDrained is returned by Lease when nothing is queued and nothing is
	// leased: the crawl is complete.
	ErrDrained = errors.New("frontier: drained")
	// ErrLimit is returned by Lease when Options.MaxPages leases have been
	// completed.
	ErrLimit = errors.New("frontier: max-pages reached")
	// ErrLeaseLost is wrapped by the errors of calls made with a lease that
	// expired (or was never granted).
	ErrLeaseLost = errors.New("frontier: lease lost")
)

// LostError is the error of a Complete whose leases, some of them, had
// expired: it wraps ErrLeaseLost and names them.
type LostError struct {
	Leases []Lease
}

func (e *LostError) Error() string {
	return fmt.Sprintf("%v: %d completed after their lease expired (first: %s)", ErrLeaseLost, len(e.Leases), e.Leases[0].URL)
}

// Unwrap returns ErrLeaseLost.
func (e *LostError) Unwrap() error { return ErrLeaseLost }

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

// A Lease is a Request handed to one owner until Deadline.
type Lease struct {
	Request
	Host     string    // Host(URL)
	Token    uint64    // this lease's identity: a request leased again gets another
	Deadline time.Time // when the lease is lost unless extended
	// OverBudget says the host's page budget (Options.MaxPerHost) was
	// spent before this request was leased: complete it without fetching.
	OverBudget bool
	// Key is the implementation's key for the queued entry.
	Key []byte
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

// Options configure an implementation. The zero value of each field has
// the default given.
type Options struct {
	// Pace is how a host is paced until the first Release says otherwise
	// (default: two leases at once, no gap).
	Pace Pace
	// LeaseTTL is how long a lease lives without Extend (default 60s).
	LeaseTTL time.Duration
	// MaxPages, when positive, is how many leases may be completed in all,
	// those of earlier runs included (see Done).
	MaxPages int
	// MaxPerHost, when positive, is how many requests of one host may be
	// admitted and fetched in all.
	MaxPerHost int
	// Done and Fetched tell a frontier that keeps no such counts of its own
	// what earlier runs did: how many pages the job holds, and how many of
	// each host were fetched.
	Done    int
	Fetched map[string]int
}

// DefaultLeaseTTL is the LeaseTTL of Options that set none.
const DefaultLeaseTTL = 60 * time.Second

// WithDefaults returns o with its defaults filled in.
func (o Options) WithDefaults() Options {
	if o.Pace.Limit <= 0 {
		o.Pace.Limit = 2
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = DefaultLeaseTTL
	}
	return o
}

// Stats is a snapshot of a frontier's counts.
type Stats struct {
	Queued     int // requests waiting, not leased
	Leased     int // requests leased and not yet completed
	Hosts      int // hosts with queued or leased requests
	Seen       int // distinct requests added (this run's view)
	Filtered   int // requests Add rejected as already seen, this run
	OverBudget int // requests Add dropped as their host's budget was spent, this run
	Completed  int // leases completed, earlier runs included (as far as known)
	Lost       int // leases that expired, this run
}
