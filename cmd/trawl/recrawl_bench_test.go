package main

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/internal/testsite"
)

// BenchmarkRecrawl crawls a site of 20,000 pages of about 40 KB of prose,
// each with an ETag and a Last-Modified, then crawls it again unchanged
// (--recrawl), and reports what the second pass cost against the first:
// body bytes the server sent (bytes-ratio), wall time (time-ratio), and
// how much the job file grew (growth). Run it with -benchtime 1x.
func BenchmarkRecrawl(b *testing.B) {
	const pages = 20000
	site := testsite.NewChanging(pages)
	site.Words, site.Validated = 6000, true
	srv := httptest.NewServer(site)
	defer srv.Close()
	for range b.N {
		dir := b.TempDir()
		job := filepath.Join(dir, "j.db")
		args := []string{"crawl", "--job", job, "--max-links", "0", "-q", srv.URL + "/"}
		site.Reset()
		start := time.Now()
		if r := runTrawl(b, dir, args...); r != 0 {
			b.Fatalf("pass 1: exit %d", r)
		}
		first := time.Since(start)
		_, _, firstBytes, _ := site.Counts()
		size1 := fileSize(b, job)
		site.Reset()
		start = time.Now()
		if r := runTrawl(b, dir, append(args, "--recrawl")...); r != 0 {
			b.Fatalf("pass 2: exit %d", r)
		}
		second := time.Since(start)
		_, notModified, secondBytes, _ := site.Counts()
		if notModified != pages {
			b.Fatalf("pass 2: %d answers 304, want %d", notModified, pages)
		}
		size2 := fileSize(b, job)
		b.ReportMetric(first.Seconds(), "pass1-s")
		b.ReportMetric(second.Seconds(), "pass2-s")
		b.ReportMetric(second.Seconds()/first.Seconds(), "time-ratio")
		b.ReportMetric(float64(secondBytes)/float64(firstBytes), "bytes-ratio")
		b.ReportMetric(float64(size2-size1)/float64(size1), "growth")
		b.ReportMetric(float64(size1)/pages, "B/page")
	}
}

// runTrawl runs the trawl binary in dir and returns its exit code.
func runTrawl(b *testing.B, dir string, args ...string) int {
	b.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	if err := cmd.Run(); err != nil {
		if cmd.ProcessState != nil {
			return cmd.ProcessState.ExitCode()
		}
		b.Fatal(err)
	}
	return 0
}

// fileSize returns the size of the job file and its blob folder.
func fileSize(b *testing.B, path string) int64 {
	b.Helper()
	var n int64
	filepath.Walk(path+".blobs", func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return n + fi.Size()
}
