package job

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/frontier/bolt"
	"github.com/trawl-dev/trawl/internal/jobfile"
	"github.com/trawl-dev/trawl/store"
)

// continuous is the frontier of a continuous job: the job's own frontier,
// fed again by its revisit schedule (see store.Schedule). Its Lease never
// says the frontier is drained: it waits for the next URL to be due.
type continuous struct {
	*bolt.Frontier
	st *store.Store

	mu      sync.Mutex
	next    time.Time // when the earliest scheduled URL is due, as last seen
	checked time.Time // when the schedule was last read
}

// recheck is how often the schedule is read while URLs keep it busy: the
// visits saved meanwhile schedule URLs of their own.
const recheck = time.Second

// Lease releases the URLs due by now into the frontier, then leases; when
// nothing is queued or leased, it waits for the next to be due.
func (c *continuous) Lease(ctx context.Context) (frontier.Lease, error) {
	for {
		wait, err := c.release(time.Now())
		if err != nil {
			return frontier.Lease{}, err
		}
		l, err := c.Frontier.Lease(ctx)
		if !errors.Is(err, frontier.ErrDrained) {
			return l, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return frontier.Lease{}, ctx.Err()
		case <-t.C:
		}
	}
}

// release queues the URLs due by now, if it is time to look, and returns
// how long to wait before looking again.
func (c *continuous) release(now time.Time) (time.Duration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Before(c.next) && now.Sub(c.checked) < recheck {
		return min(c.next.Sub(now), recheck), nil
	}
	c.checked = now
	err := c.st.File().Update(func(tx *jobfile.Tx) error {
		reqs, next, err := c.st.DueTx(tx, now, 10000)
		if err != nil {
			return err
		}
		c.next = next
		if len(reqs) > 0 {
			_, err = c.Frontier.RequeueTx(tx, reqs)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("revisit schedule: %w", err)
	}
	if c.next.IsZero() {
		return recheck, nil
	}
	return min(max(c.next.Sub(now), time.Millisecond), recheck), nil
}
