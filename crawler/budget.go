package crawler

import (
	"sync"

	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/store"
)

// budget caps the pages fetched from one host (Config.MaxPerHost). Links
// past the cap are not queued; a URL queued before the cap was reached (in
// an earlier run, say) is saved unfetched, marked skipped "host-budget", so
// no host gets more than its budget over any number of runs.
type budget struct {
	max int

	mu       sync.Mutex
	admitted map[string]map[string]struct{} // per host: URLs queued this run or fetched before it
	fetched  map[string]int                 // per host: fetches started, this run and before it
}

// newBudget counts the pages st already holds per host. It returns nil
// when max is 0, and a nil budget allows everything.
func newBudget(max int, st *store.Store) (*budget, error) {
	if max == 0 {
		return nil, nil
	}
	b := &budget{max: max, admitted: make(map[string]map[string]struct{}), fetched: make(map[string]int)}
	err := st.Each(func(r *store.Record) error {
		if r.Skipped == "" {
			h := frontier.Host(r.URL)
			b.fetched[h]++
			b.add(h, r.URL)
		}
		return nil
	})
	return b, err
}

// admit reports whether the link u may be queued, and counts it if so. A
// link admitted before is admitted again and not counted, so that links
// to one page from many pages use one unit of budget. (The set of links
// remembered per host is at most max long.)
func (b *budget) admit(u string) bool {
	if b == nil {
		return true
	}
	h := frontier.Host(u)
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.admitted[h][u]; ok {
		return true
	}
	if len(b.admitted[h]) >= b.max {
		return false
	}
	b.add(h, u)
	return true
}

// add counts u as admitted; b.mu must be held.
func (b *budget) add(h, u string) {
	set := b.admitted[h]
	if set == nil {
		set = make(map[string]struct{})
		b.admitted[h] = set
	}
	set[u] = struct{}{}
}

// seed remembers u, added as a seed or from a list, so that links to it
// are not counted: it takes its budget when fetched.
func (b *budget) seed(u string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.admitted[frontier.Host(u)]) < b.max {
		b.add(frontier.Host(u), u)
	}
}

// take reports whether a page of host may be fetched, and counts it if so.
func (b *budget) take(host string) bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fetched[host] >= b.max {
		return false
	}
	b.fetched[host]++
	return true
}
