package redis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/trawl-dev/trawl/frontier"
)

// A crawl's layout is how its keys are spread. On one hash slot (the
// default on a single Redis) every key is under "trawl:{NAME}:". Sharded
// (the default on a Redis Cluster), the crawl's own small key set (epoch,
// settings, page budget, process table) stays there, and the work is split
// by host over K shards, each a key prefix with its own hash tag,
// "trawl:{NAME/k}:", holding its hosts' queues, seen set, leases and
// politeness state. A host lives on one shard, so each script touches one
// shard and a host's politeness stays local to it. K is fixed when the
// crawl is created; the tags are chosen so that the shards are spread
// evenly over the cluster's masters, and kept in the crawl's meta.

// ErrLayout is returned by Join when Options.Shards asks for another
// layout than the crawl was created with.
var ErrLayout = errors.New("redis: the crawl was created with another layout")

// slots is Redis Cluster's number of hash slots.
const slots = 16384

// crc16 is the CRC-16/XMODEM that Redis Cluster hashes keys with.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// slotOf returns the hash slot of a key whose hash tag is tag.
func slotOf(tag string) int { return int(crc16(tag)) % slots }

// shardPrefix returns the key prefix of a shard tag.
func shardPrefix(tag string) string { return "trawl:{" + tag + "}:" }

// cluster returns c as a cluster client, or nil.
func cluster(c goredis.UniversalClient) *goredis.ClusterClient {
	cc, _ := c.(*goredis.ClusterClient)
	return cc
}

// topology is the slot map of a cluster: each master's address, and its
// replicas, by the ranges of slots it serves.
type topology struct {
	masters  []string       // sorted
	owner    [slots]int16   // index in masters of each slot's master
	replicas map[string]int // replicas of each master
}

func readTopology(ctx context.Context, cc *goredis.ClusterClient) (*topology, error) {
	shards, err := cc.ClusterShards(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("redis cluster: its shards (CLUSTER SHARDS, Redis 7 or newer): %w", err)
	}
	t := &topology{replicas: map[string]int{}}
	masters := make([]string, len(shards))
	for i, sh := range shards {
		replicas := 0
		for _, n := range sh.Nodes {
			switch {
			case n.Role == "master" && n.Health == "online":
				masters[i] = net.JoinHostPort(cmp.Or(n.IP, n.Endpoint), strconv.FormatInt(n.Port, 10))
			case n.Role == "replica" && n.Health != "failed": // online, or still loading its copy
				replicas++
			}
		}
		if masters[i] != "" && len(sh.Slots) > 0 {
			t.masters = append(t.masters, masters[i])
			t.replicas[masters[i]] = replicas
		}
	}
	if len(t.masters) == 0 {
		return nil, errors.New("redis cluster: no master serves any slot")
	}
	slices.Sort(t.masters)
	for i := range t.owner {
		t.owner[i] = -1
	}
	for i, sh := range shards {
		m := int16(slices.Index(t.masters, masters[i]))
		for _, r := range sh.Slots {
			for sl := r.Start; sl <= r.End && sl < slots; sl++ {
				t.owner[sl] = m
			}
		}
	}
	return t, nil
}

// tags returns k shard tags for the crawl name: shard i on master i mod M,
// so that the shards are spread evenly over the M masters.
func (t *topology) tags(name string, k int) []string {
	tags := make([]string, k)
	for i := range k {
		want := int16(i % len(t.masters))
		for s := 0; ; s++ {
			tag := name + "/" + strconv.Itoa(i)
			if s > 0 {
				tag += "." + strconv.Itoa(s)
			}
			if t.owner[slotOf(tag)] == want || s > 100_000 {
				tags[i] = tag
				break
			}
		}
	}
	return tags
}

// allReplicated reports whether every master has a replica.
func (t *topology) allReplicated() bool {
	for _, n := range t.replicas {
		if n == 0 {
			return false
		}
	}
	return true
}

// layout decides the shards of a crawl to be created with opts on c, and
// how many replicas writes wait for.
func layout(ctx context.Context, c goredis.UniversalClient, name string, opts Options) (tags []string, replicas int, err error) {
	k := opts.Shards
	var top *topology
	if cc := cluster(c); cc != nil {
		if top, err = readTopology(ctx, cc); err != nil {
			return nil, 0, err
		}
		if k == 0 {
			k = 4 * len(top.masters)
		}
		if opts.Replicas == 0 && top.allReplicated() {
			replicas = 1
		}
	}
	if opts.Replicas > 0 {
		replicas = opts.Replicas
	}
	if k < 2 {
		return nil, replicas, nil
	}
	if top != nil {
		return top.tags(name, k), replicas, nil
	}
	for i := range k {
		tags = append(tags, name+"/"+strconv.Itoa(i))
	}
	return tags, replicas, nil
}

