package crawler

import (
	"context"
	"time"

	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/store"
)

// An Observer is told what a running job does, as it does it: for
// metrics and a status page (see crawler/monitor). Its methods are called
// from many goroutines at once and must return quickly; they must not
// call back into the Crawler.
type Observer interface {
	// Visited reports one request's outcome: fetched (after its retries),
	// or not fetched on purpose or for its host.
	Visited(v Visit)
	// Committed reports a batch of results saved in one transaction.
	Committed(results int, took time.Duration)
	// Held reports that host may not be asked again before until (a
	// server's Retry-After, or a 429/503).
	Held(host string, until time.Time)
}

// A Visit is one request's outcome.
type Visit struct {
	Host     string
	Status   int             // 0 when nothing answered or nothing was asked
	Kind     fetch.ErrorKind // the failure's kind; "" for none
	Skipped  store.Skip      // why it was not fetched on purpose
	Attempts int
	Duration time.Duration // of the last attempt
	Bytes    int64         // body bytes received
	Gap      time.Duration // the host's pace after it
}

// nopObserver is the Observer of a crawler given none.
type nopObserver struct{}

func (nopObserver) Visited(Visit)                {}
func (nopObserver) Committed(int, time.Duration) {}
func (nopObserver) Held(string, time.Time)       {}

// DownHosts returns the hosts whose circuit is open: no answer from their
// last URLs, so that theirs fail fast for now.
func (c *Crawler) DownHosts() []string {
	down := c.p.Politeness.Down(context.Background(), time.Now())
	hosts := make([]string, 0, len(down))
	for h := range down {
		hosts = append(hosts, h)
	}
	return hosts
}
