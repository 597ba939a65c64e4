package redis_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/trawl-dev/trawl/frontier"
	redisf "github.com/trawl-dev/trawl/frontier/redis"
	"github.com/trawl-dev/trawl/internal/redistest"
)

// BenchmarkSeenBytesPerURL adds 1M distinct URLs (of 1,000 hosts) to a
// crawl and reports what Redis spends on them: the seen set alone (the
// dedup that lives for the whole crawl) and everything (queues included),
// from MEMORY USAGE and INFO memory.
//
//	go test -run '^$' -bench SeenBytesPerURL -benchtime 1x ./frontier/redis/
func BenchmarkSeenBytesPerURL(b *testing.B) {
	const n = 1_000_000
	srv := redistest.Start(b, redistest.Options{})
	c := srv.Client(b)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		c.FlushAll(ctx)
		before := usedMemory(b, c.Info(ctx, "memory").Val())
		_, f := open(b, c, "bytes"+strconv.Itoa(i), "", frontier.Options{})
		reqs := make([]frontier.Request, 0, 10000)
		for u := 0; u < n; u++ {
			reqs = append(reqs, frontier.Request{URL: fmt.Sprintf("http://host%d.example/section/%d/page-%d.html", u%1000, u/1000, u)})
			if len(reqs) == cap(reqs) {
				if _, err := f.Add(ctx, reqs); err != nil {
					b.Fatal(err)
				}
				reqs = reqs[:0]
			}
		}
		after := usedMemory(b, c.Info(ctx, "memory").Val())
		var seen int64
		iter := c.Scan(ctx, 0, "trawl:{bytes"+strconv.Itoa(i)+"}:s:*", 1000).Iterator()
		pipe := c.Pipeline()
		var keys int
		for iter.Next(ctx) {
			pipe.MemoryUsage(ctx, iter.Val(), 0)
			keys++
		}
		cmds, _ := pipe.Exec(ctx)
		for _, cmd := range cmds {
			v, _ := cmd.(interface{ Val() int64 })
			seen += v.Val()
		}
		b.ReportMetric(float64(seen)/n, "seen-bytes/URL")
		b.ReportMetric(float64(after-before)/n, "total-bytes/URL")
		b.ReportMetric(float64(keys), "seen-keys")
		f.Close(ctx)
	}
}

func usedMemory(b *testing.B, info string) int64 {
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal("no used_memory in INFO")
	return 0
}

// BenchmarkOps reports frontier operations a second on one Redis and on
// a Redis Cluster of three masters (a replica each, writes waiting for it
// or not), with clients (each its own connections) working at once: adds
// of new URLs, then leases each completed at once until the crawl drains.
// It also reports each master's memory per URL it holds.
//
//	go test -run '^$' -bench Ops -benchtime 1x ./frontier/redis/
func BenchmarkOps(b *testing.B) {
	const urls, hosts, clients = 60_000, 1_000, 8
	single := redistest.Start(b, redistest.Options{})
	cl := redistest.StartCluster(b, 3, 1)
	for _, tc := range []struct {
		name, addr string
		replicas   int
	}{
		{"redis", single.URL(), 0},
		{"cluster", cl.URL(), 0},
		{"cluster-nowait", cl.URL(), -1},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				opsRun(b, tc.addr, fmt.Sprintf("ops%s%d", tc.name, i), tc.replicas, urls, hosts, clients)
			}
		})
	}
}