// shardOf returns the shard of host.
func (cr *Crawl) shardOf(host string) int {
	if len(cr.shards) == 1 {
		return 0
	}
	return int(hostHash(host) % uint64(len(cr.shards)))
}

// hostHash is the 64-bit FNV-1a of host, computed without the allocation
// of hash/fnv: it runs for every link a page finds.
func hostHash(host string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(host); i++ {
		h ^= uint64(host[i])
		h *= 1099511628211
	}
	return h
}

// Sharded reports whether the crawl is split over several shards.
func (cr *Crawl) Sharded() bool { return len(cr.shards) > 1 }

// runOn runs script s on shard k with the arguments base and args. A
// durable call (a write that is acknowledged to the caller: an enqueue, a
// completion) returns once the crawl's replicas have it too (WAIT).
func (cr *Crawl) runOn(ctx context.Context, k int, durable bool, base []any, s *goredis.Script, args ...any) (any, error) {
	return cr.runAt(ctx, cr.shards[k], durable, base, s, args...)
}

// runAt runs script s with KEYS[1] = prefix.
func (cr *Crawl) runAt(ctx context.Context, prefix string, durable bool, base []any, s *goredis.Script, args ...any) (any, error) {
	if err := cr.damaged(); err != nil {
		return nil, err
	}
	keys := []string{prefix}
	argv := append(base[:len(base):len(base)], args...)
	var res any
	err := cr.do(ctx, func(ctx context.Context) error {
		var err error
		if durable && cr.replicas > 0 {
			res, err = cr.runWait(ctx, keys, s, argv)
		} else {
			res, err = s.Run(ctx, cr.c, keys, argv...).Result()
		}
		return err
	})
	return res, scriptError(s, err)
}

// statsBase is the base of scripts run by a process that only looks.
func (cr *Crawl) statsBase() []any {
	maxp := 0
	if cr.Sharded() {
		maxp = -2
	}
	return []any{cr.epoch, 0, 0, 0, maxp, 0}
}

// shardStats returns shard k's counts.
func (cr *Crawl) shardStats(ctx context.Context, k int, base []any) (frontier.Stats, error) {
	res, err := cr.runOn(ctx, k, false, base, scripts().stats)
	if err != nil {
		return frontier.Stats{}, err
	}
	v := res.([]any)
	if len(v) < 8 {
		return frontier.Stats{}, fmt.Errorf("redis frontier: bad stats reply %v", v)
	}
	n := func(i int) int { x, _ := v[i].(int64); return int(x) }
	return frontier.Stats{
		Queued: n(0), Leased: n(1), Seen: n(2), Filtered: n(3), OverBudget: n(4),
		Completed: n(5), Lost: n(6), Hosts: n(7),
	}, nil
}

// stats returns the crawl's counts, the sums of its shards'.
func (cr *Crawl) stats(ctx context.Context, base []any) (frontier.Stats, error) {
	var sum frontier.Stats
	for k := range cr.shards {
		st, err := cr.shardStats(ctx, k, base)
		if err != nil {
			return frontier.Stats{}, err
		}
		sum.Queued += st.Queued
		sum.Leased += st.Leased
		sum.Seen += st.Seen
		sum.Filtered += st.Filtered
		sum.OverBudget += st.OverBudget
		sum.Completed += st.Completed
		sum.Lost += st.Lost
		sum.Hosts += st.Hosts
	}
	return sum, nil
}

// Stats returns the crawl's counts without joining it as a worker.
func (cr *Crawl) Stats(ctx context.Context) (frontier.Stats, error) {
	return cr.stats(ctx, cr.statsBase())
}

// gen returns the crawl's generation: a sharded crawl's count of
// completions that queued work on other shards than their own. A
// process that finds every shard empty takes the crawl as drained only
// if the generation did not change while it looked (see Frontier.Lease).
func (cr *Crawl) gen(ctx context.Context) (string, error) {
	var g string
	err := cr.do(ctx, func(ctx context.Context) error {
		var err error
		g, err = cr.c.HGet(ctx, cr.prefix+"meta", "gen").Result()
		if errors.Is(err, goredis.Nil) {
			return nil
		}
		return err
	})
	return g, err
}

func (cr *Crawl) bumpGen(ctx context.Context) error {
	return cr.do(ctx, func(ctx context.Context) error {
		return cr.c.HIncrBy(ctx, cr.prefix+"meta", "gen", 1).Err()
	})
}

// waitFor is the longest a write waits for its replicas.
const waitFor = time.Second

