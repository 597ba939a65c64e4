package crawler

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/store"
)

// A Failure is a URL that failed: no answer, an error, or a 4xx/5xx status.
type Failure struct {
	URL    string
	Status int
	Error  string
}

const maxFailures = 20

// Progress is a snapshot of a running job.
type Progress struct {
	Stored        int   // pages saved this run
	Total         int   // pages in the job, earlier runs included
	Failed        int   // saved this run with an error or a 4xx/5xx status
	Skipped       int   // saved this run unfetched: robots.txt disallows them, or their host's budget is spent
	Bytes         int64 // body bytes saved this run
	Received      int64 // download bytes received this run, of files not yet finished too
	Queued        int   // URLs waiting
	Leased        int   // URLs being fetched or saved
	Hosts         int   // hosts with work
	Offsite       int   // links outside the scope, not followed
	Traps         int   // links not followed as spider traps (see scope.MaxPathSegments)
	Budget        int   // links not followed as their host's budget is spent (MaxPerHost)
	Items         int   // items extracted and saved this run
	ExtractErrors int   // pages saved this run whose extraction failed, in part or whole
	LostLeases    int   // leases that expired before their result was saved (fetched again, or by another process)
}

// Summary tells what one Run did.
type Summary struct {
	Progress
	Elapsed    time.Duration
	ByStatus   map[int]int    // records of URLs fetched this run, by HTTP status (0: no answer); skipped ones are in Skipped
	Errors     map[string]int // records saved this run, by error
	Retries    int            // attempts after the first, in all
	Duplicates int            // links dropped as already seen
	MaxDepth   int
	DownHosts  []string  // hosts whose circuit was open at the end
	Failures   []Failure // the first failed URLs of the run (at most 20)
	Reason     Reason    // why the run ended
	// Archived and Revisits count the responses written to WARC files this
	// run, and how many of them as revisits of a payload archived before.
	Archived, Revisits int64
}

// PagesPerSecond is the rate of pages saved this run.
func (s *Summary) PagesPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Stored) / s.Elapsed.Seconds()
}

// stats counts what a run did, for its progress and its summary. It is
// safe for concurrent use.
type stats struct {
	mu          sync.Mutex
	atStart     int // pages the job held when the run started
	byStatus    map[int]int
	errs        map[string]int
	stored      int
	failed      int
	skipped     int
	bytes       int64
	retries     int
	offsite     int
	traps       int
	items       int
	extractErrs int
	maxDepth    int
	lost        int
	failures    []Failure
}

func newStats(atStart int) *stats {
	return &stats{atStart: atStart, byStatus: make(map[int]int), errs: make(map[string]int)}
}

// dropped counts links not followed.
func (s *stats) dropped(offsite, traps int) {
	if offsite == 0 && traps == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offsite += offsite
	s.traps += traps
}

// saved counts committed pages, and lost the leases among them that had
// expired.
func (s *stats) saved(pages []*store.Page, lost int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lost += lost
	for _, p := range pages {
		rec := &p.Record
		s.stored++
		s.bytes += rec.Length
		if rec.Skipped == "" { // a URL not fetched on purpose has no status
			s.byStatus[rec.Status]++
		}
		s.retries += max(rec.Attempts-1, 0)
		s.maxDepth = max(s.maxDepth, rec.Depth)
		if rec.Skipped != "" {
			s.skipped++
		}
		if rec.Failed() {
			s.failed++
			if rec.Error != "" {
				s.errs[store.ErrorKind(rec.Error)]++
			}
			if len(s.failures) < maxFailures {
				s.failures = append(s.failures, Failure{URL: rec.URL, Status: rec.Status, Error: rec.Error})
			}
		}
		s.items += rec.Items
		if rec.ExtractError != "" {
			s.extractErrs++
		}
	}
}

// progress returns the counts with the frontier's and the fetcher's.
func (s *stats) progress(fs frontier.Stats, received int64) Progress {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Progress{
		Stored:        s.stored,
		Total:         s.atStart + s.stored,
		Failed:        s.failed,
		Skipped:       s.skipped,
		Bytes:         s.bytes,
		Received:      received,
		Queued:        fs.Queued,
		Leased:        fs.Leased,
		Hosts:         fs.Hosts,
		Offsite:       s.offsite,
		Traps:         s.traps,
		Budget:        fs.OverBudget,
		Items:         s.items,
		ExtractErrors: s.extractErrs,
		LostLeases:    s.lost,
	}
}

// summary returns the run's summary; total is the job's count of distinct
// URLs, down the hosts whose circuit is open.
func (s *stats) summary(p Progress, fs frontier.Stats, elapsed time.Duration, total int, down map[string]time.Duration) *Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	if total >= 0 {
		p.Total = total // distinct URLs: a page fetched again counts once
	}
	sum := &Summary{
		Progress:   p,
		Elapsed:    elapsed,
		ByStatus:   maps.Clone(s.byStatus),
		Errors:     maps.Clone(s.errs),
		Retries:    s.retries,
		Duplicates: fs.Filtered,
		MaxDepth:   s.maxDepth,
		Failures:   slices.Clone(s.failures),
		DownHosts:  slices.Sorted(maps.Keys(down)),
	}
	return sum
}
