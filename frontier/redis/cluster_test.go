package redis

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/frontier/frontiertest"
	"github.com/trawl-dev/trawl/internal/redistest"
)

// conformance runs the frontier suite on crawls of c joined with opts.
func conformance(t *testing.T, c goredis.UniversalClient, opts Options) {
	var n atomic.Int64
	epochs := map[frontier.Frontier][2]string{}
	var mu sync.Mutex
	open := func(t *testing.T, name, epoch string, fo frontier.Options) frontier.Frontier {
		o := opts
		o.Epoch = epoch
		cr, err := Join(context.Background(), c, name, o)
		if err != nil {
			t.Fatalf("Join: %v", err)
		}
		f, err := cr.Frontier(context.Background(), fo)
		if err != nil {
			t.Fatalf("Frontier: %v", err)
		}
		t.Cleanup(func() { f.Close(context.Background()); cr.Close() })
		mu.Lock()
		epochs[f] = [2]string{name, cr.Epoch()}
		mu.Unlock()
		return f
	}
	frontiertest.Run(t, frontiertest.Impl{
		Shared: true,
		Open: func(t *testing.T, fo frontier.Options) frontier.Frontier {
			return open(t, fmt.Sprintf("conf%d", n.Add(1)), "", fo)
		},
		Reopen: func(t *testing.T, f frontier.Frontier, fo frontier.Options) frontier.Frontier {
			mu.Lock()
			e := epochs[f]
			mu.Unlock()
			return open(t, e[0], e[1], fo)
		},
	})
}

// The suite holds on one Redis, with the crawl on one hash slot.
func TestConformance(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	conformance(t, srv.Client(t), Options{})
}

// The suite holds for a crawl split over shards on one Redis: every
// decision that spans shards (drained, the page budget) is made right.
func TestConformanceSharded(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	conformance(t, srv.Client(t), Options{Shards: 7})
}

