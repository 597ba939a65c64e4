package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"

	"github.com/trawl-dev/trawl/frontier/bolt"
	"github.com/trawl-dev/trawl/internal/units"
	"github.com/trawl-dev/trawl/store"
)

// statsReport is what trawl stats says of a job, printed as text or, with
// --json, as one JSON object.
type statsReport struct {
	Job             string             `json:"job"`
	Records         int                `json:"records"`
	Queued          int                `json:"queued"`
	Unindexed       int                `json:"unindexed"`
	Bytes           int64              `json:"bytes"`
	ByStatus        map[string]int     `json:"by_status"`
	Skipped         map[store.Skip]int `json:"skipped"`
	Hosts           int                `json:"hosts"`
	Errors          map[string]int     `json:"errors"`
	Attempts        int                `json:"attempts"`
	First           string             `json:"first"`
	Last            string             `json:"last"`
	Span            float64            `json:"span_s"`
	Failed          int                `json:"failed"`
	Failures        []failure          `json:"failures"`
	Items           map[string]int     `json:"items"`
	ExtractErrors   map[string]int     `json:"extract_errors"`
	ItemsIncomplete bool               `json:"items_incomplete"`
	// Passes counts each pass's URLs by change ("1": {"new": …}); only
	// for a job crawled again (--recrawl).
	Passes map[string]map[store.Change]int `json:"passes,omitempty"`

	status   map[int]int    // ByStatus with its codes as numbers
	topHosts map[string]int // records by host
}

// A failure is one failed URL of a report.
type failure struct {
	URL    string `json:"url"`
	Status int    `json:"status"`
	Error  string `json:"error,omitempty"`
}

// newStatsReport reads the report of the job in st.
func newStatsReport(st *store.Store) (*statsReport, error) {
	s, err := st.Summarize()
	if err != nil {
		return nil, err
	}
	r := &statsReport{Job: st.Path(), Records: s.Records, Bytes: s.Bytes, Skipped: s.Skipped, Hosts: len(s.Hosts),
		Errors: s.Errors, Attempts: s.Attempts, First: s.First, Last: s.Last, Span: s.Span, Failed: s.Failed,
		Items: s.Items, ExtractErrors: s.ExtractErrors, status: s.ByStatus, topHosts: s.Hosts,
		ByStatus: make(map[string]int, len(s.ByStatus)), Failures: make([]failure, 0, len(s.Failures))}
	for k, v := range s.ByStatus {
		r.ByStatus[strconv.Itoa(k)] = v
	}
	for _, f := range s.Failures {
		r.Failures = append(r.Failures, failure{f.URL, f.Status, f.Error})
	}
	if r.Queued, err = bolt.Queued(st.File()); err != nil {
		return nil, err
	}
	if r.Unindexed, err = st.Unindexed(); err != nil {
		return nil, err
	}
	if r.ItemsIncomplete, err = st.ItemsIncomplete(); err != nil {
		return nil, err
	}
	passes, err := st.PassCounts()
	if err != nil {
		return nil, err
	}
	if len(passes) > 1 {
		r.Passes = make(map[string]map[store.Change]int, len(passes))
		for p, c := range passes {
			r.Passes[strconv.Itoa(p)] = c
		}
	}
	return r, nil
}

func (r *statsReport) json(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func (r *statsReport) text(w io.Writer) {
	if r.ItemsIncomplete {
		fmt.Fprintf(w, "warning   the items are incomplete: a 'trawl extract' on %s was interrupted; run it again\n", r.Job)
	}
	fmt.Fprintf(w, "job       %s\n", r.Job)
	fmt.Fprintf(w, "records   %d (%d URLs still queued)\n", r.Records, r.Queued)
	if r.Unindexed > 0 {
		fmt.Fprintf(w, "index     %d pages saved by a run that stopped are not indexed yet: a URL saved twice among them counts twice until the next run indexes them\n", r.Unindexed)
	}
	fmt.Fprintf(w, "bytes     %s (%d)\n", units.FormatSize(r.Bytes), r.Bytes)
	for _, k := range slices.Sorted(maps.Keys(r.status)) {
		fmt.Fprintf(w, "status    %-9s %d\n", statusLabel(k), r.status[k])
	}
	for _, why := range slices.Sorted(maps.Keys(r.Skipped)) {
		fmt.Fprintf(w, "skipped   %-9s %d\n", why, r.Skipped[why])
	}
	fmt.Fprintf(w, "hosts     %d\n", r.Hosts)
	for _, h := range top(r.topHosts, 10) {
		fmt.Fprintf(w, "  %-40s %d\n", h, r.topHosts[h])
	}
	for p := 1; r.Passes[strconv.Itoa(p)] != nil; p++ {
		fmt.Fprintf(w, "pass %-4d %s\n", p, changeCounts(r.Passes[strconv.Itoa(p)]))
	}
	r.textFailures(w)
	if r.Records > 0 {
		fmt.Fprintf(w, "attempts  %d (%.2f a record)\n", r.Attempts, float64(r.Attempts)/float64(r.Records))
		fmt.Fprintf(w, "time      %s to %s (%.1fs)\n", r.First, r.Last, r.Span)
		if r.Span > 0 {
			fmt.Fprintf(w, "rate      %.1f records/s\n", float64(r.Records)/r.Span)
		}
	}
}

// textFailures writes the errors, failed URLs, items and extraction
// errors.
func (r *statsReport) textFailures(w io.Writer) {
	if len(r.Errors) > 0 {
		fmt.Fprintf(w, "errors    %d kinds\n", len(r.Errors))
		for _, e := range top(r.Errors, 10) {
			fmt.Fprintf(w, "  %6d  %s\n", r.Errors[e], e)
		}
	}
	if r.Failed > 0 {
		fmt.Fprintf(w, "failed    %d URLs; the first %d:\n", r.Failed, len(r.Failures))
		for _, f := range r.Failures {
			fmt.Fprintf(w, "  %s  %s\n", f.URL, failureText(f.Status, f.Error))
		}
	}
	if len(r.Items) > 0 {
		fmt.Fprintf(w, "items     %d\n", total(r.Items))
		printCounts(w, "  ", r.Items)
	}
	if len(r.ExtractErrors) > 0 {
		fmt.Fprintf(w, "extraction errors  %d pages\n", total(r.ExtractErrors))
		for _, e := range top(r.ExtractErrors, 10) {
			fmt.Fprintf(w, "  %6d  %s\n", r.ExtractErrors[e], e)
		}
	}
}

// statusLabel names an HTTP status of a count: 0 is no answer.
func statusLabel(code int) string {
	if code == 0 {
		return "no answer"
	}
	return strconv.Itoa(code)
}
