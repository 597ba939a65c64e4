package politeness_test

import (
	"context"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/politeness"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{
		"":                              0,
		"5":                             5 * time.Second,
		"junk":                          0,
		"999999999999":                  politeness.MaxRetryAfter,
		"Mon, 23 Nov 2026 12:00:30 GMT": 30 * time.Second,
		"Mon, 23 Nov 2026 11:00:00 GMT": 0,
	}
	for v, want := range cases {
		if got := politeness.RetryAfter(v, now); got != want {
			t.Errorf("RetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestPace(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	p := politeness.New(politeness.Options{Config: politeness.Config{PerHost: 4}})
	if got := p.Pace(ctx, "h", politeness.Outcome{Status: 200}, now); got.Limit != 4 || got.Gap != 0 || !got.NotBefore.IsZero() {
		t.Errorf("no delay: %+v", got)
	}
	if got := p.Pace(ctx, "h", politeness.Outcome{Status: 429, RetryAfter: 3 * time.Second}, now); !got.NotBefore.Equal(now.Add(3 * time.Second)) {
		t.Errorf("Retry-After not applied to the host: %+v", got)
	}
	if got := politeness.New(politeness.Options{Config: politeness.Config{PerHost: 2, Delay: time.Second}}).Initial(); got.Gap != time.Second || got.Limit != 1 {
		t.Errorf("initial pace with delay: %+v", got)
	}
}

func TestAutoThrottle(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	p := politeness.New(politeness.Options{Config: politeness.Config{PerHost: 4, AutoThrottle: true, MaxDelay: 10 * time.Second}})
	ok := politeness.Outcome{Status: 200, Latency: 100 * time.Millisecond}
	if got := p.Pace(ctx, "h", ok, now); got.Gap != 25*time.Millisecond || got.Limit != 4 {
		t.Fatalf("latency 100ms over 4 slots: %+v, want a 25ms gap", got)
	}
	got := p.Pace(ctx, "h", politeness.Outcome{Status: 429, Latency: 10 * time.Millisecond}, now)
	if got.Gap < time.Second {
		t.Fatalf("429 did not slow the host: %+v", got)
	}
	slow := got.Gap
	got = p.Pace(ctx, "h", politeness.Outcome{Status: 500, Latency: time.Millisecond}, now)
	if got.Gap < slow {
		t.Errorf("an error response sped the host up: %v -> %v", slow, got.Gap)
	}
	// Recovery is gradual: halfway towards the target each success.
	got = p.Pace(ctx, "h", ok, now)
	if got.Gap >= slow || got.Gap <= slow/4 {
		t.Errorf("recovery from %v went to %v, want about half", slow, got.Gap)
	}
}

func TestCircuitBreaker(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	p := politeness.New(politeness.Options{BreakAfter: 3, BreakProbe: time.Minute})
	for i := 0; i < 3; i++ {
		if v := p.Check(context.Background(), "http", "dead", "/", now); v.Action != politeness.Fetch {
			t.Fatalf("check %d before the circuit opened: %+v", i, v)
		}
		p.Pace(ctx, "dead", politeness.Outcome{Status: 0}, now)
	}
	if v := p.Check(context.Background(), "http", "dead", "/", now); v.Action != politeness.Fail {
		t.Fatalf("after 3 failures: %+v, want Fail", v)
	}
	if _, down := p.Down(ctx, now)["dead"]; !down {
		t.Error("host not reported down")
	}
	// After BreakProbe one URL goes through; an answer closes the circuit.
	later := now.Add(2 * time.Minute)
	if v := p.Check(context.Background(), "http", "dead", "/", later); v.Action != politeness.Fetch {
		t.Fatalf("probe: %+v", v)
	}
	if v := p.Check(context.Background(), "http", "dead", "/", later); v.Action != politeness.Fail {
		t.Fatalf("second URL during the probe: %+v, want Fail", v)
	}
	p.Pace(ctx, "dead", politeness.Outcome{Status: 200}, later)
	if v := p.Check(context.Background(), "http", "dead", "/", later); v.Action != politeness.Fetch || len(p.Down(ctx, later)) != 0 {
		t.Fatalf("after a good answer: %+v", v)
	}
}

// A run of quick 404s is no reason to stay slow: the gap comes down as it
// does after 200s.
func TestAutoThrottleRecoversOn4xx(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	p := politeness.New(politeness.Options{Config: politeness.Config{PerHost: 2, AutoThrottle: true, MaxDelay: 10 * time.Second}})
	got := p.Pace(ctx, "h", politeness.Outcome{Status: 503, Latency: time.Millisecond}, now)
	slow := got.Gap
	for range 20 {
		got = p.Pace(ctx, "h", politeness.Outcome{Status: 404, Latency: 2 * time.Millisecond}, now)
	}
	if got.Gap > slow/100 {
		t.Errorf("after 20 quick 404s the gap is %v (from %v): it never recovers", got.Gap, slow)
	}
}
