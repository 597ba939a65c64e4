package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/store"
	"github.com/trawl-dev/trawl/store/layout"
)

// fileContent is the body of /f/N: 64 KiB, different for every N.
func fileContent(n int) []byte {
	b := make([]byte, 64<<10)
	r := rand.New(rand.NewPCG(uint64(n), 7))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// A 2000-URL list of 64 KiB files is downloaded whole; junk lines are
// reported with their number and the job goes on.
func TestDownloadList(t *testing.T) {
	const n = 2000
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/f/"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Write(fileContent(i))
	}))
	defer srv.Close()
	dir := t.TempDir()
	var list strings.Builder
	list.WriteString("# files\n\n")
	for i := range n {
		fmt.Fprintf(&list, "%s/f/%d\n", srv.URL, i)
		if i == 500 {
			list.WriteString("not a url\nftp://x/y\n")
		}
	}
	os.WriteFile(filepath.Join(dir, "list.txt"), []byte(list.String()), 0o644)
	r := trawl(t, dir, "", "fetch", "--job", "dl.db", "--out-dir", "out", "-c", "32", "--per-host", "32", "list.txt")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"list.txt:504: ", "list.txt:505: "} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("no report of the junk line %q in:\n%s", want, r.stderr)
		}
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	host = strings.ReplaceAll(host, ":", "_")
	for i := range n {
		got, err := os.ReadFile(filepath.Join(dir, "out", host, "f", strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, fileContent(i)) {
			t.Fatalf("file %d differs", i)
		}
	}
	st, err := store.Open(filepath.Join(dir, "dl.db"), &store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	count := 0
	st.Each(func(rec *store.Record) error {
		count++
		if rec.File == "" || rec.Length != 64<<10 || rec.Status != 200 || len(rec.SHA256) != 64 {
			t.Errorf("record %+v", rec)
		}
		return nil
	})
	if count != n {
		t.Errorf("%d records, want %d", count, n)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "out", layout.PartialDir)); len(entries) != 0 {
		t.Errorf("%d partial files left", len(entries))
	}
	if fi, _ := os.Stat(filepath.Join(dir, "dl.db")); fi.Size() > 16<<20 {
		t.Errorf("job file is %d bytes: bodies were kept in it too", fi.Size())
	}
}

// slowWriter sends what is written in small pieces, slowly.
type slowWriter struct {
	http.ResponseWriter
	sent *atomic.Int64
}

func (s slowWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), 32<<10)
		m, err := s.ResponseWriter.Write(p[:k])
		n += m
		s.sent.Add(int64(m))
		if err != nil {
			return n, err
		}
		s.ResponseWriter.(http.Flusher).Flush()
		p = p[k:]
		time.Sleep(10 * time.Millisecond)
	}
	return n, nil
}

// A download killed half-way is continued with Range on the rerun, and
// the file ends byte-identical.
func TestDownloadKillResumeRange(t *testing.T) {
	content := bytes.Repeat(fileContent(1), 64) // 4 MiB
	var sent atomic.Int64
	var mu sync.Mutex
	var ranges []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		ranges = append(ranges, r.Header.Get("Range")+"|"+r.Header.Get("If-Range"))
		mu.Unlock()
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(slowWriter{w, &sent}, r, "big.bin", time.Unix(1e9, 0), bytes.NewReader(content))
	}))
	defer srv.Close()
	dir := t.TempDir()
	args := []string{"fetch", "--job", "big.db", "--out-dir", "out", "-"}
	// Kill once half the file is on disk with its validators beside it.
	killWhen(t, dir, srv.URL+"/big.bin\n", args, func() bool {
		return partialSize(filepath.Join(dir, "out", layout.PartialDir)) >= 2<<20
	})
	cut := sent.Load()
	if cut >= int64(len(content)) {
		t.Fatal("the download finished before the kill")
	}
	final := filepath.Join(dir, "out", strings.ReplaceAll(strings.TrimPrefix(srv.URL, "http://"), ":", "_"), "big.bin")
	if _, err := os.Stat(final); err == nil {
		t.Fatal("a file is under its final name before it is complete")
	}
	r := trawl(t, dir, srv.URL+"/big.bin\n", args...)
	if r.code != 0 {
		t.Fatalf("rerun: exit %d\n%s", r.code, r.stderr)
	}
	got, err := os.ReadFile(final)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, content) {
		t.Fatalf("file of %d bytes differs from the %d sent", len(got), len(content))
	}
	// The record tells the whole file: a 200, not the 206 that ended it.
	if st, err := store.Open(filepath.Join(dir, "big.db"), &store.Options{ReadOnly: true}); err != nil {
		t.Fatal(err)
	} else {
		rec, _ := st.Get(srv.URL + "/big.bin")
		st.Close()
		if rec == nil || rec.Status != 200 || rec.Length != int64(len(content)) {
			t.Errorf("record of the resumed download: %+v; want status 200 and the whole length", rec)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ranges) != 2 || !strings.HasPrefix(ranges[1], "bytes=") || !strings.HasSuffix(ranges[1], `|"v1"`) {
		t.Fatalf("requests' Range|If-Range: %q; want a plain GET, then a Range with If-Range", ranges)
	}
	from, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(ranges[1], "bytes="), `-|"v1"`))
	t.Logf("killed after %d bytes sent; the rerun asked for bytes %d-", cut, from)
	if from < 2<<20 {
		t.Errorf("the rerun continued from byte %d, too little of the %d sent", from, cut)
	}
	// A finished file is never downloaded again.
	if r := trawl(t, dir, srv.URL+"/big.bin\n", args...); r.code != 0 || len(ranges) != 2 {
		t.Errorf("third run: exit %d, %d requests in all", r.code, len(ranges))
	}
}

