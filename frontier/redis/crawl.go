// Package redis is a frontier shared by many trawl processes, on many
// machines, through one Redis (or Valkey) server, or a Redis Cluster: one
// crawl, under one key prefix with a hash tag ("trawl:{NAME}:"), or split
// by host over shards of their own tags (see layout.go).
//
// Everything that must hold across processes happens inside Redis, in Lua
// scripts that run atomically: dedup with enqueue, per-host queues and
// the ready set of hosts by next-allowed time, per-host caps, gaps and
// holds, leases with deadlines that any process reaps, the crawl-wide
// limits and the "drained" decision. Time is Redis's (TIME), never a
// node's clock. Results never travel through Redis: each process keeps
// its pages in its own job file.
//
// A Crawl is the handle of one shared crawl; its Frontier implements
// frontier.Frontier and its State implements politeness.State.
package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	goredis "github.com/redis/go-redis/v9"
)

// ErrGone is returned when Redis no longer holds the crawl's state (a
// server restarted without persistence, or the keys were deleted): the
// crawl is not silently started again from scratch.
var ErrGone = errors.New("redis: the crawl's state is gone from Redis")

// ErrEvicts is returned by Join for a Redis whose maxmemory-policy may
// evict keys: an evicted key of a crawl loses or repeats its work.
var ErrEvicts = errors.New("redis: the server may evict keys")

// Crawl is one shared crawl in Redis. It is safe for concurrent use.
type Crawl struct {
	c      goredis.UniversalClient
	name   string
	prefix string
	epoch  string
	log    *slog.Logger
	closed chan struct{}
	once   sync.Once

	shards   []string // the key prefix of each shard: one, prefix, on one hash slot
	replicas int      // durable writes wait for this many replicas
	lone     lone

	created bool  // by this Join: the first Frontier seeds it with opts.Done and opts.Fetched
	evicted int64 // Redis's evicted_keys when this process joined; -1: unknown

	mu       sync.Mutex
	broken   error // why the crawl's state in Redis can no longer be trusted
	down     bool  // Redis did not answer the last call
	downAt   time.Time
	outages  int
	downtime time.Duration
}

// Options configure Join.
type Options struct {
	// Epoch is the identity of the crawl the caller took part in before
	// (from its job file), or "" for none. Join fails with ErrGone when
	// Redis holds no crawl of that name, rather than starting it anew.
	Epoch string
	// Existing joins only a crawl that exists: Join fails with ErrNoCrawl
	// rather than creating it (to look at a crawl, not to work in it).
	Existing bool
	// Kind is what kind of work a new crawl is ("crawl", "fetch"): Join
	// fails with ErrKind for a crawl of another kind, so that work queued
	// to be crawled is not fetched without its links followed.
	Kind string
	// Settings are what defines the crawl's work (its seeds, scope,
	// depth…), as one string: Join fails with ErrSettings for a crawl
	// created with others, so that processes do not crawl by different
	// rules. Empty: not checked.
	Settings string
	// Shards is how many shards a new crawl's work is split over, by
	// host (see the package doc): 0 for the default (four per master on a
	// Redis Cluster, one hash slot on a single Redis), 1 for one hash
	// slot. Join fails with ErrLayout when a crawl that exists has
	// another layout than a Shards that is not 0.
	Shards int
	// Replicas is how many replicas an enqueue or a completion waits for
	// (WAIT) before it is acknowledged: 0 for the default (one on a
	// cluster whose masters all have one, else none), -1 for none.
	Replicas int
	// Log receives "Redis unreachable" and "Redis back" (default: none).
	Log *slog.Logger
}

// ErrSettings is returned by Join when the crawl was created with other
// settings than Options.Settings.
var ErrSettings = errors.New("the shared crawl was started with other settings")

// ErrKind is returned by Join when the crawl is of another kind than
// Options.Kind.
var ErrKind = errors.New("redis: the crawl is of another kind")

// ErrNoCrawl is returned by Join with Options.Existing when Redis holds no
// crawl of the name.
var ErrNoCrawl = errors.New("redis: no such crawl")

