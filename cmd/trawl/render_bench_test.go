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

// BenchmarkRender crawls the site built by script (60 pages) with
// --render and reports rendered pages a second and the browser's peak
// memory (its processes' PSS summed, at the highest sample, and the most
// one renderer, a tab's, took); then crawls a plain site (100 pages of 8 KB)
// with and without --render, alternately, and reports the rendered crawl's
// pages a second over the plain one's (render-vs-plain). Run it with
// -benchtime 1x.
func BenchmarkRender(b *testing.B) {
	br := newBrowserRun(b)
	const tabs = 2
	for range b.N {
		site := testsite.NewScripted(60)
		srv := httptest.NewServer(site)
		job := filepath.Join(br.dir, fmt.Sprintf("js-%d.db", time.Now().UnixNano()))
		ctx, stop := context.WithCancel(context.Background())
		peak := make(chan [2]int64)
		go func() {
			all, renderer := br.peakMemory(ctx)
			peak <- [2]int64{all, renderer}
		}()
		start := time.Now()
		r := br.run(b, "crawl", "--job", job, "--render", "--browsers", strconv.Itoa(tabs), "-q", "--include", "/s/", srv.URL+"/s/0")
		took := time.Since(start)
		stop()
		mem := <-peak
		srv.Close()
		if r.code != 0 {
			b.Fatalf("render crawl: exit %d\n%s", r.code, r.stderr)
		}
		b.ReportMetric(float64(site.Pages)/took.Seconds(), "rendered-pages/s")
		b.ReportMetric(float64(mem[0])/(1<<20), "browser-peak-MB")
		b.ReportMetric(float64(mem[1])/(1<<20), "renderer-peak-MB")

		plain := testsite.New(100)
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

// peakMemory samples the proportional set size (PSS: shared pages split
// among the processes that share them) of the run's browser processes
// until ctx ends, and returns the highest sum and the highest of one
// renderer process (a tab's).
func (b browserRun) peakMemory(ctx context.Context) (all, renderer int64) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var sum int64
		for _, pid := range b.browsers() {
			pss := readPSS(pid)
			sum += pss
			if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && bytes.Contains(cmdline, []byte("--type=renderer")) {
				renderer = max(renderer, pss)
			}
		}
		all = max(all, sum)
		select {
		case <-ctx.Done():
			return all, renderer
		case <-tick.C:
		}
	}
}

// readPSS returns a process's proportional set size, in bytes.
func readPSS(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0
	}
	i := bytes.Index(data, []byte("\nPss:"))
	if i < 0 {
		return 0
	}
	var kb int64
	fmt.Sscan(string(data[i+len("\nPss:"):]), &kb)
	return kb << 10
}
