package redis_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/trawl-dev/trawl/frontier"
	redisf "github.com/trawl-dev/trawl/frontier/redis"
	"github.com/trawl-dev/trawl/internal/redistest"
)

// open joins a fresh crawl on srv and returns its frontier, closed (and
// the crawl left) when t ends.
func open(t testing.TB, c goredis.UniversalClient, name, epoch string, opts frontier.Options) (*redisf.Crawl, *redisf.Frontier) {
	t.Helper()
	cr, err := redisf.Join(context.Background(), c, name, redisf.Options{Epoch: epoch})
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	f, err := cr.Frontier(context.Background(), opts)
	if err != nil {
		t.Fatalf("Frontier: %v", err)
	}
	t.Cleanup(func() { f.Close(context.Background()); cr.Close() })
	return cr, f
}

// Dial takes unix:// addresses, and a password from the address or from
// REDISCLI_AUTH, as redis-cli does.
func TestDial(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{Unix: true, Password: "s3cret"})
	ctx := context.Background()
	for _, tc := range []struct {
		addr, env string
		ok        bool
	}{
		{"redis://:s3cret@" + srv.Addr() + "/0", "", true},
		{"redis://" + srv.Addr() + "/0", "s3cret", true},
		{"unix://:s3cret@" + srv.Socket(), "", true},
		{"unix://" + srv.Socket() + "?db=1", "s3cret", true},
		{"redis://" + srv.Addr() + "/0", "", false},
		{"redis://:wrong@" + srv.Addr() + "/0", "", false},
	} {
		t.Setenv("REDISCLI_AUTH", tc.env)
		c, err := redisf.Dial(ctx, tc.addr)
		if (err == nil) != tc.ok {
			t.Errorf("Dial(%s) with REDISCLI_AUTH=%q: %v, want ok=%v", tc.addr, tc.env, err, tc.ok)
		}
		if err == nil {
			c.Close()
		}
	}
}

// A crawl remembers its kind: a fetch cannot join a crawl (it would
// complete its URLs without following their links).
func TestJoinKind(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	c := srv.Client(t)
	ctx := context.Background()
	if _, err := redisf.Join(ctx, c, "k", redisf.Options{Kind: "crawl"}); err != nil {
		t.Fatal(err)
	}
	if _, err := redisf.Join(ctx, c, "k", redisf.Options{Kind: "crawl"}); err != nil {
		t.Fatalf("a second crawl process: %v", err)
	}
	if _, err := redisf.Join(ctx, c, "k", redisf.Options{Kind: "fetch"}); !errors.Is(err, redisf.ErrKind) {
		t.Fatalf("a fetch joining a crawl: %v, want ErrKind", err)
	}
	if _, err := redisf.Join(ctx, c, "none", redisf.Options{Existing: true}); !errors.Is(err, redisf.ErrNoCrawl) {
		t.Fatalf("looking at a crawl that does not exist: %v, want ErrNoCrawl", err)
	}
	if _, err := redisf.Join(ctx, c, "k", redisf.Options{Epoch: "not-its-epoch"}); !errors.Is(err, redisf.ErrGone) {
		t.Fatalf("joining with another crawl's epoch: %v, want ErrGone", err)
	}
}

// Join refuses a Redis that may evict keys; a Redis set to evict while the
// crawl runs is noticed within a heartbeat, and every call then fails with
// why instead of working on state that may be damaged.
func TestEviction(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{Args: []string{"--maxmemory-policy", "volatile-lru"}})
	c := srv.Client(t)
	ctx := context.Background()
	if _, err := redisf.Join(ctx, c, "e", redisf.Options{}); !errors.Is(err, redisf.ErrEvicts) || !strings.Contains(err.Error(), "noeviction") {
		t.Fatalf("Join on an evicting Redis: %v", err)
	}
	c.ConfigSet(ctx, "maxmemory-policy", "noeviction")
	_, f := open(t, c, "e", "", frontier.Options{})
	if _, err := f.Add(ctx, []frontier.Request{{URL: "http://h/a"}}); err != nil {
		t.Fatal(err)
	}
	c.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru")
	var err error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, err = f.Add(ctx, []frontier.Request{{URL: "http://h/b"}}); err != nil {
			break
		}
	}
	if !errors.Is(err, redisf.ErrEvicts) {
		t.Fatalf("after the policy changed: %v, want ErrEvicts", err)
	}
}

// A script that fails on the server (a key of the crawl overwritten with
// another type) is an error naming the frontier's operation and what
// Redis said, not the script's SHA.
func TestScriptErrorsNamed(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	c := srv.Client(t)
	_, f := open(t, c, "wrong", "", frontier.Options{})
	ctx := context.Background()
	if err := c.Del(ctx, "trawl:{wrong}:ready").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "trawl:{wrong}:ready", "not a sorted set", 0).Err(); err != nil {
		t.Fatal(err)
	}
	_, err := f.Add(ctx, []frontier.Request{{URL: "http://h/a"}})
	if err == nil {
		_, err = f.Lease(ctx)
	}
	if err == nil {
		t.Fatal("no error from a crawl whose ready set is a string")
	}
	msg := err.Error()
	if regexpSHA.MatchString(msg) || !strings.Contains(msg, "WRONGTYPE") || !strings.Contains(msg, "the frontier's add script") {
		t.Errorf("error %q: want the operation and Redis's words, no SHA", msg)
	}
}

var regexpSHA = regexp.MustCompile(`[0-9a-f]{40}`)
