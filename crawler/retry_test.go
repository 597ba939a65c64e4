package crawler

import (
	"testing"

	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/store"
)

// --retry-failed decides by a record's error kind; a record of a job
// written before kinds were kept is judged by its error's text.
func TestRetryable(t *testing.T) {
	tooLarge := fetch.Describe(fetch.ErrTooLarge, 0)
	for _, c := range []struct {
		rec  store.Record
		want bool
	}{
		{store.Record{Status: 0, Error: "connection refused", ErrorKind: string(fetch.KindRefused)}, true},
		{store.Record{Status: 503, Error: "HTTP 503"}, true},
		{store.Record{Status: 404}, false},
		{store.Record{Status: 200, Error: "unexpected EOF", ErrorKind: string(fetch.KindTruncated)}, true},
		{store.Record{Status: 200, Error: tooLarge, ErrorKind: string(fetch.KindTooLarge)}, false},
		// The kind decides, whatever the words say.
		{store.Record{Status: 200, Error: "cut short", ErrorKind: string(fetch.KindTooLarge)}, false},
		{store.Record{Status: 200, Error: tooLarge + " (words only)", ErrorKind: string(fetch.KindTruncated)}, true},
		// Written before kinds were kept: the words decide.
		{store.Record{Status: 200, Error: tooLarge}, false},
		{store.Record{Status: 200, Error: "unexpected EOF"}, true},
		{store.Record{Status: 0, Skipped: store.SkipRobots}, false},
	} {
		if got := c.rec.Retryable(); got != c.want {
			t.Errorf("%+v: retryable %v, want %v", c.rec, got, c.want)
		}
	}
}