// Dial connects to the Redis at addr (redis://, rediss:// or unix://), or
// to the Redis Cluster at redis+cluster://H1:P1,H2:P2 (rediss+cluster://
// for TLS), where one node is enough to find the others. A redis://
// address of a cluster's node is taken as the cluster. A password missing
// from addr is taken from REDISCLI_AUTH, as redis-cli does. It checks the
// server answers.
func Dial(ctx context.Context, addr string) (goredis.UniversalClient, error) {
	if o, err := parseCluster(addr); o != nil || err != nil {
		if err != nil {
			return nil, fmt.Errorf("redis address %q: %w", addr, err)
		}
		return ping(ctx, goredis.NewClusterClient(o), strings.Join(o.Addrs, ","))
	}
	o, err := goredis.ParseURL(addr)
	if err != nil {
		return nil, fmt.Errorf("redis address %q: %w", addr, err)
	}
	if o.Password == "" {
		o.Password = os.Getenv("REDISCLI_AUTH")
	}
	c, err := ping(ctx, goredis.NewClient(o), o.Addr)
	if err != nil {
		return nil, err
	}
	if info, err := c.Info(ctx, "cluster").Result(); err == nil && infoInt(info, "cluster_enabled") == 1 {
		c.Close()
		return ping(ctx, goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: []string{o.Addr}, Username: o.Username,
			Password: o.Password, TLSConfig: o.TLSConfig}), o.Addr)
	}
	return c, nil
}

// ping returns c once it answers.
func ping(ctx context.Context, c goredis.UniversalClient, addr string) (goredis.UniversalClient, error) {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis %s: %w", addr, err)
	}
	return c, nil
}

// parseCluster returns the options of a redis+cluster:// address, or nil
// for another scheme.
func parseCluster(addr string) (*goredis.ClusterOptions, error) {
	scheme, rest, _ := strings.Cut(addr, "://")
	base, ok := strings.CutSuffix(scheme, "+cluster")
	if !ok {
		return nil, nil
	}
	if base != "redis" && base != "rediss" {
		return nil, fmt.Errorf("scheme %s (want redis+cluster or rediss+cluster)", scheme)
	}
	hosts, tail := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		hosts, tail = rest[:i], rest[i:]
	}
	user := ""
	if at := strings.LastIndex(hosts, "@"); at >= 0 {
		user, hosts = hosts[:at+1], hosts[at+1:]
	}
	list := strings.Split(hosts, ",")
	if hosts == "" || slices.Contains(list, "") {
		return nil, errors.New("no node (want redis+cluster://HOST:PORT,HOST:PORT)")
	}
	path, query, _ := strings.Cut(tail, "?")
	if path != "" && path != "/" && path != "/0" {
		return nil, fmt.Errorf("database %s: a cluster has only database 0", strings.TrimPrefix(path, "/"))
	}
	for _, h := range list[1:] {
		if query != "" {
			query += "&"
		}
		query += "addr=" + h
	}
	u := base + "://" + user + list[0]
	if query != "" {
		u += "?" + query
	}
	o, err := goredis.ParseClusterURL(u)
	if err != nil {
		return nil, err
	}
	if o.Password == "" {
		o.Password = os.Getenv("REDISCLI_AUTH")
	}
	return o, nil
}

// Prefix returns the key prefix of the crawl name.
func Prefix(name string) string { return "trawl:{" + name + "}:" }

// Join opens the crawl name in c, creating it when it does not exist and
// opts.Epoch is empty.
func Join(ctx context.Context, c goredis.UniversalClient, name string, opts Options) (*Crawl, error) {
	if name == "" || strings.ContainsAny(name, "{}") {
		return nil, fmt.Errorf("redis: bad crawl name %q (non-empty, no braces)", name)
	}
	cr := &Crawl{c: c, name: name, prefix: Prefix(name), log: opts.Log, closed: make(chan struct{})}
	if cr.log == nil {
		cr.log = slog.New(slog.DiscardHandler)
	}
	if err := checkEviction(ctx, c); err != nil {
		return nil, err
	}
	cr.evicted = evictedKeys(ctx, c)
	var b [16]byte
	rand.Read(b[:])
	fresh := hex.EncodeToString(b[:])
	if opts.Existing {
		fresh = ""
	}
	tags, replicas, err := layout(ctx, c, name, opts)
	if err != nil {
		return nil, err
	}
	cr.replicas = replicas
	var res []any
	err = cr.do(ctx, func(ctx context.Context) error {
		var err error
		res, err = scripts().init.Run(ctx, c, []string{cr.prefix}, opts.Epoch, fresh, opts.Kind, opts.Settings, len(tags), strings.Join(tags, "\n")).Slice()
		return err
	})
	if err != nil {
		return nil, scriptError(scripts().init, err)
	}
	epoch, _ := res[0].(string)
	cr.created = res[1] == int64(1)
	if epoch == "none" {
		return nil, fmt.Errorf("%w %q", ErrNoCrawl, name)
	}
	if kind, _ := res[2].(string); opts.Kind != "" && kind != "" && kind != opts.Kind {
		return nil, fmt.Errorf("%w: %q is a %s crawl", ErrKind, name, kind)
	}
	if held, _ := res[3].(string); opts.Settings != "" && held != "" && held != opts.Settings {
		return nil, fmt.Errorf("%w: %s; this process: %s", ErrSettings, held, opts.Settings)
	}
	if epoch == "gone" || opts.Epoch != "" && epoch != opts.Epoch {
		return nil, fmt.Errorf("%w: crawl %q (this job took part in it, but Redis holds %s)", ErrGone, name, map[bool]string{true: "no such crawl", false: "another crawl of that name"}[epoch == "gone"])
	}
	cr.epoch = epoch
	cr.shards = []string{cr.prefix}
	if held, _ := res[5].(string); held != "" {
		cr.shards = nil
		for _, tag := range strings.Split(held, "\n") {
			cr.shards = append(cr.shards, shardPrefix(tag))
		}
	}
	if opts.Shards > 0 && max(opts.Shards, 1) != len(cr.shards) {
		return nil, fmt.Errorf("%w: %q has %s, and this process asks for %d", ErrLayout, name, describeShards(len(cr.shards)), opts.Shards)
	}
	if ready, _ := res[6].(string); cr.Sharded() && ready != "1" {
		if err := cr.initShards(ctx); err != nil {
			return nil, err
		}
	}
	return cr, nil
}

