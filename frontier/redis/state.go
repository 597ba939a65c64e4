package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/trawl-dev/trawl/politeness"
)

// State is the politeness.State of a shared crawl: robots.txt files,
// crawl-delay, auto-throttle gaps and circuit breakers kept in Redis, so
// that every process is polite as one.
type State struct {
	cr    *Crawl
	locks *[64]sync.Mutex // by host: this process's updates of a host wait their turn instead of conflicting
	cache *hostCache
}

var _ politeness.State = State{}

// State returns the crawl's politeness state.
func (cr *Crawl) State() State {
	return State{cr, new([64]sync.Mutex), &hostCache{m: make(map[string]cachedHost)}}
}

func (s State) lock(host string) *sync.Mutex {
	return &s.locks[hostHash(host)%uint64(len(s.locks))]
}

// key returns the key of name for host, on host's shard.
func (s State) key(host, name string) string { return s.cr.shards[s.cr.shardOf(host)] + name }

// Robots returns the robots.txt cached for host.
func (s State) Robots(ctx context.Context, host string) (politeness.Robots, bool, error) {
	var r politeness.Robots
	var v string
	err := s.cr.do(ctx, func(ctx context.Context) error {
		var err error
		v, err = s.cr.c.HGet(ctx, s.key(host, "robots"), host).Result()
		return err
	})
	if errors.Is(err, goredis.Nil) {
		return r, false, nil
	}
	if err != nil {
		return r, false, err
	}
	return r, json.Unmarshal([]byte(v), &r) == nil, nil
}

// PutRobots caches host's robots.txt for the crawl.
func (s State) PutRobots(ctx context.Context, host string, r politeness.Robots) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return s.cr.do(ctx, func(ctx context.Context) error {
		return s.cr.c.HSet(ctx, s.key(host, "robots"), host, data).Err()
	})
}

// UpdateHost applies fn to host's state atomically: apply to the state as
// last seen, then compare-and-set in one script, read again and tried
// again while another process changed it first. With fn nil it reads: the
// state this process last saw, if it is under a second old (pace is
// advice, and every change still goes through the compare-and-set).
func (s State) UpdateHost(ctx context.Context, host string, fn func(*politeness.Host)) (politeness.Host, error) {
	key := s.key(host, "ph:"+host)
	if fn != nil {
		mu := s.lock(host)
		mu.Lock()
		defer mu.Unlock()
	}
	var h politeness.Host
	err := s.cr.do(ctx, func(ctx context.Context) error {
		old, fresh := s.cache.get(host)
		for range 100 {
			if !fresh {
				var err error
				if old, err = s.cr.c.Get(ctx, key).Result(); err != nil && !errors.Is(err, goredis.Nil) {
					return err
				}
				s.cache.put(host, old)
			}
			h = politeness.Host{}
			if old != "" {
				if err := json.Unmarshal([]byte(old), &h); err != nil {
					return fmt.Errorf("redis: host state of %s: %w", host, err)
				}
			}
			if fn == nil {
				return nil
			}
			before := h
			if fn(&h); h == before {
				return nil // nothing to write
			}
			data, err := json.Marshal(h)
			if err != nil {
				return err
			}
			openAt := int64(-1)
			if !h.OpenAt.IsZero() {
				openAt = h.OpenAt.UnixMilli()
			}
			ok, err := scripts().cas.Run(ctx, s.cr.c, []string{key, s.key(host, "down")}, old, data, host, openAt).Int()
			if err != nil {
				return scriptError(scripts().cas, err)
			}
			if ok == 1 {
				s.cache.put(host, string(data))
				return nil
			}
			fresh = false
		}
		return fmt.Errorf("redis: host state of %s: too much contention", host)
	})
	return h, err
}

// hostCache keeps the host states this process last read or wrote.
type hostCache struct {
	mu sync.Mutex
	m  map[string]cachedHost
}

type cachedHost struct {
	raw string
	at  time.Time
}

// cacheFor is how long a host state read stays good for reads.
const cacheFor = time.Second

func (c *hostCache) get(host string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[host]
	return e.raw, ok && time.Since(e.at) < cacheFor
}

func (c *hostCache) put(host, raw string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) > 100_000 { // many hosts: start again rather than grow
		clear(c.m)
	}
	c.m[host] = cachedHost{raw, time.Now()}
}

// Down returns the crawl's hosts whose circuit is open.
func (s State) Down(ctx context.Context) (map[string]time.Time, error) {
	down := map[string]time.Time{}
	for _, p := range s.cr.shards {
		var zs []goredis.Z
		err := s.cr.do(ctx, func(ctx context.Context) error {
			var err error
			zs, err = s.cr.c.ZRangeWithScores(ctx, p+"down", 0, -1).Result()
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, z := range zs {
			down[z.Member.(string)] = time.UnixMilli(int64(z.Score))
		}
	}
	return down, nil
}
