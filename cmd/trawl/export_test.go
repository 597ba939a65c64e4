package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An export whose output is the job it reads (by name, through a symlink
// or a hard link) is refused before anything is opened for writing, and a
// failed export leaves the file it would have replaced as it was.
func TestExportNeverOverwritesItsJob(t *testing.T) {
	dir := t.TempDir()
	if r := trawl(t, dir, "", "demo", "--pages", "20", "--job", "site.db"); r.code != 0 {
		t.Fatalf("demo: exit %d\n%s", r.code, r.stderr)
	}
	job := filepath.Join(dir, "site.db")
	before := sha(t, job)
	os.Symlink("site.db", filepath.Join(dir, "link.db"))
	os.Link(job, filepath.Join(dir, "hard.db"))
	for _, out := range []string{"site.db", "link.db", "hard.db", "./site.db"} {
		r := trawl(t, dir, "", "export", "-o", out, "site.db")
		if r.code != exitUsage || !strings.Contains(r.stderr, "is the job") {
			t.Errorf("export -o %s site.db: exit %d, %q", out, r.code, r.stderr)
		}
	}
	if sha(t, job) != before {
		t.Fatal("the job file was changed")
	}
	// A good export replaced by one that fails keeps the good one.
	if r := trawl(t, dir, "", "export", "-o", "out.jsonl", "site.db"); r.code != 0 {
		t.Fatalf("export: exit %d %s", r.code, r.stderr)
	}
	good := sha(t, filepath.Join(dir, "out.jsonl"))
	if r := trawl(t, dir, "", "export", "--format", "csv", "--type", "none", "-o", "out.jsonl", "nothing.db"); r.code == 0 {
		t.Fatal("export of a missing job succeeded")
	}
	if sha(t, filepath.Join(dir, "out.jsonl")) != good {
		t.Error("a failed export changed the file it was to replace")
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, ".out.jsonl.*")); len(entries) != 0 {
		t.Errorf("temporary files left: %v", entries)
	}
	// An earlier export is replaced; a file trawl did not write is not.
	if r := trawl(t, dir, "", "export", "--no-body", "-o", "out.jsonl", "site.db"); r.code != 0 {
		t.Errorf("export over an earlier one: exit %d %s", r.code, r.stderr)
	}
	notes := filepath.Join(dir, "notes.txt")
	os.WriteFile(notes, []byte("my notes\n"), 0o644)
	if r := trawl(t, dir, "", "export", "-o", "notes.txt", "site.db"); r.code != exitUsage || !strings.Contains(r.stderr, "not an export") {
		t.Errorf("export over a user's file: exit %d, %q", r.code, r.stderr)
	}
	if data, _ := os.ReadFile(notes); string(data) != "my notes\n" {
		t.Errorf("the user's file was changed: %q", data)
	}
}
