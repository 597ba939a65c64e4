package testsite

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Scripted is a site that needs a browser: its pages /s/0 … /s/N-1 are
// empty shells whose script (/app.js) fetches the page's title, text and
// links from a JSON API (/api/page?n=I) and builds them. Page i links to
// pages 2i+1 and 2i+2, so that the whole site is found only by running
// the scripts. Every page loads /shared.css, /shared.png and a tracker
// (/js/tracker.js) that calls /track, which robots.txt disallows.
//
// Beside them: /scroll shows a link to /s/scrolled only once scrolled;
// /poll never stops polling /api/tick; /loop runs a script that never
// yields; /eat allocates memory until its renderer dies; and, when Static
// is set, /static/0 … /static/K-1 are plain HTML pages of text that link
// to each other and to /s/0.
//
// It counts what it serves by path and the most requests it had in
// flight at once.
type Scripted struct {
	Pages  int
	Static int
	// APIDelay slows each API answer down.
	APIDelay time.Duration

	hits     Counter
	inflight atomic.Int64
	mu       sync.Mutex
	most     int64
}

// NewScripted returns a site of n script-built pages.
func NewScripted(n int) *Scripted { return &Scripted{Pages: n} }

// Hits returns how many requests each path (with its query) received.
func (s *Scripted) Hits() map[string]int { return s.hits.Hits() }

// Total returns how many requests the site received.
func (s *Scripted) Total() int { return s.hits.Total() }

// MostInFlight returns the most requests the site had in flight at once.
func (s *Scripted) MostInFlight() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.most
}

// Title is the title the API gives page i: what a rendered page shows.
func Title(i int) string { return fmt.Sprintf("Scripted page %d", i) }

const shell = `<!doctype html><html><head><title>loading</title><link rel="stylesheet" href="/shared.css"></head>
<body><div id="app"></div><script src="/app.js"></script><script src="/js/tracker.js"></script></body></html>`

const appJS = `const n = location.pathname.split("/").pop();
fetch("/api/page?n=" + n).then(r => r.json()).then(d => {
  document.title = d.title;
  const app = document.getElementById("app");
  app.innerHTML = '<h1 class="title">' + d.title + '</h1><p class="text">' + d.text + '</p><img src="/shared.png">' +
    d.links.map(l => '<a href="' + l + '">' + l + '</a>').join(" ");
});`

const trackerJS = `fetch("/track?page=" + encodeURIComponent(location.pathname)).catch(() => {});`

const scrollPage = `<!doctype html><html><body><div id="app" style="height:5000px">Scroll down</div><script>
addEventListener("scroll", () => {
  if (document.getElementById("more")) return;
  fetch("/api/more").then(r => r.json()).then(d => {
    document.body.insertAdjacentHTML("beforeend", '<a id="more" href="' + d.link + '">more</a>');
  });
});
</script></body></html>`

const pollPage = `<!doctype html><html><body><div id="app"></div><script>
document.getElementById("app").innerHTML = '<a href="/s/0">start</a>';
setInterval(() => fetch("/api/tick?" + Date.now()), 100);
</script></body></html>`

const loopPage = `<!doctype html><html><body><div id="app"></div><script>setTimeout(() => { for (;;) {} }, 20);</script></body></html>`

const eatPage = `<!doctype html><html><body><div id="app"></div><script>
const keep = [];
setInterval(() => { for (let i = 0; i < 50; i++) keep.push(new Array(1e5).fill(Math.random())); }, 1);
</script></body></html>`

// a 1×1 PNG
var pixel = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")

func (s *Scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	s.mu.Lock()
	s.most = max(s.most, n)
	s.mu.Unlock()
	key := r.URL.Path
	if r.URL.RawQuery != "" && !strings.HasPrefix(r.URL.Path, "/api/tick") {
		key += "?" + r.URL.RawQuery
	}
	s.hits.Add(key)
	send := func(typ, body string) {
		w.Header().Set("Content-Type", typ)
		fmt.Fprint(w, body)
	}
	switch p := r.URL.Path; {
	case p == "/robots.txt":
		send("text/plain", "User-agent: *\nDisallow: /track\n")
	case p == "/app.js":
		send("text/javascript", appJS)
	case p == "/js/tracker.js":
		send("text/javascript", trackerJS)
	case p == "/shared.css":
		send("text/css", "h1 { color: #235; } img { width: 1px; }")
	case p == "/shared.png":
		w.Header().Set("Content-Type", "image/png")
		w.Write(pixel)
	case p == "/api/page":
		time.Sleep(s.APIDelay)
		s.api(w, r)
	case p == "/api/more":
		send("application/json", `{"link":"/s/scrolled"}`)
	case p == "/api/tick":
		send("application/json", `{}`)
	case p == "/scroll":
		send("text/html", scrollPage)
	case p == "/poll":
		send("text/html", pollPage)
	case p == "/loop":
		send("text/html", loopPage)
	case p == "/eat":
		send("text/html", eatPage)
	case strings.HasPrefix(p, "/static/"):
		s.static(w, r)
	case p == "/" || strings.HasPrefix(p, "/s/"):
		send("text/html", shell)
	default:
		http.NotFound(w, r)
	}
}

// api answers the data of page n (or of the root and the scrolled page).
func (s *Scripted) api(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("n")
	i, err := strconv.Atoi(q)
	links := []string{}
	title := Title(i)
	switch {
	case q == "" || q == "scrolled":
		title, links = "Scripted "+q, []string{"/s/0", "/scroll", "/poll", "/loop", "/eat"}
	case err != nil || i < 0 || i >= s.Pages:
		http.NotFound(w, r)
		return
	}
	for _, c := range []int{2*i + 1, 2*i + 2} {
		if q != "" && q != "scrolled" && c < s.Pages {
			links = append(links, "/s/"+strconv.Itoa(c))
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"title": title, "text": strings.Repeat("Words built by a script. ", 20), "links": links})
}

// static answers /static/I: a page of plain text, no script needed.
func (s *Scripted) static(w http.ResponseWriter, r *http.Request) {
	i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/static/"))
	if err != nil || i < 0 || i >= s.Static {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html")
	fmt.Fprintf(w, `<!doctype html><html><head><title>Static %d</title><script src="/js/tracker.js"></script></head><body><h1 class="title">Static %d</h1><p>%s</p>`,
		i, i, strings.Repeat("A page of plain text, readable without a browser. ", 12))
	fmt.Fprintf(w, `<a href="/static/%d">next</a> <a href="/s/0">the app</a></body></html>`, (i+1)%s.Static)
}
