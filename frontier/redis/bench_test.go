package redis_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/trawl-dev/trawl/frontier"
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
