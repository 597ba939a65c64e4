package testsite

import (
	"maps"
	"sync"
)

// Counter counts requests by path. Its zero value is ready; it is safe for
// concurrent use.
type Counter struct {
	mu sync.Mutex
	m  map[string]int
}

// Add counts one request for path.
func (c *Counter) Add(path string) {
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[string]int)
	}
	c.m[path]++
	c.mu.Unlock()
}

// Hits returns how many requests each path received so far.
func (c *Counter) Hits() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.m)
}

// Get returns how many requests path received.
func (c *Counter) Get(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[path]
}

// Total returns how many requests were counted.
func (c *Counter) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.m {
		n += v
	}
	return n
}

// Reset forgets every count.
func (c *Counter) Reset() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}
