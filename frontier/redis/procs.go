package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"sort"
	"strconv"
	"time"
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
