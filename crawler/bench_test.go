package crawler_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/configs"
	"github.com/trawl-dev/trawl/crawler/job"
	"github.com/trawl-dev/trawl/internal/testsite"
	"github.com/trawl-dev/trawl/store"
)

const (
	benchPages       = 20000
	benchConcurrency = 16
)

// bare gets base+path(i) for i < n with benchConcurrency goroutines and
// a plain http.Client, handing each body to sink: the floor of what any
// crawler can do on this machine.
func bare(b *testing.B, n int, url func(i int) string, sink func(i int, body io.Reader) error) time.Duration {
	tr := &http.Transport{MaxIdleConnsPerHost: benchConcurrency}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	jobs := make(chan int, benchConcurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for range benchConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				resp, err := client.Get(url(i))
				if err != nil {
					b.Error(err)
					continue
				}
				if err := sink(i, resp.Body); err != nil {
					b.Error(err)
				}
				resp.Body.Close()
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return time.Since(start)
}

// bareLoop reads and discards every page of the site.
func bareLoop(b *testing.B, base string) time.Duration {
	return bare(b, benchPages, func(i int) string { return base + testsite.Path(i) },
		func(_ int, body io.Reader) error {
			_, err := io.Copy(io.Discard, body)
			return err
		})
}

// crawlSite crawls the whole site into a new job file, with link
// extraction, dedup, the frontier and the store all on.
func crawlSite(b *testing.B, base string) time.Duration {
	return crawlSiteWith(b, base, func(*configs.Job) {})
}

// crawlSiteWith is crawlSite with the config changed by set.
func crawlSiteWith(b *testing.B, base string, set func(*configs.Job)) time.Duration {
	st, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	cfg := configs.Default(configs.Crawl)
	cfg.Seeds = []string{base + "/p/0"}
	cfg.Engine.Concurrency = benchConcurrency
	cfg.Politeness.PerHost = benchConcurrency
	cfg.Politeness.AutoThrottle = false // the bare loop does not pace either
	set(&cfg)
	c, err := job.New(st, cfg)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	sum, err := c.Run(context.Background())
	el := time.Since(start)
	if err != nil || sum.Stored != benchPages {
		b.Fatalf("crawl: %v, %d pages stored", err, sum.Stored)
	}
	return el
}

// BenchmarkCrawlVsBare crawls a 20,000-page loopback site (8 KB pages, 10
// links each, 16 requests in flight) and downloads the same URLs with a
// bare net/http loop, in the same run; "ratio" is trawl's pages/s over the
// bare loop's.
//
//	go test -run '^$' -bench CrawlVsBare -benchtime 3x ./crawler/
func BenchmarkCrawlVsBare(b *testing.B) {
	var bare, trawl time.Duration
	for i := 0; i < b.N; i++ {
		site := testsite.New(benchPages)
		srv := httptest.NewServer(site)
		bare += bareLoop(b, srv.URL)
		srv.Close()

		site = testsite.New(benchPages)
		srv = httptest.NewServer(site)
		trawl += crawlSite(b, srv.URL)
		srv.Close()
	}
	n := float64(b.N * benchPages)
	b.ReportMetric(n/bare.Seconds(), "bare-pages/s")
	b.ReportMetric(n/trawl.Seconds(), "trawl-pages/s")
	b.ReportMetric(bare.Seconds()/trawl.Seconds(), "ratio")
}

// BenchmarkCrawlOnly is the trawl half of CrawlVsBare alone, for profiles
// and for allocations a page (with -benchmem; the in-process test server's
// are counted too):
//
//	go test -run '^$' -bench CrawlOnly -benchtime 3x -benchmem -cpuprofile cpu.out ./crawler/
func BenchmarkCrawlOnly(b *testing.B) { crawlAlone(b, crawlSite) }

// crawlAlone runs crawl on a new benchmark site b.N times, reporting
// pages/s.
func crawlAlone(b *testing.B, crawl func(b *testing.B, base string) time.Duration) {
	var d time.Duration
	for i := 0; i < b.N; i++ {
		srv := httptest.NewServer(testsite.New(benchPages))
		d += crawl(b, srv.URL)
		srv.Close()
	}
	b.ReportMetric(float64(b.N*benchPages)/d.Seconds(), "pages/s")
}

// crawlArchived is crawlSite with every page archived to WARC files
// (dedup on, as by default).
func crawlArchived(b *testing.B, base string) time.Duration {
	dir := b.TempDir()
	return crawlSiteWith(b, base, func(c *configs.Job) { c.WARC.Dir, c.WARC.Dedup = dir, true })
}

// BenchmarkArchivedOnly is the WARC half of WARCVsPlain alone: with
// CrawlOnly, the two profiles whose difference is what archiving costs.
//
//	go test -run '^$' -bench 'CrawlOnly$' -benchtime 3x -cpuprofile plain.out -o crawler.test ./crawler/
//	go test -run '^$' -bench ArchivedOnly -benchtime 3x -cpuprofile warc.out -o crawler.test ./crawler/
//	go tool pprof -top -diff_base plain.out crawler.test warc.out
func BenchmarkArchivedOnly(b *testing.B) { crawlAlone(b, crawlArchived) }

const (
	benchFiles    = 2000
	benchFileSize = 256 << 10
)

// fileServer serves /f/N: benchFileSize bytes each.
func fileServer() *httptest.Server {
	body := make([]byte, benchFileSize)
	for i := range body {
		body[i] = byte(i * 7)
	}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}))
}

