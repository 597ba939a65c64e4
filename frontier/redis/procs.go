package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/trawl-dev/trawl/frontier"
)

// Process is one trawl process of a crawl, as it last reported itself.
type Process struct {
	ID        string    `json:"id"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	Started   time.Time `json:"started"`
	Seen      time.Time `json:"seen"`      // its last report
	Leased    int       `json:"leased"`    // leases it held then
	Completed int       `json:"completed"` // leases it completed in this run
	Alive     bool      `json:"alive"`     // reported within the last 15 seconds
}

// heartbeat is how often a Frontier reports its process; a process not
// heard from for aliveFor is no longer shown alive.
const (
	heartbeat = 5 * time.Second
	aliveFor  = 3 * heartbeat
	forgetFor = 24 * time.Hour
)

func processID() string {
	host, _ := os.Hostname()
	var b [4]byte
	rand.Read(b[:])
	return host + "/" + strconv.Itoa(os.Getpid()) + "/" + hex.EncodeToString(b[:])
}

func (f *Frontier) report(ctx context.Context) {
	host, _ := os.Hostname()
	f.mu.Lock()
	p := Process{ID: f.id, Host: host, PID: os.Getpid(), Started: f.born, Seen: time.Now(), Leased: len(f.held), Completed: f.done}
	f.mu.Unlock()
	data, _ := json.Marshal(p)
	f.cr.c.HSet(ctx, f.cr.prefix+"procs", f.id, data)
}

func (f *Frontier) heartbeat() {
	defer f.wg.Done()
	t := time.NewTicker(heartbeat)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), heartbeat)
		f.report(ctx)
		f.cr.watch(ctx)
		cancel()
		select {
		case <-f.stop:
			return
		case <-t.C:
		}
	}
}

// Processes returns the crawl's processes, alive ones first; processes not
// heard from for a day are dropped from the table.
func (cr *Crawl) Processes(ctx context.Context) ([]Process, error) {
	var m map[string]string
	err := cr.do(ctx, func(ctx context.Context) error {
		var err error
		m, err = cr.c.HGetAll(ctx, cr.prefix+"procs").Result()
		return err
	})
	if err != nil {
		return nil, err
	}
	var ps []Process
	for id, v := range m {
		var p Process
		if json.Unmarshal([]byte(v), &p) != nil {
			continue
		}
		if time.Since(p.Seen) > forgetFor {
			cr.c.HDel(ctx, cr.prefix+"procs", id)
			continue
		}
		p.Alive = time.Since(p.Seen) < aliveFor
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Alive != ps[j].Alive {
			return ps[i].Alive
		}
		return ps[i].ID < ps[j].ID
	})
	return ps, nil
}

// Stats returns the crawl's counts without joining it as a worker.
func (cr *Crawl) Stats(ctx context.Context) (frontier.Stats, error) {
	base := []any{cr.epoch, 0, 0, 0, 0, 0}
	return cr.stats(ctx, func(ctx context.Context, s *goredis.Script, args ...any) (any, error) {
		return cr.run(ctx, base, s, args...)
	})
}

type runner func(ctx context.Context, s *goredis.Script, args ...any) (any, error)

func (cr *Crawl) stats(ctx context.Context, run runner) (frontier.Stats, error) {
	res, err := run(ctx, scripts.stats)
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
