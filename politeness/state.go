package politeness

import (
	"context"
	"sync"
	"time"
)

// State is where a Policy keeps what it learns of hosts: their robots.txt
// files, crawl-delay, auto-throttle gap and circuit breaker. Policies in
// several processes that share one State (kept in Redis, say) keep one
// politeness for all of them. Implementations are safe for concurrent use.
type State interface {
	// Robots returns the robots.txt cached for host, if any.
	Robots(ctx context.Context, host string) (Robots, bool, error)
	// PutRobots caches host's robots.txt.
	PutRobots(ctx context.Context, host string, r Robots) error
	// UpdateHost applies fn (when not nil) to host's state atomically and
	// returns the result. fn must be quick and must not call the State.
	UpdateHost(ctx context.Context, host string, fn func(*Host)) (Host, error)
	// Down returns the hosts whose circuit is open, with when it opened.
	Down(ctx context.Context) (map[string]time.Time, error)
}

// Robots is a robots.txt answer as cached.
type Robots struct {
	FetchedAt time.Time `json:"fetched_at"`
	Status    int       `json:"status"`
	Body      string    `json:"body"`
}

// Host is what a Policy learned of one host.
type Host struct {
	CrawlDelay time.Duration // from robots.txt
	Auto       time.Duration // auto-throttle gap
	Failures   int           // consecutive URLs with no answer
	OpenAt     time.Time     // when the circuit opened; zero when closed
	ProbeAt    time.Time     // next time a URL may go through an open circuit
}

// MemoryState is a State in memory, for one process.
type MemoryState struct {
	mu     sync.Mutex
	hosts  map[string]*Host
	robots map[string]Robots
}

// NewMemoryState returns an empty MemoryState.
func NewMemoryState() *MemoryState {
	return &MemoryState{hosts: make(map[string]*Host), robots: make(map[string]Robots)}
}

// Robots implements State.
func (m *MemoryState) Robots(_ context.Context, host string) (Robots, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.robots[host]
	return r, ok, nil
}

// PutRobots implements State.
func (m *MemoryState) PutRobots(_ context.Context, host string, r Robots) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.robots[host] = r
	return nil
}

// UpdateHost implements State.
func (m *MemoryState) UpdateHost(_ context.Context, host string, fn func(*Host)) (Host, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.hosts[host]
	if h == nil {
		if fn == nil {
			return Host{}, nil
		}
		h = &Host{}
		m.hosts[host] = h
	}
	if fn != nil {
		fn(h)
	}
	return *h, nil
}

// Down implements State.
func (m *MemoryState) Down(context.Context) (map[string]time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	down := map[string]time.Time{}
	for name, h := range m.hosts {
		if !h.OpenAt.IsZero() {
			down[name] = h.OpenAt
		}
	}
	return down, nil
}
