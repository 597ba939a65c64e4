package redis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/trawl-dev/trawl/frontier"
)

// Frontier is a frontier.Frontier kept in Redis, shared by every process
// that joined its crawl. Create it with Crawl.Frontier.
//
// Every call is one script, retried while Redis does not answer (see
// Crawl). A call retried after Redis took it but the answer was lost is
// safe: Add and Complete deduplicate, a lease granted but never received
// expires, and a Release, Return or Complete of a lease already ended
// reports it lost.
type Frontier struct {
	cr   *Crawl
	opts frontier.Options
	base []any // the arguments every script takes first

	mu   sync.Mutex
	bell chan struct{}             // closed and replaced when something may be leasable
	held map[uint64]frontier.Lease // leased here, not yet completed or returned
	done int                       // leases completed here
	sub  *goredis.PubSub
	id   string // this process, in the crawl's process table
	born time.Time
	stop chan struct{}
	wg   sync.WaitGroup
}

var _ frontier.Frontier = (*Frontier)(nil)

// maxPoll is the longest a waiting Lease goes without asking Redis again:
// other processes' changes arrive by pub/sub, and this covers a message
// lost in a reconnect.
const maxPoll = 250 * time.Millisecond

// batch is the most requests one script call adds.
const batch = 2000

// Frontier returns the crawl's frontier with opts. The counts of earlier
// runs (opts.Done, opts.Fetched) start the crawl's own when this process
// created it, and are ignored otherwise: Redis keeps the crawl's counts.
// Close it when done.
func (cr *Crawl) Frontier(ctx context.Context, opts frontier.Options) (*Frontier, error) {
	opts = opts.WithDefaults()
	f := &Frontier{
		cr:   cr,
		opts: opts,
		base: []any{cr.epoch, opts.LeaseTTL.Milliseconds(), opts.Pace.Limit, opts.Pace.Gap.Milliseconds(), opts.MaxPages, opts.MaxPerHost},
		bell: make(chan struct{}),
		held: make(map[uint64]frontier.Lease),
		stop: make(chan struct{}),
		id:   processID(),
		born: time.Now(),
	}
	if cr.created && (opts.Done > 0 || len(opts.Fetched) > 0) {
		cr.created = false
		args := []any{opts.Done}
		for h, n := range opts.Fetched {
			args = append(args, h, n)
		}
		if _, err := f.run(ctx, scripts.seed, args...); err != nil {
			return nil, err
		}
	}
	f.sub = cr.c.Subscribe(context.Background(), cr.prefix+"wake")
	f.wg.Add(2)
	go f.listen()
	go f.heartbeat()
	return f, nil
}

func (f *Frontier) listen() {
	defer f.wg.Done()
	ch := f.sub.Channel()
	for {
		select {
		case <-f.stop:
			return
		case _, ok := <-ch:
			if !ok {
				return
			}
			f.ring()
		}
	}
}

// ring wakes the Lease calls waiting here.
func (f *Frontier) ring() {
	f.mu.Lock()
	close(f.bell)
	f.bell = make(chan struct{})
	f.mu.Unlock()
}

func (f *Frontier) run(ctx context.Context, s *goredis.Script, args ...any) (any, error) {
	return f.cr.run(ctx, f.base, s, args...)
}

// fingerprint returns the seen-set bucket and field of a request ID: 12
// bytes of its SHA-256, the first two naming one of 65,536 hashes (each a
// compact listpack up to Redis's hash-max-listpack-entries, 128 by
// default: about 8 million URLs) and ten bytes stored in it.
func fingerprint(id string) (string, string) {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:2]), string(sum[2:12])
}

// entry encodes a request as it is queued: depth, URL and spec.
func entry(r frontier.Request) string {
	return strconv.Itoa(r.Depth) + "\x00" + r.URL + "\x00" + r.Spec
}

