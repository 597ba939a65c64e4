// Package keeper keeps a worker pool's leases alive: the leases being
// fetched are extended in the frontier until their fetch ends, so that a
// slow download is not leased to another worker.
package keeper

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/trawl-dev/trawl/frontier"
)

// Keeper keeps the leases being fetched, and extends them while they
// are. It is safe for concurrent use; the zero value is ready.
type Keeper struct {
	mu sync.Mutex
	m  map[uint64]frontier.Lease
}

// Add keeps l.
func (a *Keeper) Add(l frontier.Lease) {
	a.mu.Lock()
	if a.m == nil {
		a.m = make(map[uint64]frontier.Lease)
	}
	a.m[l.Token] = l
	a.mu.Unlock()
}

// Remove lets l go.
func (a *Keeper) Remove(l frontier.Lease) {
	a.mu.Lock()
	delete(a.m, l.Token)
	a.mu.Unlock()
}

// Extend extends every kept lease in fr each interval until the returned
// function is called.
func (a *Keeper) Extend(ctx context.Context, fr frontier.Frontier, every time.Duration, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			a.mu.Lock()
			ls := make([]frontier.Lease, 0, len(a.m))
			for _, l := range a.m {
				ls = append(ls, l)
			}
			a.mu.Unlock()
			for _, l := range ls {
				if err := fr.Extend(ctx, l); err != nil && ctx.Err() == nil {
					log.Info("lease not extended", "url", l.URL, "error", err)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}
