package main

import (
	"archive/zip"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trawl-dev/trawl/internal/testsite"
)

// waczFiles reads the WACZ at path: each file's bytes by name, and
// whether each was stored uncompressed.
func waczFiles(t *testing.T, path string) (map[string][]byte, map[string]bool) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	files, stored := map[string][]byte{}, map[string]bool{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s in the WACZ: %v", f.Name, err)
		}
		files[f.Name], stored[f.Name] = data, f.Method == zip.Store
	}
	return files, stored
}

// TestWACZ crawls a site with --warc and --wacz, and checks the WACZ: its
// files, their digests in datapackage.json, each WARC inside as warcio
// indexes it, the index, and pages.jsonl listing exactly the job's pages.
func TestWACZ(t *testing.T) {
	site := &testsite.Archive{Pages: 5, Filler: 500}
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := t.TempDir()
	wz := filepath.Join(dir, "site.wacz")
	r := trawl(t, dir, "", "crawl", "--job", "j.db", "--warc", "w", "--requisites", "--wacz", wz, srv.URL+"/a/0")
	if r.code != 0 || !strings.Contains(r.stderr, "5 pages packed") {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	files, stored := waczFiles(t, wz)
	var pkg struct {
		Version   string `json:"wacz_version"`
		Resources []struct {
			Path, Hash string
			Bytes      int
		}
	}
	if err := json.Unmarshal(files["datapackage.json"], &pkg); err != nil || pkg.Version != "1.1.1" {
		t.Fatalf("datapackage.json: %v, version %q", err, pkg.Version)
	}
	sum := func(b []byte) string { s := sha256.Sum256(b); return "sha256:" + hex.EncodeToString(s[:]) }
	var digest struct{ Path, Hash string }
	json.Unmarshal(files["datapackage-digest.json"], &digest)
	if digest.Path != "datapackage.json" || digest.Hash != sum(files["datapackage.json"]) {
		t.Errorf("datapackage-digest.json: %+v", digest)
	}
	var warcs []string
	for _, res := range pkg.Resources {
		data, ok := files[res.Path]
		if !ok || res.Hash != sum(data) || res.Bytes != len(data) || !stored[res.Path] {
			t.Errorf("resource %s: in the WACZ %v, hash %s, %d bytes, stored %v", res.Path, ok, res.Hash, res.Bytes, stored[res.Path])
		}
		if strings.HasPrefix(res.Path, "archive/") {
			p := filepath.Join(dir, "out-"+filepath.Base(res.Path))
			os.WriteFile(p, data, 0o644)
			warcs = append(warcs, p)
		}
	}
	if len(pkg.Resources) != len(files)-2 || len(warcs) == 0 {
		t.Errorf("%d resources for %d files", len(pkg.Resources), len(files))
	}
	// warcio reads each WARC inside, and finds what the index lists.
	index := strings.Split(strings.TrimSpace(string(files["indexes/index.cdxj"])), "\n")
	if lines := indexWARCs(t, warcs); len(lines) != len(index) {
		t.Errorf("warcio indexes %d captures in the WACZ's WARC files, its index %d", len(lines), len(index))
	}
	for _, l := range index {
		if !strings.Contains(l, `"filename":"trawl-`) || strings.Contains(l, "/") && strings.Contains(l, `"filename":"w/`) {
			t.Errorf("index line names its file otherwise than relative to archive/: %s", l)
		}
	}
	checkPages(t, files["pages/pages.jsonl"], srv.URL, site.Pages)
	checkCompleteness(t, dir, "j.db", 5, 0)
	// Archived without --requisites: each page's five are not fetched.
	if r := trawl(t, dir, "", "crawl", "--job", "bare.db", "--warc", "w2", srv.URL+"/a/0"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	checkCompleteness(t, dir, "bare.db", 0, 5)
	// Two jobs (as the processes of a shared crawl keep) merge into one.
	other := httptest.NewServer(replaySite())
	defer other.Close()
	if r := trawl(t, dir, "", "crawl", "--job", "other.db", "--warc", "w3", other.URL+"/r/0"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := trawl(t, dir, "", "export", "--format", "wacz", "-o", "both.wacz", "j.db", "other.db"); r.code != 0 || !strings.Contains(r.stderr, "7 pages") {
		t.Errorf("a WACZ of two jobs: exit %d\n%s", r.code, r.stderr)
	}
	both, _ := waczFiles(t, filepath.Join(dir, "both.wacz"))
	if n := strings.Count(string(both["pages/pages.jsonl"]), "\n"); n != 1+7 {
		t.Errorf("the merged WACZ lists %d lines of pages, want a header and 7", n)
	}
	if r := trawl(t, dir, "", "crawl", "--job", "plain.db", srv.URL+"/a/0"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := trawl(t, dir, "", "export", "--format", "wacz", "-o", "x.wacz", "plain.db"); r.code != 2 || !strings.Contains(r.stderr, "--warc") {
		t.Errorf("a WACZ of a job without --warc: exit %d\n%s", r.code, r.stderr)
	}
}

// checkPages checks pages.jsonl: its header, then exactly the site's
// pages, each with its title.
func checkPages(t *testing.T, data []byte, base string, n int) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Scan()
	if !strings.Contains(sc.Text(), `"format": "json-pages-1.0"`) {
		t.Errorf("pages.jsonl header %q", sc.Text())
	}
	seen := map[string]string{}
	for sc.Scan() {
		var p struct{ URL, TS, Title string }
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil || p.TS == "" {
			t.Fatalf("pages.jsonl line %q: %v", sc.Text(), err)
		}
		seen[p.URL] = p.Title
	}
	for i := range n {
		u := base + "/a/" + itoa(i)
		if seen[u] != "Archive page "+itoa(i) {
			t.Errorf("%s in pages.jsonl with title %q", u, seen[u])
		}
	}
	if len(seen) != n {
		t.Errorf("pages.jsonl lists %d pages, want %d: %v", len(seen), n, seen)
	}
}

// checkCompleteness checks export --format pages: each of the site's five
// pages needs five requisites (its stylesheet, script and three images),
// archived or not fetched.
func checkCompleteness(t *testing.T, dir, job string, archived, notFetched int) {
	t.Helper()
	lines := trawlLines(t, dir, "export", "--format", "pages", job)
	if len(lines) != 5 {
		t.Fatalf("export --format pages %s: %d lines, want 5: %v", job, len(lines), lines)
	}
	for _, m := range lines {
		if m["requisites"] != float64(5) || m["archived"] != float64(archived) || m["not_fetched"] != float64(notFetched) {
			t.Errorf("%s: %v", job, m)
		}
	}
}