// partialSize is the size of the partial download in dir that has its
// validators file, or 0.
func partialSize(dir string) int64 {
	metas, _ := filepath.Glob(filepath.Join(dir, "*.meta"))
	for _, m := range metas {
		if fi, err := os.Stat(strings.TrimSuffix(m, ".meta")); err == nil {
			return fi.Size()
		}
	}
	return 0
}

// A server that ignores Range gets a fresh download, and the file is
// still whole.
func TestDownloadRangeIgnored(t *testing.T) {
	content := bytes.Repeat(fileContent(2), 32) // 2 MiB
	var sent atomic.Int64
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Accept-Ranges", "bytes")
		slowWriter{w, &sent}.Write(content) // always 200, whole
	}))
	defer srv.Close()
	dir := t.TempDir()
	args := []string{"fetch", "--job", "j.db", "--out-dir", "out", "-"}
	killWhen(t, dir, srv.URL+"/x\n", args, func() bool { return sent.Load() >= 1<<20 })
	if r := trawl(t, dir, srv.URL+"/x\n", args...); r.code != 0 {
		t.Fatalf("rerun: exit %d\n%s", r.code, r.stderr)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "out", strings.ReplaceAll(strings.TrimPrefix(srv.URL, "http://"), ":", "_"), "x"))
	if !bytes.Equal(got, content) {
		t.Fatalf("file of %d bytes, want the %d sent", len(got), len(content))
	}
}

// No URL and no "out" name writes outside the folder, and clashing names
// both keep their bodies.
func TestDownloadHostileNames(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "body of %s?%s", r.URL.EscapedPath(), r.URL.RawQuery)
	}))
	defer srv.Close()
	base := t.TempDir()
	dir := filepath.Join(base, "work")
	os.Mkdir(dir, 0o755)
	long := strings.Repeat("y", 300)
	paths := []string{
		"/%2e%2e/%2e%2e/x", "/..%2f..%2fx", "/%00", "/%2Fetc%2Fx", "/" + long + "/" + long,
		"/a", "/a/b", "/c@d", "/c?d", "/CON", "/aux.txt", "/dir/", "/dir",
	}
	var list strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&list, "%s%s\n", srv.URL, p)
	}
	fmt.Fprintf(&list, `{"url": "%s/o1", "out": "../../escaped"}`+"\n", srv.URL)
	fmt.Fprintf(&list, `{"url": "%s/o2", "out": "/etc/passwd"}`+"\n", srv.URL)
	r := trawl(t, dir, list.String(), "fetch", "--job", "j.db", "--out-dir", "out", "-")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	// Nothing beside the work folder, and nothing in it but the job and out.
	if entries, _ := os.ReadDir(base); len(entries) != 1 {
		t.Errorf("%d entries beside the work folder", len(entries))
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		for _, e := range entries {
			t.Logf("in the work folder: %s", e.Name())
		}
		t.Errorf("%d entries in the work folder, want the job file and out", len(entries))
	}
	bodies := map[string]bool{}
	filepath.WalkDir(filepath.Join(dir, "out"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			t.Errorf("symlink %s", p)
		}
		if !d.IsDir() {
			data, _ := os.ReadFile(p)
			bodies[string(data)] = true
			if len(filepath.Base(p)) > 255 {
				t.Errorf("name of %d bytes", len(filepath.Base(p)))
			}
		}
		return nil
	})
	st, err := store.Open(filepath.Join(dir, "j.db"), &store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	files := map[string]string{}
	st.Each(func(rec *store.Record) error {
		if rec.File == "" || rec.Error != "" {
			t.Errorf("%s: not saved: %+v", rec.URL, rec)
		} else if !strings.HasPrefix(rec.File, filepath.Join(dir, "out")+string(filepath.Separator)) {
			t.Errorf("%s saved outside the folder as %s", rec.URL, rec.File)
		} else if other, dup := files[rec.File]; dup {
			t.Errorf("%s and %s share the file %s", rec.URL, other, rec.File)
		}
		files[rec.File] = rec.URL
		return nil
	})
	if len(files) != len(paths)+2 || len(bodies) != len(paths)+2 {
		t.Errorf("%d files and %d distinct bodies for %d URLs", len(files), len(bodies), len(paths)+2)
	}
}