func parseEntry(e string) (frontier.Request, error) {
	d, rest, ok1 := strings.Cut(e, "\x00")
	u, spec, ok2 := strings.Cut(rest, "\x00")
	depth, err := strconv.Atoi(d)
	if !ok1 || !ok2 || err != nil {
		return frontier.Request{}, fmt.Errorf("redis frontier: bad queue entry %q", e)
	}
	return frontier.Request{URL: u, Depth: depth, Spec: spec}, nil
}

func addArgs(args []any, reqs []frontier.Request) []any {
	for _, r := range reqs {
		b, fp := fingerprint(r.ID())
		args = append(args, b, fp, frontier.Host(r.URL), r.Depth, entry(r))
	}
	return args
}

// Add queues the requests never added to the crawl before.
func (f *Frontier) Add(ctx context.Context, reqs []frontier.Request) (int, error) {
	return f.add(ctx, reqs, "0")
}

// Requeue queues reqs again although they were added before.
func (f *Frontier) Requeue(ctx context.Context, reqs []frontier.Request) (int, error) {
	return f.add(ctx, reqs, "1")
}

func (f *Frontier) add(ctx context.Context, reqs []frontier.Request, again string) (int, error) {
	added := 0
	for len(reqs) > 0 {
		n := min(len(reqs), batch)
		res, err := f.run(ctx, scripts.add, addArgs([]any{again}, reqs[:n])...)
		if err != nil {
			return added, err
		}
		added += int(res.(int64))
		reqs = reqs[n:]
	}
	return added, nil
}

// Lease waits until a host of the crawl is ready and leases the head of
// its queue.
func (f *Frontier) Lease(ctx context.Context) (frontier.Lease, error) {
	var t *time.Timer
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for {
		f.mu.Lock()
		bell := f.bell // taken before asking, so a change while we ask is not missed
		f.mu.Unlock()
		res, err := f.run(ctx, scripts.lease)
		if err != nil {
			return frontier.Lease{}, err
		}
		r := res.([]any)
		switch r[0].(string) {
		case "ok":
			return f.granted(r)
		case "drained":
			return frontier.Lease{}, frontier.ErrDrained
		case "limit":
			return frontier.Lease{}, frontier.ErrLimit
		case "retry":
			continue
		}
		wait := time.Duration(r[1].(int64)) * time.Millisecond
		if wait < 0 || wait > maxPoll {
			wait = maxPoll
		}
		if t == nil {
			t = time.NewTimer(wait)
		} else {
			t.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return frontier.Lease{}, ctx.Err()
		case <-f.stop:
			return frontier.Lease{}, errClosed
		case <-bell:
		case <-t.C:
		}
	}
}

func (f *Frontier) granted(r []any) (frontier.Lease, error) {
	tok := uint64(r[1].(int64))
	ttl := time.Duration(r[2].(int64)) * time.Millisecond
	e := r[4].(string)
	req, err := parseEntry(e)
	if err != nil {
		return frontier.Lease{}, err
	}
	l := frontier.Lease{
		Request:    req,
		Host:       r[3].(string),
		Token:      tok,
		Deadline:   time.Now().Add(ttl),
		OverBudget: r[5].(string) == "1",
		Key:        []byte(e),
	}
	f.mu.Lock()
	f.held[l.Token] = l
	f.mu.Unlock()
	return l, nil
}

func lost(l frontier.Lease) error {
	return fmt.Errorf("%w: %s (lease %d)", frontier.ErrLeaseLost, l.URL, l.Token)
}

func (f *Frontier) forget(tokens ...uint64) {
	f.mu.Lock()
	for _, t := range tokens {
		delete(f.held, t)
	}
	f.mu.Unlock()
}

// Extend moves l's deadline to LeaseTTL from now.
func (f *Frontier) Extend(ctx context.Context, l frontier.Lease) error {
	res, err := f.run(ctx, scripts.extend, l.Token)
	if err != nil {
		return err
	}
	if res.(int64) == 0 {
		return lost(l)
	}
	return nil
}

