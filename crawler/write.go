package crawler

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/store"
)

// result is one finished lease on its way to the writer: its record, and
// its completion (a redirect hop has only the latter).
type result struct {
	page *store.Page
	done frontier.Done
}

// A batch of results is committed when it holds writeBatch results or
// writeLinger after its first result arrived, whichever comes first: large
// enough batches that bbolt writes each touched page once for many records.
// It is committed at once when every worker waits for a lease: the links
// the batch found may be all the work there is (a crawl's first pages, its
// last), and nothing else would come while it lingers.
// Results waiting for the writer hold at most writeBytes of memory (bodies
// and found links): a worker with a result waits for room, so a site that
// makes huge pages slows the crawl instead of filling the memory.
const (
	writeBatch = 1024
	writeBytes = 64 << 20
)

// writeLinger is a var for a test that makes it an hour.
var writeLinger = 20 * time.Millisecond

// size estimates the memory r holds.
func (r *result) size() int64 {
	n := 64
	if r.page != nil {
		n += r.page.Size()
	}
	for _, f := range r.done.Found {
		n += len(f.URL) + len(f.Spec) + 48
	}
	return int64(min(n, writeBytes))
}

// writer is the single goroutine that saves results: each batch's records,
// bodies and items, and its leases' completion, through the Saver.
type writer struct {
	c       *Crawler
	room    *semaphore.Weighted // bytes of results not yet committed
	results chan *result
	failed  chan struct{} // closed when a commit fails
	done    chan struct{}
	err     error

	waiting atomic.Int32  // workers waiting for a lease
	starved chan struct{} // a signal that every worker waits for one
}

func newWriter(c *Crawler) *writer {
	w := &writer{c: c, room: semaphore.NewWeighted(writeBytes), results: make(chan *result, writeBatch),
		failed: make(chan struct{}), done: make(chan struct{}), starved: make(chan struct{}, 1)}
	go w.run()
	return w
}

// lease is c.fr.Lease, counted among the workers waiting for one.
func (w *writer) lease(ctx context.Context) (frontier.Lease, error) {
	if w.waiting.Add(1) == int32(w.c.p.Config.Concurrency) {
		select {
		case w.starved <- struct{}{}:
		default:
		}
	}
	defer w.waiting.Add(-1)
	return w.c.p.Frontier.Lease(ctx)
}

// put hands r to the writer, waiting for room; it fails once a commit has
// failed or ctx ends.
func (w *writer) put(ctx context.Context, r *result) error {
	if err := w.room.Acquire(ctx, r.size()); err != nil {
		return err
	}
	select {
	case w.results <- r:
		return nil
	case <-w.failed:
		return errors.New("writer failed")
	}
}

// close waits for every result put to be committed, and returns the first
// commit error.
func (w *writer) close() error {
	close(w.results)
	<-w.done
	return w.err
}

func (w *writer) run() {
	defer close(w.done)
	batch := make([]*result, 0, writeBatch)
	linger := time.NewTimer(writeLinger)
	defer linger.Stop()
	for r := range w.results {
		if w.err != nil {
			w.room.Release(r.size())
			continue // keep draining so no worker blocks
		}
		batch = append(batch[:0], r)
		linger.Reset(writeLinger)
	fill:
		for len(batch) < writeBatch {
			select {
			case r, ok := <-w.results:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			case <-linger.C:
				break fill
			case <-w.starved:
				if w.waiting.Load() == int32(w.c.p.Config.Concurrency) {
					break fill
				}
			}
		}
		if w.err = w.commit(batch); w.err != nil {
			close(w.failed)
		}
		for _, r := range batch {
			w.room.Release(r.size())
		}
	}
}

func (w *writer) commit(batch []*result) error {
	c := w.c
	pages := make([]*store.Page, 0, len(batch))
	done := make([]frontier.Done, len(batch))
	for i, r := range batch {
		done[i] = r.done
		if r.page != nil { // a redirect hop's result has no record yet
			pages = append(pages, r.page)
		}
	}
	start := time.Now()
	// Bodies the sink wrote are durable before records say they are done.
	if err := c.p.Sink.Sync(); err != nil {
		return err
	}
	lost, err := c.p.Saver.Save(context.Background(), pages, done)
	if err == nil {
		err = ended(lost)
	}
	if err != nil {
		return fmt.Errorf("saving results: %w", err)
	}
	nlost := 0
	if le := (*frontier.LostError)(nil); errors.As(lost, &le) {
		c.p.Log.Info("results saved after their leases expired", "error", lost)
		nlost = len(le.Leases)
	}
	c.stats.saved(pages, nlost)
	c.p.Observer.Committed(len(batch), time.Since(start))
	return nil
}