// bareDownload fetches every file, writing each body to its own file.
func bareDownload(b *testing.B, base, dir string) time.Duration {
	return bare(b, benchFiles, func(i int) string { return base + "/f/" + strconv.Itoa(i) },
		func(i int, body io.Reader) error {
			f, err := os.Create(filepath.Join(dir, strconv.Itoa(i)))
			if err != nil {
				return err
			}
			_, err = io.Copy(f, body)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			return err
		})
}

// trawlDownload downloads the same files with a fetch job to an out dir:
// the frontier, politeness, streaming to partial files with SHA-256,
// fsync, rename and a record each.
func trawlDownload(b *testing.B, base, dir string) time.Duration {
	st, err := store.Open(filepath.Join(dir, "bench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	cfg := configs.Default(configs.Crawl)
	cfg.Engine.Follow = false
	cfg.Engine.Concurrency = benchConcurrency
	cfg.Politeness.PerHost = benchConcurrency
	cfg.Politeness.AutoThrottle = false
	cfg.Fetch.MaxBody = 0
	cfg.Download.Dir = filepath.Join(dir, "out")
	c, err := job.New(st, cfg)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	urls := make([]string, benchFiles)
	for i := range urls {
		urls[i] = base + "/f/" + strconv.Itoa(i)
	}
	if _, err := c.Enqueue(context.Background(), urls...); err != nil {
		b.Fatal(err)
	}
	sum, err := c.Run(context.Background())
	el := time.Since(start)
	if err != nil || sum.Stored != benchFiles || sum.Failed != 0 {
		b.Fatalf("download: %v, %d stored, %d failed", err, sum.Stored, sum.Failed)
	}
	return el
}

// BenchmarkDownloadVsBare downloads 2,000 files of 256 KiB (500 MiB) from
// a loopback server, 16 at a time, with trawl fetch --out-dir and with a
// bare net/http loop writing files, in the same run; "ratio" is trawl's
// files/s over the bare loop's.
//
//	go test -run '^$' -bench DownloadVsBare -benchtime 3x ./crawler/
func BenchmarkDownloadVsBare(b *testing.B) {
	srv := fileServer()
	defer srv.Close()
	var bare, trawl time.Duration
	for i := 0; i < b.N; i++ {
		bare += bareDownload(b, srv.URL, b.TempDir())
		trawl += trawlDownload(b, srv.URL, b.TempDir())
	}
	n := float64(b.N * benchFiles)
	b.ReportMetric(n/bare.Seconds(), "bare-files/s")
	b.ReportMetric(n/trawl.Seconds(), "trawl-files/s")
	b.ReportMetric(bare.Seconds()/trawl.Seconds(), "ratio")
}

// BenchmarkWARCVsPlain crawls the 20,000-page site twice in each round,
// with --warc (every exchange recorded and archived, gzip member a record)
// and without; "ratio" is the archiving crawl's pages/s over the plain one's.
//
//	go test -run '^$' -bench WARCVsPlain -benchtime 3x ./crawler/
func BenchmarkWARCVsPlain(b *testing.B) {
	var plain, archived time.Duration
	for i := 0; i < b.N; i++ {
		srv := httptest.NewServer(testsite.New(benchPages))
		plain += crawlSite(b, srv.URL)
		srv.Close()

		srv = httptest.NewServer(testsite.New(benchPages))
		archived += crawlArchived(b, srv.URL)
		srv.Close()
	}
	n := float64(b.N * benchPages)
	b.ReportMetric(n/plain.Seconds(), "plain-pages/s")
	b.ReportMetric(n/archived.Seconds(), "warc-pages/s")
	b.ReportMetric(plain.Seconds()/archived.Seconds(), "ratio")
}
