package render

import (
	"container/list"
	"net/http"
	"sync"

	"golang.org/x/sync/singleflight"
)

// An answer is a sub-resource's response as the browser is given it.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a *answer) size() int64 { return int64(len(a.body)) + 512 }

// cache keeps the sub-resources a crawl fetched, by URL, up to a number
// of bytes, the least recently used going first. Loads of one URL at once
// are made once.
type cache struct {
	max   int64
	mu    sync.Mutex
	size  int64
	byURL map[string]*list.Element // of *entry
	lru   list.List
	once  singleflight.Group
}

type entry struct {
	url string
	a   *answer
}

func newCache(max int64) *cache { return &cache{max: max, byURL: map[string]*list.Element{}} }

// get returns url's answer, from the cache or from load (once for all who
// ask at the same time), and whether it was not loaded for this call. A
// failed load is not kept.
func (c *cache) get(url string, load func() (*answer, error)) (a *answer, cached bool, err error) {
	if a := c.lookup(url); a != nil {
		return a, true, nil
	}
	v, err, shared := c.once.Do(url, func() (any, error) {
		a, err := load()
		if err == nil {
			c.put(url, a)
		}
		return a, err
	})
	a, _ = v.(*answer)
	return a, shared, err
}

func (c *cache) lookup(url string) *answer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byURL[url]; ok {
		c.lru.MoveToFront(el)
		return el.Value.(*entry).a
	}
	return nil
}

func (c *cache) put(url string, a *answer) {
	if a.size() > c.max/4 {
		return // one answer may not push out most of the others
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byURL[url]; ok {
		return
	}
	c.byURL[url] = c.lru.PushFront(&entry{url: url, a: a})
	c.size += a.size()
	for c.size > c.max {
		last := c.lru.Back()
		e := last.Value.(*entry)
		c.lru.Remove(last)
		delete(c.byURL, e.url)
		c.size -= e.a.size()
	}
}
