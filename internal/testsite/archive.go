package testsite

import (
	"compress/gzip"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Archive is a site to archive: Pages HTML pages at /a/0 … /a/N-1, each
// gzip-encoded and sent chunked, each with its own image, a srcset image,
// one of three images of identical bytes, the site's stylesheet (which
// @imports a second one and uses url(…)) and a script. It counts the
// requests of each path.
type Archive struct {
	Pages int
	// Filler pads each page with this many bytes of text.
	Filler int
	// Delay is how long each page takes to answer.
	Delay time.Duration

	hits Counter
}

// Same is the body of the three images with identical bytes.
var Same = []byte("\x89PNG\r\n\x1a\n-the-same-image-bytes-under-three-urls")

// ServeHTTP implements http.Handler.
func (a *Archive) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.hits.Add(r.URL.Path)
	p := r.URL.Path
	switch {
	case p == "/robots.txt":
		http.NotFound(w, r)
	case strings.HasPrefix(p, "/a/"):
		n, err := strconv.Atoi(strings.TrimPrefix(p, "/a/"))
		if err != nil || n < 0 || n >= a.Pages {
			http.NotFound(w, r)
			return
		}
		if a.Delay > 0 {
			select {
			case <-time.After(a.Delay):
			case <-r.Context().Done():
				return
			}
		}
		a.page(w, n)
	case p == "/css/main.css":
		w.Header().Set("Content-Type", "text/css")
		fmt.Fprint(w, "@import \"second.css\";\nbody { background: url('/img/bg.png') }\n")
	case p == "/css/second.css":
		w.Header().Set("Content-Type", "text/css")
		fmt.Fprint(w, "h1 { background-image: url(../img/h1.png) }\n")
	case p == "/js/app.js":
		w.Header().Set("Content-Type", "application/javascript")
		fmt.Fprint(w, "console.log('trawl');\n")
	case strings.HasPrefix(p, "/img/same"):
		w.Header().Set("Content-Type", "image/png")
		w.Write(Same)
	case strings.HasPrefix(p, "/img/"):
		w.Header().Set("Content-Type", "image/png")
		fmt.Fprintf(w, "\x89PNG\r\n\x1a\nimage %s", p)
	default:
		http.NotFound(w, r)
	}
}

// page writes page n, gzip-encoded, flushed in two parts so that it goes
// out chunked.
func (a *Archive) page(w http.ResponseWriter, n int) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Encoding", "gzip")
	zw := gzip.NewWriter(w)
	fmt.Fprintf(zw, `<!doctype html><html><head><title>Archive page %d</title>
<link rel="stylesheet" href="/css/main.css"><script src="/js/app.js"></script></head>
<body><h1>Page %d</h1><img src="/img/%d.png" srcset="/img/%d-2x.png 2x"><img src="/img/same%d.png">
`, n, n, n, n, n%3+1)
	zw.Flush()
	w.(http.Flusher).Flush()
	for _, next := range []int{(n + 1) % a.Pages, (n * 7) % a.Pages} {
		fmt.Fprintf(zw, "<a href=\"/a/%d\">page %d</a>\n", next, next)
	}
	fmt.Fprintf(zw, "<p>%s</p></body></html>\n", strings.Repeat("archive ", a.Filler/8))
	zw.Close()
}

// Hits returns how many requests each path received.
func (a *Archive) Hits() map[string]int { return a.hits.Hits() }
