package store

import (
	"fmt"
	"net/url"
	"unicode/utf8"
)

// Summary is a job's overall counts, as "trawl stats" prints them.
type Summary struct {
	Records  int
	Bytes    int64
	ByStatus map[int]int  // records of fetched URLs, by status (0: no answer)
	Skipped  map[Skip]int // records of URLs not fetched on purpose, by why
	Hosts    map[string]int
	Errors   map[string]int
	Attempts int
	First    string // RFC 3339 time of the earliest fetch
	Last     string // RFC 3339 time of the latest fetch
	Span     float64

	Failed   int       // records that Failed
	Failures []*Record // the first 20 of them

	Items         map[string]int // items by type
	ExtractErrors map[string]int // pages whose extraction failed, by error
}

// Summarize reads every record and counts them.
func (s *Store) Summarize() (*Summary, error) {
	if sum, ok, err := s.summaryFromTallies(); ok || err != nil {
		return sum, err
	}
	return s.scanSummary()
}

// scanSummary makes the Summary by reading every record.
func (s *Store) scanSummary() (*Summary, error) {
	sum := &Summary{ByStatus: map[int]int{}, Skipped: map[Skip]int{}, Hosts: map[string]int{}, Errors: map[string]int{},
		Items: map[string]int{}, ExtractErrors: map[string]int{}}
	var first, last = "", ""
	var firstT, lastT int64
	err := s.Each(func(r *Record) error {
		sum.Records++
		sum.Bytes += r.Length
		if r.Skipped != "" {
			sum.Skipped[r.Skipped]++
		} else {
			sum.ByStatus[r.Status]++
		}
		sum.Attempts += r.Attempts
		if u, err := url.Parse(r.URL); err == nil {
			sum.Hosts[u.Host]++
		}
		if r.Error != "" {
			sum.Errors[ErrorKind(r.Error)]++
		}
		if r.Failed() {
			sum.Failed++
			if len(sum.Failures) < 20 {
				sum.Failures = append(sum.Failures, r)
			}
		}
		if r.ExtractError != "" {
			sum.ExtractErrors[ErrorKind(r.ExtractError)]++
		}
		t := r.FetchedAt.UnixNano()
		if first == "" || t < firstT {
			first, firstT = r.FetchedAt.Format("2006-01-02T15:04:05Z07:00"), t
		}
		if last == "" || t > lastT {
			last, lastT = r.FetchedAt.Format("2006-01-02T15:04:05Z07:00"), t
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	err = s.Items("", func(it *Item) error {
		sum.Items[it.Type]++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	sum.First, sum.Last = first, last
	sum.Span = float64(lastT-firstT) / 1e9
	return sum, nil
}

// ErrorKind shortens an error message to a key for counting errors: its
// first 60 bytes, cut on a rune boundary.
func ErrorKind(msg string) string {
	n := 60
	if len(msg) <= n {
		return msg
	}
	for n > 0 && !utf8.RuneStart(msg[n]) {
		n--
	}
	return msg[:n]
}