func opsRun(b *testing.B, addr, name string, replicas, urls, hosts, clients int) {
	ctx := context.Background()
	fs := make([]frontier.Frontier, clients)
	var first goredis.UniversalClient
	for w := range clients {
		c, err := redisf.Dial(ctx, addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		if first == nil {
			first = c
		}
		cr, err := redisf.Join(ctx, c, name, redisf.Options{Replicas: replicas})
		if err != nil {
			b.Fatal(err)
		}
		f, err := cr.Frontier(ctx, frontier.Options{Pace: frontier.Pace{Limit: 1000}})
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close(ctx)
		fs[w] = f
	}
	before := memories(b, first)
	start := time.Now()
	opsAdd(b, fs, urls, hosts)
	b.ReportMetric(float64(urls)/time.Since(start).Seconds(), "adds/s")
	after := memories(b, first)
	var most, seenMost float64
	for addr, m := range after {
		most = max(most, float64(m-before[addr]))
	}
	for _, per := range seenBytes(b, first, name) {
		seenMost = max(seenMost, per)
	}
	b.ReportMetric(most/float64(urls/len(after)), "used-bytes/URL-busiest-master")
	b.ReportMetric(seenMost, "seen-bytes/URL-busiest-master")
	start = time.Now()
	if n := opsDrain(b, fs); n != int64(urls) {
		b.Fatalf("%d leases completed, want %d", n, urls)
	}
	b.ReportMetric(float64(urls)/time.Since(start).Seconds(), "lease+completes/s")
}

// opsAdd adds urls URLs of hosts hosts through the frontiers at once, in
// batches of 100.
func opsAdd(b *testing.B, fs []frontier.Frontier, urls, hosts int) {
	ctx := context.Background()
	var g errgroup.Group
	for w, f := range fs {
		g.Go(func() error {
			reqs := make([]frontier.Request, 0, 100)
			for u := w; u < urls; u += len(fs) {
				reqs = append(reqs, frontier.Request{URL: fmt.Sprintf("http://host%d.example/section/%d/page-%d.html", u%hosts, u/hosts, u)})
				if len(reqs) == cap(reqs) {
					if _, err := f.Add(ctx, reqs); err != nil {
						return err
					}
					reqs = reqs[:0]
				}
			}
			_, err := f.Add(ctx, reqs)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
}

// opsDrain leases and at once completes through the frontiers until the
// crawl drains, and returns how many were completed.
func opsDrain(b *testing.B, fs []frontier.Frontier) int64 {
	ctx := context.Background()
	var g errgroup.Group
	var done atomic.Int64
	for _, f := range fs {
		g.Go(func() error {
			for {
				l, err := f.Lease(ctx)
				if errors.Is(err, frontier.ErrDrained) {
					return nil
				}
				if err != nil {
					return err
				}
				if err := f.Complete(ctx, []frontier.Done{{Lease: l}}); err != nil {
					return err
				}
				done.Add(1)
			}
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	return done.Load()
}

// memories returns each master's used_memory.
func memories(b *testing.B, c goredis.UniversalClient) map[string]int64 {
	ctx := context.Background()
	out := map[string]int64{}
	var mu sync.Mutex
	read := func(ctx context.Context, n *goredis.Client) error {
		m := usedMemory(b, n.Info(ctx, "memory").Val())
		mu.Lock()
		out[n.Options().Addr] = m
		mu.Unlock()
		return nil
	}
	eachMaster(ctx, c, read)
	return out
}

// seenBytes returns, for each master, the MEMORY USAGE of the crawl's
// seen-set keys there over the URLs they hold.
func seenBytes(b *testing.B, c goredis.UniversalClient, name string) map[string]float64 {
	ctx := context.Background()
	out := map[string]float64{}
	var mu sync.Mutex
	read := func(ctx context.Context, n *goredis.Client) error {
		var bytes, fields int64
		it := n.Scan(ctx, 0, "trawl:{"+name+"*}:s:*", 1000).Iterator()
		for it.Next(ctx) {
			bytes += n.MemoryUsage(ctx, it.Val(), 0).Val()
			fields += n.HLen(ctx, it.Val()).Val()
		}
		if fields > 0 {
			mu.Lock()
			out[n.Options().Addr] = float64(bytes) / float64(fields)
			mu.Unlock()
		}
		return it.Err()
	}
	eachMaster(ctx, c, read)
	return out
}

// eachMaster calls fn for the server of c, or each master of a cluster.
func eachMaster(ctx context.Context, c goredis.UniversalClient, fn func(context.Context, *goredis.Client) error) {
	switch c := c.(type) {
	case *goredis.ClusterClient:
		c.ForEachMaster(ctx, fn)
	case *goredis.Client:
		fn(ctx, c)
	}
}
