package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/trawl-dev/trawl/politeness"
)

// State is the politeness.State of a shared crawl: robots.txt files,
// crawl-delay, auto-throttle gaps and circuit breakers kept in Redis, so
// that every process is polite as one.
type State struct{ cr *Crawl }

var _ politeness.State = State{}

// State returns the crawl's politeness state.
func (cr *Crawl) State() State { return State{cr} }

func (s State) key(name string) string { return s.cr.prefix + name }

// Robots returns the robots.txt cached for host.
func (s State) Robots(ctx context.Context, host string) (politeness.Robots, bool, error) {
	var r politeness.Robots
	var v string
	err := s.cr.do(ctx, func(ctx context.Context) error {
		var err error
		v, err = s.cr.c.HGet(ctx, s.key("robots"), host).Result()
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
		return s.cr.c.HSet(ctx, s.key("robots"), host, data).Err()
	})
}

// UpdateHost applies fn to host's state in one optimistic transaction
// (WATCH, then MULTI), tried again while another process changes it first.
func (s State) UpdateHost(ctx context.Context, host string, fn func(*politeness.Host)) (politeness.Host, error) {
	key := s.key("ph:" + host)
	var h politeness.Host
	err := s.cr.do(ctx, func(ctx context.Context) error {
		for range 100 {
			err := s.cr.c.Watch(ctx, func(tx *goredis.Tx) error {
				h = politeness.Host{}
				v, err := tx.Get(ctx, key).Bytes()
				if err != nil && !errors.Is(err, goredis.Nil) {
					return err
				}
				if err == nil {
					if err := json.Unmarshal(v, &h); err != nil {
						return fmt.Errorf("redis: host state of %s: %w", host, err)
					}
				}
				if fn == nil {
					return nil
				}
				fn(&h)
				data, err := json.Marshal(h)
				if err != nil {
					return err
				}
				_, err = tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
					p.Set(ctx, key, data, 0)
					if h.OpenAt.IsZero() {
						p.ZRem(ctx, s.key("down"), host)
					} else {
						p.ZAdd(ctx, s.key("down"), goredis.Z{Score: float64(h.OpenAt.UnixMilli()), Member: host})
					}
					return nil
				})
				return err
			}, key)
			if !errors.Is(err, goredis.TxFailedErr) {
				return err
			}
		}
		return fmt.Errorf("redis: host state of %s: too much contention", host)
	})
	return h, err
}

// Down returns the crawl's hosts whose circuit is open.
func (s State) Down(ctx context.Context) (map[string]time.Time, error) {
	var zs []goredis.Z
	err := s.cr.do(ctx, func(ctx context.Context) error {
		var err error
		zs, err = s.cr.c.ZRangeWithScores(ctx, s.key("down"), 0, -1).Result()
		return err
	})
	if err != nil {
		return nil, err
	}
	down := make(map[string]time.Time, len(zs))
	for _, z := range zs {
		down[z.Member.(string)] = time.UnixMilli(int64(z.Score))
	}
	return down, nil
}
