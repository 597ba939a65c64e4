package gz

import (
	"io"
	"io/fs"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kgzip "github.com/klauspost/compress/gzip"
)

// BenchmarkMember compresses WARC records, a gzip member each, with this
// package and with klauspost/compress's gzip at BestSpeed (what the
// archive used before), alternately in one run; "speedup" is how many
// times faster this package is, "size" its output over klauspost's. The
// records are sampleRecords of the pages under TRAWL_HTML_DIR
// (comma-separated; Debian's python3.11-doc, say), or of a page of the
// benchmark site:
//
//	TRAWL_HTML_DIR=/usr/share/doc/python3.11/html go test -run '^$' -bench Member ./store/warc/gz/
func BenchmarkMember(b *testing.B) {
	recs := benchRecords(b)
	var in int64
	for _, r := range recs {
		in += int64(len(r))
	}
	z := NewWriter(io.Discard)
	k, _ := kgzip.NewWriterLevel(io.Discard, kgzip.BestSpeed)
	var ours, theirs time.Duration
	var ourSize, theirSize countWriter
	b.SetBytes(in)
	for i := 0; i < b.N; i++ {
		start := time.Now()
		for _, r := range recs {
			z.Reset(&ourSize)
			z.Write(r)
			z.Close()
		}
		ours += time.Since(start)
		start = time.Now()
		for _, r := range recs {
			k.Reset(&theirSize)
			k.Write(r)
			k.Close()
		}
		theirs += time.Since(start)
	}
	b.ReportMetric(theirs.Seconds()/ours.Seconds(), "speedup")
	b.ReportMetric(float64(ourSize)/float64(theirSize), "size")
	b.ReportMetric(float64(ourSize)/float64(in*int64(b.N)), "compressed/raw")
	b.ReportMetric(float64(ours.Microseconds())/float64(b.N*len(recs)), "µs/record")
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

func benchRecords(b *testing.B) [][]byte {
	var recs [][]byte
	dirs := os.Getenv("TRAWL_HTML_DIR")
	if dirs == "" {
		page := []byte(strings.Repeat(`<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. <a href="/p/123">next</a></p>`+"\n", 55))
		return sampleRecords(1, "p/1", "text/html", page)
	}
	for _, dir := range strings.Split(dirs, ",") {
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			typ := mime.TypeByExtension(filepath.Ext(path))
			body, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, path)
			recs = append(recs, sampleRecords(len(recs), rel, typ, body)...)
			return nil
		})
	}
	if len(recs) == 0 {
		b.Fatalf("no files under %s", dirs)
	}
	return recs
}
