package export

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"

	"github.com/trawl-dev/trawl/store"
)

// A ChangeLine is one line of the change feed: what a pass found for one
// URL.
type ChangeLine struct {
	URL            string         `json:"url"`
	Change         store.Change   `json:"change"`
	Pass           int            `json:"pass"`
	Status         int            `json:"status"` // as the server answered: 304 for a revisit it found not modified
	SHA256         string         `json:"sha256"`
	PreviousSHA256 string         `json:"previous_sha256"`
	FetchedAt      string         `json:"fetched_at"`
	WARC           *store.WARCRef `json:"warc,omitempty"`
}

// Change returns r's line of the change feed.
func Change(r *store.Record) ChangeLine {
	l := ChangeLine{URL: r.URL, Change: r.Kind(), Pass: r.PassOf(), Status: r.Status, SHA256: r.SHA256,
		PreviousSHA256: r.PreviousSHA256, FetchedAt: r.FetchedAt.Format("2006-01-02T15:04:05.000Z07:00"), WARC: r.WARC}
	if r.NotModified {
		l.Status = http.StatusNotModified
	}
	if l.Change == store.ChangeUnchanged {
		l.PreviousSHA256 = r.SHA256
	}
	return l
}

// Changes writes the change feed of pass (see Store.Versions): one JSON
// object a line for each URL the pass visited. It returns how many lines
// it wrote.
func Changes(w io.Writer, s *store.Store, pass int) (int, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	n := 0
	err := s.Versions(pass, func(r *store.Record) error {
		n++
		return enc.Encode(Change(r))
	})
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}
