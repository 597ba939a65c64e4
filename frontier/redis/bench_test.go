package redis_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

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
// or not), with client processes working at once (four a core: each runs
// this test binary's TestOpsClient, its own process with its own
// connections): adds of new URLs, then leases each completed at once until
// the crawl drains. Each phase is timed from when every client is ready.
// It also reports each master's memory per URL it holds.
//
//	go test -run '^$' -bench Ops -benchtime 1x ./frontier/redis/
func BenchmarkOps(b *testing.B) {
	const urls, hosts = 60_000, 1_000
	clients := 4 * runtime.GOMAXPROCS(0)
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
	c, err := redisf.Dial(ctx, addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if _, err := redisf.Join(ctx, c, name, redisf.Options{Replicas: replicas}); err != nil {
		b.Fatal(err)
	}
	ps := make([]*opsClient, clients)
	for w := range ps {
		ps[w] = startOpsClient(b, fmt.Sprintf("TRAWL_OPS=%s %s %d %d %d %d %d", addr, name, replicas, w, clients, urls, hosts))
	}
	before := memories(b, c)
	start := time.Now()
	opsPhase(b, ps, "add")
	b.ReportMetric(float64(urls)/time.Since(start).Seconds(), "adds/s")
	after := memories(b, c)
	var most, seenMost float64
	for addr, m := range after {
		most = max(most, float64(m-before[addr]))
	}
	for _, per := range seenBytes(b, c, name) {
		seenMost = max(seenMost, per)
	}
	b.ReportMetric(most/float64(urls/len(after)), "used-bytes/URL-busiest-master")
	b.ReportMetric(seenMost, "seen-bytes/URL-busiest-master")
	start = time.Now()
	if n := opsPhase(b, ps, "drain"); n != int64(urls) {
		b.Fatalf("%d leases completed, want %d", n, urls)
	}
	b.ReportMetric(float64(urls)/time.Since(start).Seconds(), "lease+completes/s")
	for _, p := range ps {
		p.in.Close()
		p.cmd.Wait()
	}
}

// opsClient is a client process of BenchmarkOps.
type opsClient struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

// startOpsClient starts this test binary as a client with env, and waits
// until it has joined the crawl.
func startOpsClient(b *testing.B, env string) *opsClient {
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpsClient$")
	cmd.Env = append(os.Environ(), env)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	p := &opsClient{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	p.reply(b, "ready")
	return p
}

// reply reads the client's lines until one starting with word, and
// returns the number after it.
func (p *opsClient) reply(b *testing.B, word string) int64 {
	for p.out.Scan() {
		if rest, ok := strings.CutPrefix(p.out.Text(), word); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
			return n
		}
	}
	b.Fatalf("client gave no %q: %v", word, p.out.Err())
	return 0
}

// opsPhase tells every client to run a phase, and returns the sum of what
// they did once all are done.
func opsPhase(b *testing.B, ps []*opsClient, phase string) int64 {
	for _, p := range ps {
		if _, err := io.WriteString(p.in, phase+"\n"); err != nil {
			b.Fatal(err)
		}
	}
	var n int64
	for _, p := range ps {
		n += p.reply(b, "done")
	}
	return n
}

// TestOpsClient is a client process of BenchmarkOps; it skips unless
// started by it. It joins the crawl, says "ready", then runs each phase
// read from its input ("add": its share of the URLs; "drain": leases and
// completes until the crawl drains) and says "done N".
func TestOpsClient(t *testing.T) {
	env := os.Getenv("TRAWL_OPS")
	if env == "" {
		t.Skip("a client process of BenchmarkOps")
	}
	f := strings.Fields(env)
	addr, name := f[0], f[1]
	var n [5]int
	for i := range n {
		n[i], _ = strconv.Atoi(f[2+i])
	}
	replicas, w, clients, urls, hosts := n[0], n[1], n[2], n[3], n[4]
	ctx := context.Background()
	c, err := redisf.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cr, err := redisf.Join(ctx, c, name, redisf.Options{Replicas: replicas})
	if err != nil {
		t.Fatal(err)
	}
	fr, err := cr.Frontier(ctx, frontier.Options{Pace: frontier.Pace{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	defer fr.Close(ctx)
	fmt.Println("ready")
	for sc := bufio.NewScanner(os.Stdin); sc.Scan(); {
		var done int64
		switch sc.Text() {
		case "add":
			done, err = opsAdd(ctx, fr, w, clients, urls, hosts)
		case "drain":
			done, err = opsDrain(ctx, fr)
		}
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println("done", done)
	}
}

// opsAdd adds client w's share of urls URLs of hosts hosts, in batches
// of 100.
func opsAdd(ctx context.Context, f frontier.Frontier, w, clients, urls, hosts int) (int64, error) {
	reqs := make([]frontier.Request, 0, 100)
	var n int64
	for u := w; u < urls; u += clients {
		reqs = append(reqs, frontier.Request{URL: fmt.Sprintf("http://host%d.example/section/%d/page-%d.html", u%hosts, u/hosts, u)})
		if len(reqs) == cap(reqs) || u+clients >= urls {
			k, err := f.Add(ctx, reqs)
			if err != nil {
				return n, err
			}
			n += int64(k)
			reqs = reqs[:0]
		}
	}
	return n, nil
}

// opsDrain leases and at once completes until the crawl drains, and
// returns how many it completed.
func opsDrain(ctx context.Context, f frontier.Frontier) (int64, error) {
	var n int64
	for {
		l, err := f.Lease(ctx)
		if errors.Is(err, frontier.ErrDrained) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if err := f.Complete(ctx, []frontier.Done{{Lease: l}}); err != nil {
			return n, err
		}
		n++
	}
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