// ms is how far t is from now, in milliseconds, for Redis to add to its
// own clock; -1 for the zero time.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return -1
	}
	return max((time.Until(t) + time.Millisecond - 1).Milliseconds(), 0) // rounded up: never early
}

// Release ends the fetch of l and paces its host by p.
func (f *Frontier) Release(ctx context.Context, l frontier.Lease, p frontier.Pace) error {
	res, err := f.run(ctx, scripts.release, l.Token, l.Host, p.Gap.Milliseconds(), p.Limit, ms(p.NotBefore))
	if err != nil {
		return err
	}
	if res.(int64) == 0 {
		return lost(l)
	}
	return nil
}

// Return puts l back at the head of its host's queue.
func (f *Frontier) Return(ctx context.Context, l frontier.Lease, notBefore time.Time) error {
	res, err := f.run(ctx, scripts.ret, l.Token, ms(notBefore))
	if err != nil {
		return err
	}
	f.forget(l.Token)
	if res.(int64) == 0 {
		return lost(l)
	}
	return nil
}

// Hold keeps host from being leased before until.
func (f *Frontier) Hold(ctx context.Context, host string, until time.Time) error {
	_, err := f.run(ctx, scripts.hold, host, ms(until))
	return err
}

// Complete removes completed leases and adds what was found on their pages.
func (f *Frontier) Complete(ctx context.Context, done []frontier.Done) error {
	for len(done) > 0 {
		n, size := 0, 0
		for n < len(done) && (n == 0 || size+1+len(done[n].Found) <= batch) {
			size += 1 + len(done[n].Found)
			n++
		}
		if err := f.complete(ctx, done[:n]); err != nil {
			return err
		}
		done = done[n:]
	}
	return nil
}

func (f *Frontier) complete(ctx context.Context, done []frontier.Done) error {
	args := []any{len(done)}
	tokens := make([]uint64, len(done))
	for i, d := range done {
		args = append(args, d.Lease.Token, d.Lease.Host, string(d.Lease.Key))
		tokens[i] = d.Lease.Token
	}
	for _, d := range done {
		args = addArgs(args, d.Found)
	}
	res, err := f.run(ctx, scripts.complete, args...)
	if err != nil {
		return err
	}
	f.forget(tokens...)
	f.mu.Lock()
	f.done += len(done)
	f.mu.Unlock()
	gone := res.([]any)
	if len(gone) == 0 {
		return nil
	}
	byToken := make(map[string]frontier.Lease, len(done))
	for _, d := range done {
		byToken[strconv.FormatUint(d.Lease.Token, 10)] = d.Lease
	}
	le := &frontier.LostError{}
	for _, g := range gone {
		le.Leases = append(le.Leases, byToken[g.(string)])
	}
	f.mu.Lock()
	f.done -= len(le.Leases)
	f.mu.Unlock()
	return le
}

// Stats returns the crawl-wide counts. Seen, Filtered and OverBudget count
// the whole crawl, not this run.
func (f *Frontier) Stats(ctx context.Context) (frontier.Stats, error) {
	return f.cr.stats(ctx, f.run)
}

// Close returns the leases this process still holds unfetched to their
// queues, so that other processes need not wait for them to expire, and
// stops listening. It does not close the Crawl.
func (f *Frontier) Close(ctx context.Context) error {
	f.mu.Lock()
	held := make([]frontier.Lease, 0, len(f.held))
	for _, l := range f.held {
		held = append(held, l)
	}
	f.mu.Unlock()
	var errs []error
	for _, l := range held {
		if err := f.Return(ctx, l, time.Time{}); err != nil && !errors.Is(err, frontier.ErrLeaseLost) {
			errs = append(errs, err)
			break
		}
	}
	close(f.stop)
	errs = append(errs, f.sub.Close())
	f.wg.Wait()
	f.cr.c.HDel(ctx, f.cr.prefix+"procs", f.id)
	return errors.Join(errs...)
}
