package links

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkExtract finds the links of pages: every .html file under
// $TRAWL_HTML_DIR (Debian's python3.11-doc: /usr/share/doc/python3.11/html),
// else a page of 2,000 links.
//
//	TRAWL_HTML_DIR=/usr/share/doc/python3.11/html go test -run '^$' -bench Extract -benchmem ./crawler/links/
func BenchmarkExtract(b *testing.B) {
	var pages [][]byte
	if dir := os.Getenv("TRAWL_HTML_DIR"); dir != "" {
		filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(path, ".html") && len(pages) < 600 {
				if data, err := os.ReadFile(path); err == nil {
					pages = append(pages, data)
				}
			}
			return nil
		})
	}
	if len(pages) == 0 {
		var sb strings.Builder
		sb.WriteString("<!doctype html><html><head><title>t</title></head><body>")
		for i := range 2000 {
			fmt.Fprintf(&sb, `<p><a href="/section/%d/page-%d.html#part-%d">page %d</a> and <a href="#own-%d">here</a></p>`, i%50, i, i%7, i, i)
		}
		pages = append(pages, []byte(sb.String()))
	}
	u, _ := url.Parse("http://docs.example/library/functions.html")
	var bytes int64
	for _, p := range pages {
		bytes += int64(len(p))
	}
	b.SetBytes(bytes / int64(len(pages)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		ExtractN(u, "text/html; charset=utf-8", pages[i%len(pages)], 0, nil)
	}
}