// A JSON Lines list sends each line's method, headers and body.
func TestDownloadJSONLRequests(t *testing.T) {
	type seen struct{ method, header, body string }
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.Method + " " + r.URL.Path, r.Header.Get("X-Token"), string(body)})
		mu.Unlock()
		fmt.Fprintf(w, "ok %s", body)
	}))
	defer srv.Close()
	dir := t.TempDir()
	list := fmt.Sprintf(`{"url": "%[1]s/check", "method": "HEAD"}
{"url": "%[1]s/api", "method": "POST", "headers": {"X-Token": "t1", "Content-Type": "application/json"}, "body": "{\"q\":1}"}
{"url": "%[1]s/api", "method": "POST", "headers": {"X-Token": "t2"}, "body": "{\"q\":2}", "out": "answers/two.json"}
{"url": "%[1]s/api", "method": "POST", "body": 3}
{"url": "%[1]s/plain"}
%[1]s/plain
{"url": "%[1]s/x", "method": "PO ST"}
{"url": "%[1]s/x", "colour": "red"}
`, srv.URL)
	r := trawl(t, dir, list, "fetch", "--job", "j.db", "--out-dir", "out", "-")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "4 files saved") {
		t.Errorf("summary does not count files:\n%s", r.stderr)
	}
	for _, line := range []string{"stdin:4:", "stdin:7:", "stdin:8:"} {
		if !strings.Contains(r.stderr, line) {
			t.Errorf("bad line %s not reported:\n%s", line, r.stderr)
		}
	}
	want := map[seen]bool{
		{"HEAD /check", "", ""}:        true,
		{"POST /api", "t1", `{"q":1}`}: true,
		{"POST /api", "t2", `{"q":2}`}: true,
		{"GET /plain", "", ""}:         true,
	}
	mu.Lock()
	defer mu.Unlock()
	for _, s := range got {
		if s.method == "GET /robots.txt" {
			continue
		}
		if !want[s] {
			t.Errorf("unexpected request %+v", s)
		}
		delete(want, s)
	}
	for s := range want {
		t.Errorf("request %+v not made", s)
	}
	data, err := os.ReadFile(filepath.Join(dir, "out", "answers", "two.json"))
	if err != nil || string(data) != `ok {"q":2}` {
		t.Errorf("out file: %q, %v", data, err)
	}
	// The job's records tell the two POSTs apart.
	ex := trawl(t, dir, "", "export", "--no-body", "j.db")
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(ex.stdout), "\n") {
		var rec struct {
			URL     string          `json:"url"`
			Request json.RawMessage `json:"request"`
		}
		json.Unmarshal([]byte(line), &rec)
		if strings.HasSuffix(rec.URL, "/api") && strings.Contains(string(rec.Request), `"POST"`) {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d POST records, want 2:\n%s", n, ex.stdout)
	}
}

// --checksums verifies downloads: a mismatch is an error record and exit 3.
func TestDownloadChecksums(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "content of %s", r.URL.Path)
	}))
	defer srv.Close()
	dir := t.TempDir()
	good := sha256.Sum256([]byte("content of /good.iso"))
	sums := fmt.Sprintf("%x  good.iso\n%x *bad.iso\n", good, sha256.Sum256([]byte("something else")))
	os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(sums), 0o644)
	list := srv.URL + "/good.iso\n" + srv.URL + "/bad.iso\n"
	r := trawl(t, dir, list, "fetch", "--job", "j.db", "--out-dir", "out", "--layout", "flat", "--checksums", "SHA256SUMS", "-")
	if r.code != exitFailures {
		t.Fatalf("exit %d, want %d\n%s", r.code, exitFailures, r.stderr)
	}
	if !strings.Contains(r.stderr, "sha256 mismatch") || !strings.Contains(r.stderr, srv.URL+"/bad.iso") {
		t.Errorf("summary does not list the failed URL:\n%s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "good.iso")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "bad.iso")); err == nil {
		t.Error("a file that failed its checksum is under its final name")
	}
	if s := trawl(t, dir, "", "stats", "j.db"); !strings.Contains(s.stdout, srv.URL+"/bad.iso  sha256 mismatch") {
		t.Errorf("stats does not list the failure:\n%s", s.stdout)
	}
}

