package gate_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/politeness/gate"
)

// A real server counts the requests in flight: through the gate, never
// more than the host's cap; and with a gap, each request starts at least
// the gap after the last response ended, as the server sees it.
func TestGateCapAndGap(t *testing.T) {
	var now, most atomic.Int64
	var mu sync.Mutex
	var ends []time.Time
	var starts []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := now.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		mu.Lock()
		starts = append(starts, time.Now())
		mu.Unlock()
		time.Sleep(5 * time.Millisecond) // the server's own work
		now.Add(-1)
		io.WriteString(w, "ok")
		mu.Lock()
		ends = append(ends, time.Now())
		mu.Unlock()
	}))
	defer srv.Close()
	get := func(c *http.Client, n int) {
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				resp, err := c.Get(srv.URL)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			})
		}
		wg.Wait()
	}
	c := &http.Client{Transport: gate.New(http.DefaultTransport, 3, nil)}
	get(c, 40)
	if most.Load() > 3 || most.Load() < 2 {
		t.Errorf("at most %d in flight, want 2 to 3 (the cap)", most.Load())
	}
	most.Store(0)
	ends, starts = nil, nil
	gap := 30 * time.Millisecond
	c = &http.Client{Transport: gate.New(http.DefaultTransport, 1, func(context.Context, string) time.Duration { return gap })}
	get(c, 5)
	for i := 1; i < len(starts); i++ {
		if d := starts[i].Sub(ends[i-1]); d < gap-2*time.Millisecond { // the server's clock is ours: loopback
			t.Errorf("request %d started %v after the last response ended, want at least %v", i, d, gap)
		}
	}
}

// A request waiting for room gives up when its context ends.
func TestGateWaitEndsWithContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	g := gate.New(http.DefaultTransport, 1, nil)
	c := &http.Client{Transport: g}
	go c.Get(srv.URL)
	deadline := time.Now().Add(5 * time.Second)
	for g.InFlight(srv.Listener.Addr().String()) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if _, err := c.Do(req); err == nil {
		t.Fatal("a request past the cap went through")
	}
}
