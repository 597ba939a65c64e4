package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/trawl-dev/trawl/configs"
	"github.com/trawl-dev/trawl/internal/testsite"
	"github.com/trawl-dev/trawl/store"
)

const demoHelp = `Usage: trawl demo [flags]

Serve a synthetic site of --pages pages on 127.0.0.1 (no network needed),
crawl it into a job file, and show what was stored.

  --pages N     pages on the demo site (default 1000)
  --job PATH    job file (default: a new file in a temporary directory)
  --serve ADDR  only serve the site at ADDR (e.g. 127.0.0.1:8080) until
                interrupted: a loopback site for trying trawl, and for the
                bench commands in .ci/
  --size BYTES  bytes a page (default 8192)
  -q, --quiet   print only the summary
`

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("demo", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	pages := fs.Int("pages", 1000, "pages on the demo site")
	job := fs.String("job", "", "job file")
	quiet := fs.BoolP("quiet", "q", false, "quiet")
	serve := fs.String("serve", "", "only serve the site at this address")
	pageSize := fs.Int("size", 8<<10, "bytes a page")
	fs.BoolP("help", "h", false, "show help")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("demo takes no arguments")
	}
	if *pages < 1 || *pageSize < 0 {
		return usagef("--pages must be at least 1, --size not negative")
	}
	site := testsite.New(*pages)
	site.PageSize = *pageSize
	if *serve != "" {
		return serveDemo(ctx, *serve, site, stderr)
	}
	if *job == "" {
		dir, err := os.MkdirTemp("", "trawl-demo-")
		if err != nil {
			return err
		}
		*job = filepath.Join(dir, "demo.db")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo site: %w", err)
	}
	srv := &http.Server{Handler: site, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	seed := "http://" + ln.Addr().String() + "/p/0"
	fmt.Fprintf(stdout, "demo site: %d pages of ~8 KB, 10 links each, at http://%s/\n", *pages, ln.Addr())
	fmt.Fprintf(stdout, "running:   trawl crawl --job %s --per-host 16 %s\n\n", *job, seed)

	o := configs.Default(configs.Crawl)
	o.File, o.Politeness.PerHost, o.Output.Quiet = *job, 16, *quiet
	o.Politeness.AutoThrottle = false // our own loopback site
	o.Seeds = []string{seed}
	if _, err := runJob(ctx, &o, nil, stderr); err != nil {
		return err
	}

	st, err := openJobReadOnly(*job)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(stdout, "\nfirst records in %s:\n", *job)
	n := 0
	stop := errors.New("stop")
	st.Each(func(r *store.Record) error {
		fmt.Fprintf(stdout, "  %d  depth %d  %6d bytes  %s\n", r.Status, r.Depth, r.Length, r.URL)
		if n++; n == 5 {
			return stop
		}
		return nil
	})
	fmt.Fprintf(stdout, "\nthe server received %d requests for %d pages.\n", site.Total(), *pages)
	fmt.Fprintf(stdout, "next:      trawl stats %s\n           trawl export %s | head -c 600\n", *job, *job)
	return nil
}

// serveDemo serves site at addr until ctx ends.
func serveDemo(ctx context.Context, addr string, site *testsite.Site, stderr io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return usagef("--serve %s: %v", addr, err)
	}
	srv := &http.Server{Handler: site, ReadHeaderTimeout: 10 * time.Second}
	go func() { <-ctx.Done(); srv.Close() }()
	fmt.Fprintf(stderr, "trawl demo: serving %d pages at http://%s/p/0 … /p/%d (Ctrl-C to stop)\n", site.Pages, ln.Addr(), site.Pages-1)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
