package boltstate

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/internal/jobfile"
	"github.com/trawl-dev/trawl/politeness"
)

// A robots.txt put is read back at once, though it reaches the job file
// only with its next commit, and is there when the job is opened again.
func TestRobotsWrittenWithNextCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	f, err := jobfile.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s := New(f)
	want := politeness.Robots{FetchedAt: time.Now().UTC().Truncate(time.Second), Status: 200, Body: "User-agent: *\nDisallow: /x\n"}
	if err := s.PutRobots(ctx, "h.example", want); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := s.Robots(ctx, "h.example"); err != nil || !ok || got != want {
		t.Fatalf("before a commit: %+v, %v, %v; want %+v", got, ok, err, want)
	}
	if err := f.Update(func(*jobfile.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if len(s.pending) != 0 {
		t.Fatalf("%d robots.txt still pending after a commit", len(s.pending))
	}
	if got, ok, _ := s.Robots(ctx, "h.example"); !ok || got != want {
		t.Fatalf("after a commit: %+v, %v", got, ok)
	}
	f.Close()
	f, err = jobfile.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, ok, _ := New(f).Robots(ctx, "h.example"); !ok || got != want {
		t.Fatalf("after a reopen: %+v, %v", got, ok)
	}
}