// The suite holds on a Redis Cluster of three masters with a replica
// each, with the default layout (four shards a master) and writes that
// wait for a replica.
func TestConformanceCluster(t *testing.T) {
	cl := redistest.StartCluster(t, 3, 1)
	c, err := Dial(context.Background(), cl.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cr, err := Join(context.Background(), c, "layout", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cr.shards) != 12 || cr.replicas != 1 {
		t.Fatalf("on 3 masters with replicas: %d shards, writes wait for %d replicas; want 12 and 1", len(cr.shards), cr.replicas)
	}
	conformance(t, c, Options{})
}

// The slot of a shard's keys, as trawl computes it to place the shards,
// is the slot Redis puts them in; the shards are spread evenly over the
// masters.
func TestShardPlacement(t *testing.T) {
	cl := redistest.StartCluster(t, 3, 1)
	c := cl.Client(t)
	ctx := context.Background()
	for _, tag := range []string{"a", "crawl/0", "crawl/11.3", "日本/7", "x y/2"} {
		want, err := c.ClusterKeySlot(ctx, shardPrefix(tag)+"meta").Result()
		if err != nil {
			t.Fatal(err)
		}
		if got := slotOf(tag); int64(got) != want {
			t.Errorf("slot of {%s}: %d, Redis says %d", tag, got, want)
		}
	}
	cr, err := Join(ctx, c, "spread", Options{Shards: 9})
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, p := range cr.shards {
		per[cr.nodeOf(ctx, p)]++
	}
	if len(per) != 3 {
		t.Fatalf("9 shards on %d masters (%v), want 3 each on 3", len(per), per)
	}
	for n, k := range per {
		if k != 3 {
			t.Errorf("master %s holds %d of 9 shards, want 3", n, k)
		}
	}
}

// hostHash is FNV-1a, as hash/fnv computes it: a host's shard is the
// same in every process.
func TestHostHash(t *testing.T) {
	for _, host := range []string{"", "a", "docs.example:8080", "日本.example", "127.0.0.120:43211"} {
		h := fnv.New64a()
		h.Write([]byte(host))
		if got, want := hostHash(host), h.Sum64(); got != want {
			t.Errorf("hostHash(%q) = %x, hash/fnv says %x", host, got, want)
		}
	}
}

// A crawl keeps the layout it was created with; asking for another is
// ErrLayout, and asking for none (0) takes the crawl's.
func TestLayoutKept(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	c := srv.Client(t)
	ctx := context.Background()
	if _, err := Join(ctx, c, "one", Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Join(ctx, c, "one", Options{Shards: 4}); !errors.Is(err, ErrLayout) {
		t.Fatalf("a one-slot crawl joined with 4 shards: %v, want ErrLayout", err)
	}
	if _, err := Join(ctx, c, "four", Options{Shards: 4}); err != nil {
		t.Fatal(err)
	}
	if _, err := Join(ctx, c, "four", Options{Shards: 1}); !errors.Is(err, ErrLayout) {
		t.Fatalf("a crawl of 4 shards joined with 1: %v, want ErrLayout", err)
	}
	cr, err := Join(ctx, c, "four", Options{})
	if err != nil || len(cr.shards) != 4 {
		t.Fatalf("joined with the default: %v, %d shards; want the crawl's 4", err, len(cr.shards))
	}
}

// A creator killed between creating the crawl and its shards leaves a
// crawl the next process finishes creating.
func TestShardsFinishedByNextJoin(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	c := srv.Client(t)
	ctx := context.Background()
	cr, err := Join(ctx, c, "half", Options{Shards: 3})
	if err != nil {
		t.Fatal(err)
	}
	c.HDel(ctx, cr.prefix+"meta", "ready")
	c.Del(ctx, cr.shards[2]+"meta")
	cr2, err := Join(ctx, c, "half", Options{Epoch: cr.Epoch()})
	if err != nil {
		t.Fatal(err)
	}
	f, err := cr2.Frontier(ctx, frontier.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(ctx)
	var reqs []frontier.Request
	for h := range 12 {
		reqs = append(reqs, frontier.Request{URL: fmt.Sprintf("http://h%d/", h)})
	}
	if n, err := f.Add(ctx, reqs); n != 12 || err != nil {
		t.Fatalf("Add on the finished crawl: %d, %v", n, err)
	}
}

// A completion whose links go to another shard never lets a process see
// the crawl drained: many rounds of one page leading to the next, on
// hosts of other shards, with five more frontiers asking all the while.
func TestDrainedAcrossShards(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	c := srv.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cr, err := Join(ctx, c, "chain", Options{Shards: 5})
	if err != nil {
		t.Fatal(err)
	}
	opts := frontier.Options{Pace: frontier.Pace{Limit: 10}}
	var fs []*Frontier
	for range 6 {
		f, err := cr.Frontier(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close(ctx)
		fs = append(fs, f)
	}
	const rounds = 1000
	url := func(i int) string { return fmt.Sprintf("http://h%d/%d", i, i) }
	if _, err := fs[0].Add(ctx, []frontier.Request{{URL: url(0)}}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var pages atomic.Int64
	early := make(chan error, len(fs))
	for _, f := range fs {
		wg.Go(func() {
			for {
				l, err := f.Lease(ctx)
				if errors.Is(err, frontier.ErrDrained) {
					if n := pages.Load(); n < rounds {
						early <- fmt.Errorf("drained after %d of %d pages", n, rounds)
					}
					return
				}
				if err != nil {
					early <- err
					return
				}
				var i int
				fmt.Sscanf(l.Host, "h%d", &i)
				var found []frontier.Request
				if i+1 < rounds {
					found = append(found, frontier.Request{URL: url(i + 1), Depth: l.Depth + 1})
				}
				f.Release(ctx, l, frontier.Pace{Limit: 10})
				if err := f.Complete(ctx, []frontier.Done{{Lease: l, Found: found}}); err != nil {
					early <- err
					return
				}
				pages.Add(1)
			}
		})
	}
	wg.Wait()
	close(early)
	for err := range early {
		t.Fatal(err)
	}
	if n := pages.Load(); n != rounds {
		t.Fatalf("%d pages, want %d", n, rounds)
	}
}

// A master killed under a crawl: its replica takes over, and every
// enqueue acknowledged before or after the kill is there.
func TestClusterFailover(t *testing.T) {
	cl := redistest.StartCluster(t, 3, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c, err := Dial(ctx, cl.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cr, err := Join(ctx, c, "fo", Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := cr.Frontier(ctx, frontier.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(ctx)
	added := 0
	addSome := func(from int) {
		var reqs []frontier.Request
		for h := range 30 {
			reqs = append(reqs, frontier.Request{URL: fmt.Sprintf("http://h%d/%d", h, from)})
		}
		start := time.Now()
		n, err := f.Add(ctx, reqs)
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > time.Second {
			t.Logf("Add %d took %v", from, d)
		}
		added += n
	}
	for i := range 20 {
		addSome(i)
	}
	cl.Masters(ctx)[0].Kill()
	for i := 20; i < 60; i++ {
		addSome(i)
	}
	st, err := f.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Queued != added || added != 60*30 {
		t.Fatalf("%d added, %d queued after the failover; want %d", added, st.Queued, 60*30)
	}
}
