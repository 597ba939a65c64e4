package main

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/internal/redistest"
)

// runProcs runs n trawl processes of one shared crawl (or, with rds nil,
// one process on its own job) to the end and returns how long they took.
func runProcs(b *testing.B, rds *redistest.Server, crawl string, n int, hs *hostSites, args ...string) time.Duration {
	dir := b.TempDir()
	start := time.Now()
	var ps []*proc
	for i := range n {
		a := append([]string{"crawl", "-q", "--job", filepath.Join(dir, fmt.Sprintf("%d.db", i)), "--auto-throttle=false"}, args...)
		if rds != nil {
			a = append(a, "--frontier", rds.URL(), "--crawl", crawl)
		}
		ps = append(ps, startTrawl(b, dir, append(a, hs.seeds()...)...))
	}
	for _, p := range ps {
		if code := p.wait(b, 5*time.Minute); code != 0 {
			b.Fatalf("exit %d\n%s", code, p.err.String())
		}
	}
	return time.Since(start)
}

// BenchmarkSharedScaling crawls 16 loopback hosts × 100 pages that answer
// in 50 ms (--per-host 2, -c 8 a process), first with one process, then
// with three sharing the crawl through Redis; "speedup" is how many times
// faster three finish.
//
//	go test -run '^$' -bench SharedScaling -benchtime 1x ./cmd/trawl/
func BenchmarkSharedScaling(b *testing.B) {
	rds := redistest.Start(b, redistest.Options{})
	var one, three time.Duration
	for i := 0; i < b.N; i++ {
		hs := newHostSites(b, 16, 100, 50*time.Millisecond)
		one += runProcs(b, rds, fmt.Sprintf("one%d", i), 1, hs, "--per-host", "2", "-c", "8")
		hs = newHostSites(b, 16, 100, 50*time.Millisecond)
		three += runProcs(b, rds, fmt.Sprintf("three%d", i), 3, hs, "--per-host", "2", "-c", "8")
	}
	n := float64(b.N * 1600)
	b.ReportMetric(n/one.Seconds(), "one-pages/s")
	b.ReportMetric(n/three.Seconds(), "three-pages/s")
	b.ReportMetric(one.Seconds()/three.Seconds(), "speedup")
}

// BenchmarkRedisVsBolt crawls 4 loopback hosts × 1,000 pages that answer
// in 5 ms with one process (-c 16, --per-host 4), once with the queue in
// the job file and once on a Redis frontier; "ratio" is Redis's pages/s
// over bbolt's.
//
//	go test -run '^$' -bench RedisVsBolt -benchtime 3x ./cmd/trawl/
func BenchmarkRedisVsBolt(b *testing.B) {
	rds := redistest.Start(b, redistest.Options{})
	var bolt, redis time.Duration
	for i := 0; i < b.N; i++ {
		hs := newHostSites(b, 4, 1000, 5*time.Millisecond)
		bolt += runProcs(b, nil, "", 1, hs, "--per-host", "4", "-c", "16")
		hs = newHostSites(b, 4, 1000, 5*time.Millisecond)
		redis += runProcs(b, rds, fmt.Sprintf("rb%d", i), 1, hs, "--per-host", "4", "-c", "16")
	}
	n := float64(b.N * 4000)
	b.ReportMetric(n/bolt.Seconds(), "bolt-pages/s")
	b.ReportMetric(n/redis.Seconds(), "redis-pages/s")
	b.ReportMetric(bolt.Seconds()/redis.Seconds(), "ratio")
}
