package warc

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func capture(url, body string) Capture {
	req := "GET " + url + " HTTP/1.1\r\nHost: x\r\n\r\n"
	resp := "HTTP/1.1 200 OK\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + body
	h := NewHash()
	h.Write([]byte(body))
	return Capture{
		URL: url, Date: time.Now(), IP: "127.0.0.1",
		Request:    func() (io.Reader, error) { return strings.NewReader(req), nil },
		Response:   func() (io.Reader, error) { return strings.NewReader(resp), nil },
		RequestLen: int64(len(req)), ResponseLen: int64(len(resp)),
		PayloadDigest: Digest(h), PayloadLen: int64(len(body)),
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func readAll(t *testing.T, path string) []*Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []*Record
	r := NewReader(f)
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return recs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		recs = append(recs, rec)
	}
}

// A file cut in the middle of a record (a killed writer) is mended to its
// whole records and closed; the next writer goes on with the next serial.
func TestMendAndRotate(t *testing.T) {
	dir := t.TempDir()
	w, err := Open(Options{Config: Config{Dir: dir, MaxSize: 1 << 20, Dedup: true}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := w.Write(capture("http://a/"+string(rune('a'+i)), strings.Repeat("x", 5))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	open, _ := filepath.Glob(filepath.Join(dir, "*.open"))
	if len(open) != 1 {
		t.Fatalf("open files %v", open)
	}
	whole, _ := os.ReadFile(open[0])
	// As if killed while writing a fourth record: half a gzip member.
	w.Write(capture("http://a/d", "yyyyy"))
	w.bw.Flush()
	data, _ := os.ReadFile(open[0])
	cut := data[:len(whole)+10]
	os.WriteFile(open[0], cut, 0o644)

	w2, err := Open(Options{Config: Config{Dir: dir, MaxSize: 1 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	final := strings.TrimSuffix(open[0], ".open")
	recs := readAll(t, final)
	if len(recs) != 1+2*3 {
		t.Fatalf("mended file holds %d records, want warcinfo + 3 × 2", len(recs))
	}
	if got, _ := os.ReadFile(final); !bytes.Equal(got, whole) {
		t.Errorf("mended file is %d bytes, want the %d of its whole records", len(got), len(whole))
	}
	if recs[4].Type() != "revisit" && recs[6].Type() != "revisit" {
		t.Errorf("identical payloads: %s, %s; want revisits after the first", recs[4].Type(), recs[6].Type())
	}
	if _, err := w2.Write(capture("http://a/e", "z")); err != nil {
		t.Fatal(err)
	}
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.warc.gz"))
	if len(files) != 2 || !strings.Contains(files[1], "-00002-") {
		t.Errorf("files %v: want the second writer's file numbered 00002", files)
	}
	// Rotation: a small MaxSize gives a file a record or two.
	w3, _ := Open(Options{Config: Config{Dir: t.TempDir(), MaxSize: 600}})
	for range 5 {
		w3.Write(capture("http://a/r", strings.Repeat("r", 400)))
	}
	w3.Close()
	if n := len(w3.Files()); n < 3 {
		t.Errorf("%d files for five 400-byte captures at 600 bytes a file", n)
	}
}

// An empty payload is never a revisit.
func TestEmptyPayloadNoRevisit(t *testing.T) {
	w, _ := Open(Options{Config: Config{Dir: t.TempDir(), Dedup: true}})
	for range 2 {
		if res, err := w.Write(capture("http://a/empty", "")); err != nil || res.Revisit {
			t.Fatalf("empty payload: %+v, %v", res, err)
		}
	}
	w.Close()
}

func TestRecordIDs(t *testing.T) {
	re := regexp.MustCompile(`^<urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}>$`)
	seen := map[string]bool{}
	for range 1000 {
		id := newID()
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("record id %q: not a new version 4 UUID URN", id)
		}
		seen[id] = true
	}
}
