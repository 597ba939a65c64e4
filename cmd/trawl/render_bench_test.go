package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/internal/testsite"
)

// BenchmarkRender crawls the site built by script (200 pages) with
// --render and reports rendered pages a second and the browser's peak
// memory (its processes' resident memory, summed, at the highest sample,
// and that over the tabs); then crawls a plain site (400 pages of 8 KB)
// with and without --render, alternately, and reports the rendered crawl's
// pages a second over the plain one's (render-vs-plain). Run it with
// -benchtime 1x.
func BenchmarkRender(b *testing.B) {
	br := newBrowserRun(b)
	const tabs = 2
	for range b.N {
		site := testsite.NewScripted(200)
		srv := httptest.NewServer(site)
		job := filepath.Join(br.dir, fmt.Sprintf("js-%d.db", time.Now().UnixNano()))
		ctx, stop := context.WithCancel(context.Background())
		peak := make(chan int64)
		go func() { peak <- br.peakRSS(ctx) }()
		start := time.Now()
		r := br.run(b, "crawl", "--job", job, "--render", "--browsers", strconv.Itoa(tabs), "-q", "--include", "/s/", srv.URL+"/s/0")
		took := time.Since(start)
		stop()
		rss := <-peak
		srv.Close()
		if r.code != 0 {
			b.Fatalf("render crawl: exit %d\n%s", r.code, r.stderr)
		}
		b.ReportMetric(float64(site.Pages)/took.Seconds(), "rendered-pages/s")
		b.ReportMetric(float64(rss)/(1<<20), "browser-peak-MB")
		b.ReportMetric(float64(rss)/tabs/(1<<20), "peak-MB/tab")

		plain := testsite.New(400)
		psrv := httptest.NewServer(plain)
		var withRender, without time.Duration
		for round := range 2 {
			for _, render := range []bool{round%2 == 0, round%2 != 0} {
				args := []string{"crawl", "--job", filepath.Join(br.dir, fmt.Sprintf("p-%d.db", time.Now().UnixNano())), "-q"}
				if render {
					args = append(args, "--render", "--browsers", strconv.Itoa(tabs))
				}
				start := time.Now()
				if r := br.run(b, append(args, psrv.URL+"/")...); r.code != 0 {
					b.Fatalf("plain site, render %v: exit %d\n%s", render, r.code, r.stderr)
				}
				if render {
					withRender += time.Since(start)
				} else {
					without += time.Since(start)
				}
			}
		}
		psrv.Close()
		b.ReportMetric(2*float64(plain.Pages)/withRender.Seconds(), "plain-rendered-pages/s")
		b.ReportMetric(2*float64(plain.Pages)/without.Seconds(), "plain-pages/s")
		b.ReportMetric(without.Seconds()/withRender.Seconds(), "render-vs-plain")
	}
}

// peakRSS samples the resident memory of the run's browser processes
// until ctx ends, and returns the highest sum.
func (b browserRun) peakRSS(ctx context.Context) int64 {
	var peak int64
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var sum int64
		for _, pid := range b.browsers() {
			status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if err != nil {
				continue
			}
			if i := bytes.Index(status, []byte("VmRSS:")); i >= 0 {
				var kb int64
				fmt.Sscan(string(status[i+len("VmRSS:"):]), &kb)
				sum += kb << 10
			}
		}
		peak = max(peak, sum)
		select {
		case <-ctx.Done():
			return peak
		case <-tick.C:
		}
	}
}
