package redis_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/frontier/frontiertest"
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

func TestConformance(t *testing.T) {
	srv := redistest.Start(t, false)
	c := srv.Client(t)
	var n atomic.Int64
	epochs := map[frontier.Frontier][2]string{}
	frontiertest.Run(t, frontiertest.Impl{
		Shared: true,
		Open: func(t *testing.T, opts frontier.Options) frontier.Frontier {
			name := fmt.Sprintf("conf%d", n.Add(1))
			cr, f := open(t, c, name, "", opts)
			epochs[f] = [2]string{name, cr.Epoch()}
			return f
		},
		Reopen: func(t *testing.T, f frontier.Frontier, opts frontier.Options) frontier.Frontier {
			// A killed process's frontier is simply never used again;
			// its leases live on in Redis until they expire.
			e := epochs[f]
			_, g := open(t, c, e[0], e[1], opts)
			return g
		},
	})
}
