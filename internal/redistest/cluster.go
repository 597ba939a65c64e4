package redistest

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Cluster is a running Redis Cluster of local redis-server processes:
// masters, each with its replicas.
type Cluster struct {
	Nodes    []*Server // every node, in the order redis-cli was given them
	replicas int
}

// StartCluster starts masters×(1+replicas) redis-servers with
// cluster-enabled, joins them with redis-cli --cluster create, and waits
// until every node says the cluster is ok. A failed master's replica takes
// over within about a second (cluster-node-timeout 1000).
func StartCluster(t testing.TB, masters, replicas int) *Cluster {
	t.Helper()
	Need(t)
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Fatal("no redis-cli on PATH: apt-get install -y redis-tools")
	}
	cl := &Cluster{replicas: replicas}
	var addrs []string
	for range masters * (1 + replicas) {
		s := &Server{Dir: t.TempDir(), opts: Options{Args: []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "1000", "--cluster-replica-validity-factor", "0", "--repl-ping-replica-period", "1",
			"--appendonly", "yes", "--appendfsync", "everysec"}}}
		if err := s.start(0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Kill)
		cl.Nodes = append(cl.Nodes, s)
		addrs = append(addrs, s.Addr())
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	if err := cl.WaitOK(context.Background(), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := cl.waitReplicas(context.Background(), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return cl
}

// WaitOK waits until every live node says cluster_state:ok and knows every
// slot's master.
func (cl *Cluster) WaitOK(ctx context.Context, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		bad := ""
		for _, s := range cl.Nodes {
			if !s.Alive() {
				continue
			}
			c := goredis.NewClient(&goredis.Options{Addr: s.Addr()})
			info, err := c.ClusterInfo(ctx).Result()
			c.Close()
			if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_ok:16384") {
				bad = s.Addr()
				break
			}
		}
		if bad == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis cluster: node %s not ok after %v", bad, d)
		}
		time.Sleep(50 * time.Millisecond) // polling the cluster's own state: nothing to wait on
	}
}

// waitReplicas waits until every node's view of the cluster shows every
// master with its replicas online, and every master has them in sync.
func (cl *Cluster) waitReplicas(ctx context.Context, d time.Duration) error {
	for deadline := time.Now().Add(d); ; time.Sleep(50 * time.Millisecond) { // polling the cluster's own state
		ok := true
		for _, node := range cl.Nodes {
			c := goredis.NewClient(&goredis.Options{Addr: node.Addr()})
			ss, err := c.ClusterShards(ctx).Result()
			c.Close()
			ok = ok && err == nil && len(ss) > 0
			for _, s := range ss {
				online := 0
				for _, n := range s.Nodes {
					if n.Health == "online" {
						online++
					}
				}
				ok = ok && online == 1+cl.replicas
			}
		}
		for _, s := range cl.Masters(ctx) {
			mc := goredis.NewClient(&goredis.Options{Addr: s.Addr()})
			info, _ := mc.Info(ctx, "replication").Result()
			mc.Close()
			ok = ok && strings.Count(info, "state=online") == cl.replicas
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis cluster: replicas not in sync after %v", d)
		}
	}
}

// Addrs returns every node's host:port.
func (cl *Cluster) Addrs() []string {
	var a []string
	for _, s := range cl.Nodes {
		a = append(a, s.Addr())
	}
	return a
}

// URL returns the cluster's redis+cluster:// address, naming every node.
func (cl *Cluster) URL() string { return "redis+cluster://" + strings.Join(cl.Addrs(), ",") }

// Client returns a cluster client, closed when t ends.
func (cl *Cluster) Client(t testing.TB) *goredis.ClusterClient {
	c := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: cl.Addrs()})
	t.Cleanup(func() { c.Close() })
	return c
}

// Masters returns the nodes that are masters now.
func (cl *Cluster) Masters(ctx context.Context) []*Server {
	var ms []*Server
	for _, s := range cl.Nodes {
		if !s.Alive() {
			continue
		}
		c := goredis.NewClient(&goredis.Options{Addr: s.Addr()})
		info, err := c.Info(ctx, "replication").Result()
		c.Close()
		if err == nil && strings.Contains(info, "role:master") {
			ms = append(ms, s)
		}
	}
	return ms
}