// runWait runs s on the master of keys[0] and waits, on the same
// connection, for cr.replicas replicas to have it. A master that has lost
// its replicas (its replica was promoted elsewhere, or is down), or that
// failed to answer, is warned of, and for the next ten seconds its writes
// go through the client's own routing (which follows a failover) without
// waiting.
func (cr *Crawl) runWait(ctx context.Context, keys []string, s *goredis.Script, argv []any) (any, error) {
	var node *goredis.Client
	switch c := cr.c.(type) {
	case *goredis.ClusterClient:
		n, err := c.MasterForKey(ctx, keys[0])
		if err != nil {
			return nil, err
		}
		node = n
	case *goredis.Client:
		node = c
	default:
		return s.Run(ctx, cr.c, keys, argv...).Result()
	}
	addr := node.Options().Addr
	if cr.lone.skip(addr) {
		return s.Run(ctx, cr.c, keys, argv...).Result()
	}
	for range 2 {
		var ev *goredis.Cmd
		var w *goredis.Cmd
		_, _ = node.Pipelined(ctx, func(p goredis.Pipeliner) error {
			ev = s.EvalSha(ctx, p, keys, argv...)
			w = p.Do(ctx, "wait", cr.replicas, waitFor.Milliseconds())
			return nil
		})
		if err := ev.Err(); goredis.HasErrorPrefix(err, "NOSCRIPT") {
			if err := s.Load(ctx, node).Err(); err != nil {
				return nil, err
			}
			continue
		} else if err != nil {
			if cluster(cr.c) != nil && transient(err) {
				cr.lone.mark(addr) // the next try goes through the cluster client
			}
			return nil, err
		}
		if n, err := w.Int64(); err == nil && n < int64(cr.replicas) {
			cr.lone.mark(addr)
			cr.log.Warn("a Redis master has fewer replicas than writes wait for: its writes go on unconfirmed for now", "node", addr, "replicas", n, "want", cr.replicas)
		}
		return ev.Result()
	}
	return nil, errors.New("redis: the script could not be loaded")
}

// lone remembers masters found without enough replicas.
type lone struct {
	mu    sync.Mutex
	until map[string]time.Time
}

func (l *lone) skip(addr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Now().Before(l.until[addr])
}

func (l *lone) mark(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.until == nil {
		l.until = map[string]time.Time{}
	}
	l.until[addr] = time.Now().Add(10 * time.Second)
}

// ShardStats are one shard's counts.
type ShardStats struct {
	Index  int    `json:"index"`
	Prefix string `json:"prefix"`
	Node   string `json:"node"` // the master that holds it
	Queued int    `json:"queued"`
	Leased int    `json:"leased"`
	Seen   int    `json:"seen"`
	Done   int    `json:"completed"`
	Hosts  int    `json:"hosts"`
}

// NodeStats is what one Redis server holds.
type NodeStats struct {
	Addr   string `json:"addr"`
	Memory int64  `json:"used_memory"` // bytes, INFO memory
	Keys   int64  `json:"keys"`        // in all, not only the crawl's
}

// Shards returns the counts of each of the crawl's shards and the memory
// of each server (master) that holds them.
func (cr *Crawl) Shards(ctx context.Context) ([]ShardStats, []NodeStats, error) {
	base := cr.statsBase()
	out := make([]ShardStats, len(cr.shards))
	for k := range cr.shards {
		st, err := cr.shardStats(ctx, k, base)
		if err != nil {
			return nil, nil, err
		}
		out[k] = ShardStats{Index: k, Prefix: cr.shards[k], Node: cr.nodeOf(ctx, cr.shards[k]), Queued: st.Queued, Leased: st.Leased,
			Seen: st.Seen, Done: st.Completed, Hosts: st.Hosts}
	}
	var (
		mu    sync.Mutex
		nodes []NodeStats
	)
	add := func(ctx context.Context, c *goredis.Client) error {
		n := NodeStats{Addr: c.Options().Addr}
		info, err := c.Info(ctx, "memory").Result()
		if err != nil {
			return err
		}
		n.Memory = infoInt(info, "used_memory")
		n.Keys, _ = c.DBSize(ctx).Result()
		mu.Lock()
		nodes = append(nodes, n)
		mu.Unlock()
		return nil
	}
	err := eachServer(ctx, cr.c, add)
	slices.SortFunc(nodes, func(a, b NodeStats) int { return strings.Compare(a.Addr, b.Addr) })
	return out, nodes, err
}

// nodeOf returns the address of the master holding prefix's slot.
func (cr *Crawl) nodeOf(ctx context.Context, prefix string) string {
	switch c := cr.c.(type) {
	case *goredis.ClusterClient:
		if n, err := c.MasterForKey(ctx, prefix); err == nil {
			return n.Options().Addr
		}
	case *goredis.Client:
		return c.Options().Addr
	}
	return ""
}

// infoInt returns the integer field of an INFO reply, or -1.
func infoInt(info, field string) int64 {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				return n
			}
		}
	}
	return -1
}