// describeShards says what k shards are.
func describeShards(k int) string {
	if k == 1 {
		return "one hash slot (it was created on a single Redis, or with --frontier-shards 1)"
	}
	return strconv.Itoa(k) + " shards"
}

// initShards creates the shards of a new crawl, or those its creator did
// not live to create, then marks the crawl ready.
func (cr *Crawl) initShards(ctx context.Context) error {
	for k := range cr.shards {
		if _, err := cr.runOn(ctx, k, false, nil, scripts().shardInit, cr.epoch); err != nil {
			return err
		}
	}
	return cr.do(ctx, func(ctx context.Context) error {
		return cr.c.HSet(ctx, cr.prefix+"meta", "ready", "1").Err()
	})
}

// Name returns the crawl's name.
func (cr *Crawl) Name() string { return cr.name }

// Epoch returns the crawl's identity, to be kept by the caller and given
// to the next Join.
func (cr *Crawl) Epoch() string { return cr.epoch }

// Down reports whether Redis failed to answer the last call.
func (cr *Crawl) Down() bool {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	return cr.down
}

// Outages returns how many times Redis stopped answering, and for how long
// in all.
func (cr *Crawl) Outages() (int, time.Duration) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	d := cr.downtime
	if cr.down {
		d += time.Since(cr.downAt)
	}
	return cr.outages, d
}

// Close stops the retries of calls in progress; it does not close the
// client.
func (cr *Crawl) Close() error {
	cr.once.Do(func() { close(cr.closed) })
	return nil
}

// errClosed is returned by calls retried when the Crawl was closed.
var errClosed = errors.New("redis: crawl closed")

// do runs fn until it succeeds, fails for good, or ctx ends (or the Crawl
// is closed). While Redis does not answer (a network error, or a server
// still loading its data), fn is tried again with backoff, and the log says
// so once.
func (cr *Crawl) do(ctx context.Context, fn func(context.Context) error) error {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval, b.MaxElapsedTime = 50*time.Millisecond, 3*time.Second, 0
	for {
		err := fn(ctx)
		if err == nil || !transient(err) || ctx.Err() != nil {
			if err == nil {
				cr.setDown(nil)
			}
			return cr.wrapGone(ctx, err)
		}
		cr.setDown(err)
		if cc := cluster(cr.c); cc != nil {
			cc.ReloadState(ctx) // a failover moves slots; the client looks again only now and then
		}
		t := time.NewTimer(b.NextBackOff())
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-cr.closed:
			t.Stop()
			return fmt.Errorf("%w: %v", errClosed, err)
		case <-t.C:
		}
	}
}

func (cr *Crawl) setDown(err error) {
	cr.mu.Lock()
	was := cr.down
	cr.down = err != nil
	switch {
	case err != nil && !was:
		cr.outages++
		cr.downAt = time.Now()
	case err == nil && was:
		cr.downtime += time.Since(cr.downAt)
	}
	cr.mu.Unlock()
	switch {
	case err != nil && !was && outOfMemory(err):
		cr.log.Warn("redis is out of memory (maxmemory reached): the crawl waits for room; raise maxmemory or free memory in Redis")
	case err != nil && !was && strings.HasPrefix(err.Error(), "MISCONF"):
		cr.log.Warn("redis cannot write to its disk (its AOF or RDB file): the crawl waits; free space on Redis's disk", "error", err)
	case err != nil && !was:
		cr.log.Warn("redis unreachable; retrying", "error", err)
	case err == nil && was:
		cr.log.Warn("redis back")
	}
}

