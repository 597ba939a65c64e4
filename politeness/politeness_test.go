package politeness_test

import (
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
	now := time.Now()
	p := politeness.New(4, 0)
	if got := p.Pace("h", politeness.Outcome{Status: 200}, now); got.Limit != 4 || got.Gap != 0 || !got.NotBefore.IsZero() {
		t.Errorf("no delay: %+v", got)
	}
	if got := p.Pace("h", politeness.Outcome{Status: 429, RetryAfter: 3 * time.Second}, now); !got.NotBefore.Equal(now.Add(3 * time.Second)) {
		t.Errorf("Retry-After not applied to the host: %+v", got)
	}
	p.SetCrawlDelay("slow", 2*time.Second)
	if got := p.Pace("slow", politeness.Outcome{Status: 200}, now); got.Gap != 2*time.Second || got.Limit != 1 {
		t.Errorf("crawl-delay: %+v, want a 2s gap one at a time", got)
	}
	if got := politeness.New(2, time.Second).Initial(); got.Gap != time.Second || got.Limit != 1 {
		t.Errorf("initial pace with delay: %+v", got)
	}
}
