package export

import (
	"bufio"
	"encoding/json"
	"io"

	"github.com/trawl-dev/trawl/store"
)

// A PageReport says how completely one archived page was archived: its
// requisites (what it needs to render) by what became of them.
type PageReport struct {
	URL        string   `json:"url"`
	Title      string   `json:"title,omitempty"`
	Requisites int      `json:"requisites"`
	Archived   int      `json:"archived"`          // fetched and archived
	Failed     int      `json:"failed"`            // no answer, an error or a 4xx/5xx
	Robots     int      `json:"robots"`            // refused by robots.txt
	NotFetched int      `json:"not_fetched"`       // never asked for (no --requisites, or another rule kept them out)
	Missing    []string `json:"missing,omitempty"` // the first of those not archived
}

// maxMissing is how many requisites not archived a report names.
const maxMissing = 10

// Pages writes one PageReport a line for each archived page of s (a 2xx
// HTML page that is not a requisite, with a WARC record); requisites
// returns the canonical URLs a page needs, from its record and body, and
// find the record of one (nil: none). It returns how many pages it
// reported.
func Pages(w io.Writer, s *store.Store, requisites func(*store.Record, []byte) []string, find func(url string) (*store.Record, error)) (int, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	n := 0
	var pages []*store.Record
	err := s.Each(func(r *store.Record) error {
		if archivedPage(r) {
			pages = append(pages, r)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, r := range pages {
		body, err := s.Body(r)
		if err != nil {
			return n, err
		}
		rep := PageReport{URL: r.FinalURL, Title: title(body)}
		for _, u := range requisites(r, body) {
			rep.Requisites++
			req, err := find(u)
			if err != nil {
				return n, err
			}
			switch {
			case req == nil:
				rep.NotFetched++
			case req.Skipped == store.SkipRobots:
				rep.Robots++
			case req.Failed():
				rep.Failed++
			case req.WARC != nil:
				rep.Archived++
				continue
			default:
				rep.NotFetched++
			}
			if len(rep.Missing) < maxMissing {
				rep.Missing = append(rep.Missing, u)
			}
		}
		if err := enc.Encode(&rep); err != nil {
			return n, err
		}
		n++
	}
	return n, bw.Flush()
}
