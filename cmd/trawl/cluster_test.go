package main

import (
	"context"
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/trawl-dev/trawl/internal/redistest"
)

// crawlKeys counts the keys of the crawl name on each master.
func crawlKeys(t *testing.T, cl *redistest.Cluster, name string) map[string]int {
	t.Helper()
	ctx := context.Background()
	keys := map[string]int{}
	for _, m := range cl.Masters(ctx) {
		c := goredis.NewClient(&goredis.Options{Addr: m.Addr()})
		it := c.Scan(ctx, 0, "trawl:{"+name+"*", 1000).Iterator()
		for it.Next(ctx) {
			keys[m.Addr()]++
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	return keys
}

// Three processes share a crawl of 120 hosts through a Redis Cluster of
// three masters with a replica each: every page is fetched once, each
// host's cap holds across the processes, and the crawl's keys are spread
// over the masters.
func TestClusterCrawl(t *testing.T) {
	cl := redistest.StartCluster(t, 3, 1)
	hs := newHostSites(t, 120, 10, 5*time.Millisecond)
	dir := t.TempDir()
	jobs := []string{"a.db", "b.db", "c.db"}
	ps := startJobs(t, dir, jobs, func(j string) []string { return sharedArgsAt(cl.URL(), "wide", j, hs) })
	waitAll(t, ps)
	hs.checkPeaks(t, 2)
	if again, never := hs.refetched(); again != 0 || never != 0 {
		t.Errorf("%d pages fetched twice, %d never fetched; want every page once", again, never)
	}
	checkMerged(t, dir, hs, jobs...)
	keys := crawlKeys(t, cl, "wide")
	total := 0
	for _, n := range keys {
		total += n
	}
	if len(keys) != 3 {
		t.Fatalf("the crawl's keys are on %d masters (%v), want 3", len(keys), keys)
	}
	for m, n := range keys {
		if share := float64(n) / float64(total); share < 0.20 || share > 0.47 {
			t.Errorf("master %s holds %.0f%% of the crawl's %d keys (%v), want 20%%–47%%", m, 100*share, total, keys)
		}
	}
	st := trawl(t, dir, "", "stats", "--frontier", cl.URL(), "--crawl", "wide")
	if st.code != 0 || !strings.Contains(st.stdout, "1200 completed, 0 queued, 0 leased") || !strings.Contains(st.stdout, "shards    12, by host") {
		t.Errorf("stats --frontier: exit %d\n%s%s", st.code, st.stdout, st.stderr)
	}
	js := trawl(t, dir, "", "stats", "--json", "--frontier", cl.URL(), "--crawl", "wide")
	var view struct {
		Shards []struct{ Completed int } `json:"shards"`
		Nodes  []struct {
			Memory int64 `json:"used_memory"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(js.stdout), &view); err != nil || len(view.Shards) != 12 || len(view.Nodes) != 3 {
		t.Errorf("stats --json: %v, %d shards, %d nodes; want 12 and 3\n%s", err, len(view.Shards), len(view.Nodes), js.stdout)
	}
	t.Logf("keys by master: %v\n%s", keys, st.stdout)
	// The layout is the crawl's: another number of shards is refused.
	other := trawl(t, dir, "", sharedArgsAt(cl.URL(), "wide", "d.db", hs, "--frontier-shards", "3")...)
	if other.code != 2 || !strings.Contains(other.stderr, "12 shards") {
		t.Errorf("joining with --frontier-shards 3: exit %d, want 2 naming the crawl's 12 shards\n%s", other.code, other.stderr)
	}
}

// A master of the cluster is killed mid-crawl, and later one of the three
// trawl processes: the master's replica takes over, the crawl completes
// with every page, and only leases in flight are fetched twice.
func TestClusterMasterKilled(t *testing.T) {
	cl := redistest.StartCluster(t, 3, 1)
	hs := newHostSites(t, 60, 20, 10*time.Millisecond)
	dir := t.TempDir()
	jobs := []string{"a.db", "b.db", "c.db"}
	ps := startJobs(t, dir, jobs, func(j string) []string { return sharedArgsAt(cl.URL(), "failover", j, hs, "--lease", "10s") })
	waitFor(t, time.Minute, "300 requests", func() bool { return hs.total() >= 300 })
	ctx := context.Background()
	victim := cl.Masters(ctx)[0]
	victim.Kill()
	at := hs.total()
	t.Cleanup(func() {
		if t.Failed() {
			for i, p := range ps {
				t.Logf("process %d:\n%s", i, p.err.String())
			}
		}
	})
	waitFor(t, time.Minute, "requests after the failover", func() bool { return hs.total() >= at+300 })
	if err := cl.WaitOK(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	ps[0].cmd.Process.Signal(syscall.SIGKILL)
	<-ps[0].done
	waitAll(t, ps[1:])
	again, never := hs.refetched()
	if never != 0 {
		t.Errorf("%d pages never fetched after a master and a process were killed", never)
	}
	// Fetched again: the killed process's leases, which expired (fetched
	// but not yet completed in Redis: the crawl counts them as lost), and
	// leases granted by the master in its last moment, before its replica
	// had them (at most the -c 8 of each process).
	js := trawl(t, dir, "", "stats", "--json", "--frontier", cl.URL(), "--crawl", "failover")
	var view struct {
		Lost int `json:"lost"`
	}
	if err := json.Unmarshal([]byte(js.stdout), &view); err != nil {
		t.Fatalf("stats --json: %v\n%s", err, js.stdout)
	}
	if again > view.Lost+3*8 {
		t.Errorf("%d pages fetched twice, more than the %d expired leases and the 24 in flight at the failover", again, view.Lost)
	}
	checkMerged(t, dir, hs, jobs...)
	hs.checkPeaks(t, 2)
	st := trawl(t, dir, "", "stats", "--frontier", cl.URL(), "--crawl", "failover")
	t.Logf("master %s killed at %d requests, a process after: %d pages fetched twice, %d leases expired\n%s", victim.Addr(), at, again, view.Lost, st.stdout)
}
