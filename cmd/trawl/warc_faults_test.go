package main

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// noisySite serves pages 0 … n-1 of about 8 KB that do not compress (a
// WARC of them grows as fast as they arrive), each linking to five more;
// it counts requests.
func noisySite(n int, hits *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		var i int
		fmt.Sscanf(r.URL.Path, "/%d", &i)
		w.Header().Set("Content-Type", "text/html")
		for c := i*5 + 1; c <= i*5+5 && c < n; c++ {
			fmt.Fprintf(w, `<a href="/%d">%d</a>`, c, c)
		}
		noise := make([]byte, 4000)
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		for k := range noise {
			noise[k] = byte(rng.Uint32())
		}
		fmt.Fprintf(w, "<p>%s</p>", hex.EncodeToString(noise))
		time.Sleep(time.Millisecond)
	})
}

// checkArchived reads the WARC files in dir with warcio and fails t when a
// page the job holds has no response record, or a file is left .open.
func checkArchived(t *testing.T, dir, job string) {
	t.Helper()
	if open, _ := filepath.Glob(filepath.Join(dir, "*.open")); len(open) > 0 {
		t.Errorf("files left open: %v", open)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.warc.gz"))
	archived := warcioRecords(t, files)
	stored := storedURLs(t, job)
	for u := range stored {
		if len(archived[u]) == 0 {
			t.Errorf("%s is in the job but in no WARC record", u)
		}
	}
	if len(stored) == 0 {
		t.Error("nothing stored")
	}
}

// WARC files on a disk that fills up: the crawl stops with the disk's
// error (exit 1), and once there is room again the same command resumes
// it; every page the job holds is in a WARC record, and no file is left
// .open. Needs root, to mount a small tmpfs.
func TestWARCFullDisk(t *testing.T) {
	warcio(t)
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (needs root): %v %s", err, out)
	}
	defer exec.Command("umount", mnt).Run()
	var hits atomic.Int64
	srv := httptest.NewServer(noisySite(400, &hits))
	defer srv.Close()
	dir := t.TempDir()
	job, warcs := filepath.Join(dir, "j.db"), filepath.Join(mnt, "w")
	args := []string{"crawl", "--job", job, "--warc", warcs, srv.URL + "/"}
	r := trawl(t, dir, "", args...)
	if r.code != 1 || !strings.Contains(r.stderr, "no space left on device") {
		t.Fatalf("a full disk: exit %d, want 1 saying so\n%s", r.code, r.stderr)
	}
	if out, err := exec.Command("mount", "-o", "remount,size=32m", mnt).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, out)
	}
	if r := trawl(t, dir, "", args...); r.code != 0 {
		t.Fatalf("resume with room: exit %d\n%s", r.code, r.stderr)
	}
	if n := len(storedURLs(t, job)); n != 400 {
		t.Errorf("%d pages after the resume, want 400", n)
	}
	checkArchived(t, warcs, job)
}

// kill -9 while WARC files rotate every 256 KB, five times over: each
// resume mends the file that was open, and at the end every page the job
// holds is in a WARC record.
func TestWARCKillDuringRotation(t *testing.T) {
	warcio(t)
	var hits atomic.Int64
	srv := httptest.NewServer(noisySite(600, &hits))
	defer srv.Close()
	dir := t.TempDir()
	job, warcs := filepath.Join(dir, "j.db"), filepath.Join(dir, "w")
	args := []string{"crawl", "--job", job, "--warc", warcs, "--warc-max-size", "256KB", "-c", "4", srv.URL + "/"}
	for k := 1; k <= 5; k++ {
		at := hits.Load() + 80
		killWhen(t, dir, "", args, func() bool { return hits.Load() >= at })
		if hits.Load() >= 600 {
			t.Fatalf("the crawl finished before kill %d", k)
		}
	}
	if r := trawl(t, dir, "", args...); r.code != 0 {
		t.Fatalf("resume: exit %d\n%s", r.code, r.stderr)
	}
	if files, _ := filepath.Glob(filepath.Join(warcs, "*.warc.gz")); len(files) < 10 {
		t.Errorf("%d WARC files: the files did not rotate as often as meant", len(files))
	}
	if n := len(storedURLs(t, job)); n != 600 {
		t.Errorf("%d pages after the resume, want 600", n)
	}
	checkArchived(t, warcs, job)
}
