package redis

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/trawl-dev/trawl/frontier"
)

// Frontier is a frontier.Frontier kept in Redis, shared by every process
// that joined its crawl. Create it with Crawl.Frontier.
//
// Every call is one script per shard it touches, retried while Redis does
// not answer (see Crawl). A call retried after Redis took it but the
// answer was lost is safe: Add and Complete deduplicate, a lease granted
// but never received expires, and a Release, Return or Complete of a
// lease already ended reports it lost.
//
// On a sharded crawl, Lease looks at the shards in turn from a place that
// moves with every call, skipping those it found empty until one says it
// has work; Complete queues the links found for other shards before it
// completes its leases (so that no moment shows the work nowhere), and the
// crawl is drained only when every shard is empty and no completion
// queued work elsewhere while that was checked (Crawl.gen).
type Frontier struct {
	cr   *Crawl
	opts frontier.Options
	base []any // the arguments every script takes first
	k    int   // shards

	turn   atomic.Uint64  // where the next Lease starts looking
	empty  []atomic.Int64 // by shard: till when (Unix ns) it is taken as empty
	grants []atomic.Int64 // by shard: pages of the budget granted it in all, as last heard
	wakes  map[string]int // wake channel → shard

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

// emptyFor is how long a Lease skips a shard it found empty, unless the
// shard says it has work first.
const emptyFor = time.Second

// batch is the most requests one script call adds.
const batch = 2000

// Frontier returns the crawl's frontier with opts. The counts of earlier
// runs (opts.Done, opts.Fetched) start the crawl's own when this process
// created it, and are ignored otherwise: Redis keeps the crawl's counts.
// On a sharded crawl, every process must give the same opts.MaxPages.
// Close it when done.
func (cr *Crawl) Frontier(ctx context.Context, opts frontier.Options) (*Frontier, error) {
	opts = opts.WithDefaults()
	maxp := opts.MaxPages
	if cr.Sharded() {
		maxp = -2
		if opts.MaxPages > 0 {
			maxp = -1
		}
	}
	k := len(cr.shards)
	f := &Frontier{
		cr:     cr,
		opts:   opts,
		base:   []any{cr.epoch, opts.LeaseTTL.Milliseconds(), opts.Pace.Limit, opts.Pace.Gap.Milliseconds(), maxp, opts.MaxPerHost},
		k:      k,
		empty:  make([]atomic.Int64, k),
		grants: make([]atomic.Int64, k),
		wakes:  make(map[string]int, k),
		bell:   make(chan struct{}),
		held:   make(map[uint64]frontier.Lease),
		stop:   make(chan struct{}),
		id:     processID(),
		born:   time.Now(),
	}
	f.turn.Store(uint64(time.Now().UnixNano()))
	if cr.created && (opts.Done > 0 || len(opts.Fetched) > 0) {
		cr.created = false
		if err := f.seed(ctx); err != nil {
			return nil, err
		}
	}
	channels := make([]string, k)
	for i, p := range cr.shards {
		channels[i] = p + "wake"
		f.wakes[channels[i]] = i
	}
	f.sub = cr.c.Subscribe(context.Background(), channels...)
	f.wg.Add(2)
	go f.listen()
	go f.heartbeat()
	return f, nil
}

// seed gives the crawl the counts of the earlier runs of the job that
// created it: each host's to its shard, the pages done to the first shard
// and to the crawl's budget.
func (f *Frontier) seed(ctx context.Context) error {
	args := make([][]any, f.k)
	args[0] = []any{f.opts.Done}
	for h, n := range f.opts.Fetched {
		k := f.cr.shardOf(h)
		if args[k] == nil {
			args[k] = []any{0}
		}
		args[k] = append(args[k], h, n)
	}
	for k, a := range args {
		if a == nil {
			continue
		}
		if _, err := f.runOn(ctx, k, true, scripts().seed, a...); err != nil {
			return err
		}
	}
	if !f.cr.Sharded() || f.opts.Done == 0 {
		return nil
	}
	return f.cr.do(ctx, func(ctx context.Context) error {
		return f.cr.c.HIncrBy(ctx, f.cr.prefix+"meta", "granted", int64(f.opts.Done)).Err()
	})
}

func (f *Frontier) listen() {
	defer f.wg.Done()
	ch := f.sub.Channel()
	for {
		select {
		case <-f.stop:
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			if k, ok := f.wakes[m.Channel]; ok {
				f.empty[k].Store(0)
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

func (f *Frontier) runOn(ctx context.Context, k int, durable bool, s *goredis.Script, args ...any) (any, error) {
	return f.cr.runOn(ctx, k, durable, f.base, s, args...)
}

// token returns the shard of a lease token and the token the shard knows
// it by: a shard's tokens are spread as local×K + shard.
func (f *Frontier) token(t uint64) (int, uint64) {
	return int(t % uint64(f.k)), t / uint64(f.k)
}

// fingerprint returns the seen-set bucket and field of a request ID in a
// crawl of k shards: 12 bytes of its SHA-256, the first two naming one of
// 65,536/k hashes of its shard (each a compact listpack up to Redis's
// hash-max-listpack-entries, 128 by default: about 8 million URLs in all)
// and ten bytes stored in it.
func fingerprint(id string, k int) (string, string) {
	sum := sha256.Sum256([]byte(id))
	b := uint32(binary.BigEndian.Uint16(sum[:2])) % uint32(65536/k)
	return hex.EncodeToString([]byte{byte(b >> 8), byte(b)}), string(sum[2:12])
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

func addArgs(args []any, reqs []frontier.Request, k int) []any {
	for _, r := range reqs {
		b, fp := fingerprint(r.ID(), k)
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
	if f.k == 1 {
		return f.addOn(ctx, 0, reqs, again)
	}
	by := make([][]frontier.Request, f.k)
	for _, r := range reqs {
		k := f.cr.shardOf(frontier.Host(r.URL))
		by[k] = append(by[k], r)
	}
	var added atomic.Int64
	var g errgroup.Group
	for k, rs := range by {
		if len(rs) > 0 {
			g.Go(func() error {
				n, err := f.addOn(ctx, k, rs, again)
				added.Add(int64(n))
				return err
			})
		}
	}
	err := g.Wait()
	return int(added.Load()), err
}

// addOn queues reqs, all of shard k's hosts.
func (f *Frontier) addOn(ctx context.Context, k int, reqs []frontier.Request, again string) (int, error) {
	added := 0
	for len(reqs) > 0 {
		n := min(len(reqs), batch)
		res, err := f.runOn(ctx, k, true, scripts().add, addArgs([]any{again}, reqs[:n], f.k)...)
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
		sw, err := f.sweep(ctx)
		switch {
		case err != nil:
			return frontier.Lease{}, err
		case sw.ok:
			return sw.lease, nil
		case sw.limit:
			return frontier.Lease{}, frontier.ErrLimit
		case sw.drained == f.k && f.k == 1:
			return frontier.Lease{}, frontier.ErrDrained
		case sw.drained == f.k:
			if ok, err := f.drained(ctx); err != nil || ok {
				return frontier.Lease{}, cmp.Or(err, frontier.ErrDrained)
			}
			continue
		case sw.exhausted && sw.leased == 0 && !sw.allowance:
			return frontier.Lease{}, frontier.ErrLimit // nothing leased can give a page back
		}
		wait := time.Duration(sw.wait) * time.Millisecond
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

// sweep is what one look at the shards found.
type sweep struct {
	lease     frontier.Lease
	ok        bool  // lease was granted
	limit     bool  // the crawl's page budget is spent (one slot)
	drained   int   // shards with nothing queued or leased
	exhausted bool  // a shard had a host ready and the crawl no page to grant it
	allowance bool  // a shard waiting for a host holds a page of the budget
	leased    int64 // leases out on the shards that said so
	wait      int64 // ms until a shard may change; -1 unknown
}

// sweep asks the shards in turn for a lease, from where the last Lease
// left off, skipping those found empty lately.
func (f *Frontier) sweep(ctx context.Context) (sweep, error) {
	s := sweep{wait: -1}
	start := int(f.turn.Add(1) % uint64(f.k))
	now := time.Now().UnixNano()
	for i := range f.k {
		k := (start + i) % f.k
		if f.k > 1 && now < f.empty[k].Load() {
			s.drained++
			continue
		}
		if err := f.ask(ctx, k, &s); err != nil || s.ok || s.limit {
			return s, err
		}
	}
	return s, nil
}

// ask asks shard k for a lease, adding its answer to s.
func (f *Frontier) ask(ctx context.Context, k int, s *sweep) error {
	for {
		res, err := f.runOn(ctx, k, false, scripts().lease, f.grants[k].Load())
		if err != nil {
			return err
		}
		r := res.([]any)
		switch r[0].(string) {
		case "ok":
			s.lease, err = f.granted(k, r)
			s.ok = err == nil
			return err
		case "retry":
			continue
		case "drained":
			f.empty[k].Store(time.Now().Add(emptyFor).UnixNano())
			s.drained++
		case "limit":
			s.limit = true
		case "budget":
			more, err := f.grant(ctx, k)
			if err != nil {
				return err
			}
			if more {
				continue
			}
			s.exhausted = true
			s.leased += r[1].(int64)
		case "wait":
			if w := r[1].(int64); w >= 0 && (s.wait < 0 || w < s.wait) {
				s.wait = w
			}
			if len(r) > 3 {
				s.leased += r[2].(int64)
				s.allowance = s.allowance || r[3].(int64) > 0
			}
		}
		return nil
	}
}

// grant asks the crawl for a page of its budget for shard k, and reports
// whether the shard may now have one (granted now, or earlier to a process
// that did not live to tell the shard).
func (f *Frontier) grant(ctx context.Context, k int) (bool, error) {
	res, err := f.cr.runAt(ctx, f.cr.prefix, false, nil, scripts().grant, f.cr.epoch, f.opts.MaxPages, k)
	if err != nil {
		return false, err
	}
	r := res.([]any)
	got, total := r[0].(int64) == 1, r[1].(int64)
	for {
		prev := f.grants[k].Load()
		if total <= prev {
			return got, nil
		}
		if f.grants[k].CompareAndSwap(prev, total) {
			return true, nil
		}
	}
}

// drained reports whether every shard is empty and stayed so while it
// looked: a completion that queued work on another shard changes the
// crawl's generation before it ends its lease, so a look that saw the
// lease's shard empty after the generation was read saw the work.
func (f *Frontier) drained(ctx context.Context) (bool, error) {
	g, err := f.cr.gen(ctx)
	if err != nil {
		return false, err
	}
	for k := range f.k {
		st, err := f.cr.shardStats(ctx, k, f.base)
		if err != nil {
			return false, err
		}
		if st.Queued > 0 || st.Leased > 0 {
			f.empty[k].Store(0)
			return false, nil
		}
	}
	g2, err := f.cr.gen(ctx)
	return g == g2, err
}

func (f *Frontier) granted(k int, r []any) (frontier.Lease, error) {
	tok := uint64(r[1].(int64))*uint64(f.k) + uint64(k)
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
	k, tok := f.token(l.Token)
	res, err := f.runOn(ctx, k, false, scripts().extend, tok)
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
	k, tok := f.token(l.Token)
	res, err := f.runOn(ctx, k, false, scripts().release, tok, l.Host, p.Gap.Milliseconds(), p.Limit, ms(p.NotBefore))
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
	k, tok := f.token(l.Token)
	res, err := f.runOn(ctx, k, false, scripts().ret, tok, ms(notBefore))
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
	_, err := f.runOn(ctx, f.cr.shardOf(host), false, scripts().hold, host, ms(until))
	return err
}

// Complete removes completed leases and adds what was found on their
// pages. On a sharded crawl, what was found for other shards than a
// lease's own is queued first, then the crawl's generation moves, then the
// leases end (see drained).
func (f *Frontier) Complete(ctx context.Context, done []frontier.Done) error {
	groups := make([][]frontier.Done, f.k)
	if f.k == 1 {
		groups[0] = done
	} else if err := f.spread(ctx, done, groups); err != nil {
		return err
	}
	var lost frontier.LostError
	for k, g := range groups {
		err := f.completeOn(ctx, k, g)
		var le *frontier.LostError
		if errors.As(err, &le) {
			lost.Leases = append(lost.Leases, le.Leases...)
		} else if err != nil {
			return err
		}
	}
	if len(lost.Leases) > 0 {
		return &lost
	}
	return nil
}

// spread sorts done by the shard of each lease into groups, each keeping
// the links found for its own shard, and queues the others.
func (f *Frontier) spread(ctx context.Context, done []frontier.Done, groups [][]frontier.Done) error {
	cross := make([][]frontier.Request, f.k)
	elsewhere := false
	for _, d := range done {
		k, _ := f.token(d.Lease.Token)
		var own []frontier.Request
		for _, r := range d.Found {
			if kr := f.cr.shardOf(frontier.Host(r.URL)); kr != k {
				cross[kr] = append(cross[kr], r)
				elsewhere = true
			} else {
				own = append(own, r)
			}
		}
		d.Found = own
		groups[k] = append(groups[k], d)
	}
	if !elsewhere {
		return nil
	}
	var g errgroup.Group
	for k, rs := range cross {
		if len(rs) > 0 {
			g.Go(func() error {
				_, err := f.addOn(ctx, k, rs, "0")
				return err
			})
		}
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return f.cr.bumpGen(ctx)
}

// completeOn completes done, leases of shard k, in batches.
func (f *Frontier) completeOn(ctx context.Context, k int, done []frontier.Done) error {
	var lost frontier.LostError
	for len(done) > 0 {
		n, size := 0, 0
		for n < len(done) && (n == 0 || size+1+len(done[n].Found) <= batch) {
			size += 1 + len(done[n].Found)
			n++
		}
		err := f.complete(ctx, k, done[:n])
		var le *frontier.LostError
		if errors.As(err, &le) {
			lost.Leases = append(lost.Leases, le.Leases...)
		} else if err != nil {
			return err
		}
		done = done[n:]
	}
	if len(lost.Leases) > 0 {
		return &lost
	}
	return nil
}

func (f *Frontier) complete(ctx context.Context, k int, done []frontier.Done) error {
	args := []any{len(done)}
	tokens := make([]uint64, len(done))
	byToken := make(map[string]frontier.Lease, len(done))
	for i, d := range done {
		_, tok := f.token(d.Lease.Token)
		args = append(args, tok, d.Lease.Host, string(d.Lease.Key))
		tokens[i] = d.Lease.Token
		byToken[strconv.FormatUint(tok, 10)] = d.Lease
	}
	for _, d := range done {
		args = addArgs(args, d.Found, f.k)
	}
	res, err := f.runOn(ctx, k, true, scripts().complete, args...)
	if err != nil {
		return err
	}
	f.forget(tokens...)
	gone := res.([]any)
	f.mu.Lock()
	f.done += len(done) - len(gone)
	f.mu.Unlock()
	if len(gone) == 0 {
		return nil
	}
	le := &frontier.LostError{}
	for _, g := range gone {
		le.Leases = append(le.Leases, byToken[g.(string)])
	}
	return le
}

// Stats returns the crawl-wide counts. Seen, Filtered and OverBudget count
// the whole crawl, not this run.
func (f *Frontier) Stats(ctx context.Context) (frontier.Stats, error) {
	return f.cr.stats(ctx, f.base)
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