// transient reports whether err means Redis did not answer (or is not
// ready yet), so that the call may be tried again.
func transient(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var re goredis.Error
	if errors.As(err, &re) {
		msg := re.Error()
		for _, p := range []string{"LOADING", "BUSY", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "READONLY", "OOM", "MISCONF", "MOVED", "ASK"} {
			if strings.HasPrefix(msg, p) {
				return true
			}
		}
		return false
	}
	return !errors.Is(err, goredis.Nil)
}

// checkEviction refuses a Redis whose maxmemory-policy is not noeviction.
// A server that does not let its configuration be read (some managed
// ones) is taken as it is.
func checkEviction(ctx context.Context, c goredis.UniversalClient) error {
	var bad []string
	var mu sync.Mutex
	eachServer(ctx, c, func(ctx context.Context, n *goredis.Client) error {
		cfg, err := n.ConfigGet(ctx, "maxmemory-policy").Result()
		if p := cfg["maxmemory-policy"]; err == nil && p != "" && p != "noeviction" {
			mu.Lock()
			bad = append(bad, p)
			mu.Unlock()
		}
		return nil
	})
	if len(bad) > 0 {
		return fmt.Errorf("%w: its maxmemory-policy is %s, and a crawl's keys must never be evicted; set it to noeviction (CONFIG SET maxmemory-policy noeviction, and maxmemory-policy noeviction in redis.conf)", ErrEvicts, bad[0])
	}
	return nil
}

// eachServer calls fn for the server of c, or each master of a cluster.
func eachServer(ctx context.Context, c goredis.UniversalClient, fn func(context.Context, *goredis.Client) error) error {
	switch c := c.(type) {
	case *goredis.ClusterClient:
		return c.ForEachMaster(ctx, fn)
	case *goredis.Client:
		return fn(ctx, c)
	}
	return nil
}

// ErrEvicted is the error of every call once Redis evicted keys while the
// crawl ran: its state there is damaged, so the process stops (keeping
// what it saved) rather than lose or repeat work.
var ErrEvicted = errors.New("redis: keys were evicted while the crawl ran")

// evictedKeys returns Redis's count of evicted keys, or -1.
func evictedKeys(ctx context.Context, c goredis.UniversalClient) int64 {
	var sum atomic.Int64
	err := eachServer(ctx, c, func(ctx context.Context, n *goredis.Client) error {
		info, err := n.Info(ctx, "stats").Result()
		if err != nil {
			return err
		}
		sum.Add(infoInt(info, "evicted_keys"))
		return nil
	})
	if err != nil {
		return -1
	}
	return sum.Load()
}

// watch checks, while the crawl runs, that Redis keeps its keys: its
// policy still evicts none, and it has evicted none since the process
// joined. Once either fails, every call fails with why.
func (cr *Crawl) watch(ctx context.Context) {
	err := checkEviction(ctx, cr.c)
	if n := evictedKeys(ctx, cr.c); err == nil && cr.evicted >= 0 && n > cr.evicted {
		err = fmt.Errorf("%w: Redis evicted %d keys since this process joined, so the crawl's state there is damaged; what this process saved is in its job. Redis must use maxmemory-policy noeviction", ErrEvicted, n-cr.evicted)
	}
	if err == nil {
		return
	}
	cr.mu.Lock()
	if cr.broken == nil {
		cr.broken = err
	}
	cr.mu.Unlock()
}

// damaged returns why the crawl's state in Redis can no longer be trusted,
// or nil.
func (cr *Crawl) damaged() error {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	return cr.broken
}

// outOfMemory reports whether err is Redis refusing a write for want of
// memory (maxmemory reached with noeviction).
func outOfMemory(err error) bool {
	var re goredis.Error
	return errors.As(err, &re) && strings.HasPrefix(re.Error(), "OOM")
}

// wrapGone says why a script found the crawl's state gone: keys evicted
// since this process joined, or else most likely a restart without
// persistence.
func (cr *Crawl) wrapGone(ctx context.Context, err error) error {
	if err == nil || !strings.Contains(err.Error(), "TRAWLGONE") {
		return err
	}
	if n := evictedKeys(ctx, cr.c); cr.evicted >= 0 && n > cr.evicted {
		return fmt.Errorf("%w (%w: Redis evicted %d keys since this process joined; what this process saved is in its job. Redis must use maxmemory-policy noeviction)", ErrGone, ErrEvicted, n-cr.evicted)
	}
	return fmt.Errorf("%w (was Redis restarted without persistence?)", ErrGone)
}