// --retry-failed tries again what failed in an earlier run, and only that.
func TestRetryFailed(t *testing.T) {
	var broken atomic.Bool
	broken.Store(true)
	var hits sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := hits.LoadOrStore(r.URL.Path, new(atomic.Int32))
		n.(*atomic.Int32).Add(1)
		switch {
		case r.URL.Path == "/gone":
			http.NotFound(w, r)
		case r.URL.Path == "/flaky" && broken.Load():
			w.WriteHeader(http.StatusBadGateway)
		default:
			fmt.Fprintf(w, "body of %s", r.URL.Path)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	list := srv.URL + "/ok\n" + srv.URL + "/flaky\n" + srv.URL + "/gone\n"
	args := []string{"fetch", "--job", "j.db", "--out-dir", "out", "--retries", "0", "-"}
	if r := trawl(t, dir, list, args...); r.code != exitFailures || !strings.Contains(r.stderr, "--retry-failed") {
		t.Fatalf("first run: exit %d\n%s", r.code, r.stderr)
	}
	broken.Store(false)
	r := trawl(t, dir, list, append(args, "--retry-failed")...)
	if r.code != 0 || !strings.Contains(r.stderr, "1 failed URLs queued again") || !strings.Contains(r.stderr, "3 pages in all") {
		t.Fatalf("retry: exit %d, want the 502 retried and not the 404\n%s", r.code, r.stderr)
	}
	count := func(p string) int32 {
		n, _ := hits.Load(p)
		return n.(*atomic.Int32).Load()
	}
	if count("/ok") != 1 || count("/flaky") != 2 || count("/gone") != 1 {
		t.Errorf("requests: ok %d, flaky %d, gone %d; want 1, 2, 1", count("/ok"), count("/flaky"), count("/gone"))
	}
	if _, err := os.Stat(filepath.Join(dir, "out", strings.ReplaceAll(strings.TrimPrefix(srv.URL, "http://"), ":", "_"), "flaky")); err != nil {
		t.Error(err)
	}
	s := trawl(t, dir, "", "stats", "j.db")
	if !strings.Contains(s.stdout, "records   3 ") || !strings.Contains(s.stdout, "failed    1 URLs") {
		t.Errorf("stats after the retry:\n%s", s.stdout)
	}
}

// A symbolic link already inside --out-dir is never written through, and a
// file the job did not write is never replaced.
func TestDownloadKeepsOutDirSafe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "body of %s", r.URL.Path)
	}))
	defer srv.Close()
	dir := t.TempDir()
	out, outside := filepath.Join(dir, "out"), filepath.Join(dir, "outside")
	os.MkdirAll(outside, 0o755)
	fileOf := func(job, url string) string {
		t.Helper()
		st, err := store.Open(filepath.Join(dir, job), &store.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		r, err := st.Get(url)
		if err != nil || r == nil {
			t.Fatalf("no record of %s: %v", url, err)
		}
		return r.File
	}
	if r := trawl(t, dir, srv.URL+"/a\n", "fetch", "--job", "j1.db", "--out-dir", out, "-"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	first := fileOf("j1.db", srv.URL+"/a")
	// The user's own file where the next job would put /a.
	os.WriteFile(first, []byte("mine"), 0o644)
	if r := trawl(t, dir, srv.URL+"/a\n", "fetch", "--job", "j2.db", "--out-dir", out, "-"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if data, _ := os.ReadFile(first); string(data) != "mine" {
		t.Errorf("the user's file %s was replaced by %q", first, data)
	}
	if second := fileOf("j2.db", srv.URL+"/a"); second == first || !strings.HasPrefix(second, out) {
		t.Errorf("the download went to %s, want a variant beside the user's file", second)
	}
	// The host's folder becomes a link to a folder outside.
	hostDir := filepath.Dir(first)
	os.RemoveAll(hostDir)
	if err := os.Symlink(outside, hostDir); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	if r := trawl(t, dir, srv.URL+"/b\n"+srv.URL+"/c/d\n", "fetch", "--job", "j3.db", "--out-dir", out, "-"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("files written outside --out-dir through a link: %v", entries)
	}
	for _, u := range []string{"/b", "/c/d"} {
		f := fileOf("j3.db", srv.URL+u)
		if rel, err := filepath.Rel(out, f); err != nil || strings.HasPrefix(rel, "..") || filepath.Dir(f) == hostDir {
			t.Errorf("%s saved at %s: through the link or outside", u, f)
		}
		if data, _ := os.ReadFile(f); string(data) != "body of "+u {
			t.Errorf("%s: file holds %q", u, data)
		}
	}
}
