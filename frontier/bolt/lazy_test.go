package bolt

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/internal/jobfile"
)

// Opening a frontier, and adding nothing to it, reads none of the
// seen-set; the first Add reads it whole, and dedups against it.
func TestSeenReadAtFirstAdd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "job.db")
	f, err := jobfile.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	fr, err := Open(f, frontier.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if n, err := fr.Add(ctx, []frontier.Request{{URL: "http://h/a"}, {URL: "http://h/b"}}); n != 2 || err != nil {
		t.Fatalf("add: %d %v", n, err)
	}
	f.Close()

	if f, err = jobfile.Open(path, nil); err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fr, err = Open(f, frontier.Options{}); err != nil {
		t.Fatal(err)
	}
	if n, err := fr.Add(ctx, nil); n != 0 || err != nil || fr.seen != nil {
		t.Fatalf("empty add: %d %v, seen-set read: %v", n, err, fr.seen != nil)
	}
	if n, err := fr.Add(ctx, []frontier.Request{{URL: "http://h/a"}, {URL: "http://h/c"}}); n != 1 || err != nil || fr.seen.Len() != 3 {
		t.Fatalf("add after reopen: %d new (want 1), %v, %d seen (want 3)", n, err, fr.seen.Len())
	}
}
