package main

import (
	"context"
	"fmt"
	"io"
	"net/url"

	"github.com/spf13/pflag"

	"github.com/trawl-dev/trawl/configs"
	"github.com/trawl-dev/trawl/crawler/page"
	"github.com/trawl-dev/trawl/store"
)

const extractHelp = `Usage: trawl extract --config RULES.yaml [JOB]

Run the extract rules of RULES.yaml over the pages stored in JOB (default:
the config's job) and replace the job's items with the result. Nothing is
fetched: fix a selector and re-extract without touching the site.

Flags:
      --config string   YAML config with extract rules (a job config will do)
  -h, --help            show this help
`

func cmdExtract(ctx context.Context, args []string, stderr io.Writer) error {
	fs := pflag.NewFlagSet("extract", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	config := fs.String("config", "", "YAML config with extract rules")
	fs.BoolP("help", "h", false, "show help")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *config == "" {
		return usagef("--config RULES.yaml is required")
	}
	if fs.NArg() > 1 {
		return usagef("extract takes one JOB file, got %d arguments", fs.NArg())
	}
	o := configs.Default(configs.Crawl)
	o.File = ""
	if err := configs.Load(configs.Crawl, *config, &o); err != nil {
		return err
	}
	o.Config = *config
	if len(o.Rules.Extract) == 0 {
		return usagef("config %s has no extract rules", *config)
	}
	rs, err := extractor(&o)
	if err != nil {
		return err
	}
	job := o.File
	if fs.NArg() == 1 {
		job = fs.Arg(0)
	}
	if job == "" {
		return usagef("no JOB given, and the config names none")
	}
	st, err := store.Open(job, &store.Options{NoCreate: true})
	if err != nil {
		return err
	}
	defer st.Close()
	pages, err := st.RewriteItems(ctx, func(rec *store.Record, body []byte) ([]store.Item, error) {
		u, err := url.Parse(rec.FinalURL)
		if err != nil {
			return nil, err
		}
		items, _, err := rs.Extract(page.New(u, rec.ContentType, body, rec.FetchedAt))
		return items, err
	})
	if err != nil {
		return err
	}
	sum, err := st.Summarize()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "trawl extract: %d pages read, %d items saved, %d pages with extraction errors\n",
		pages, total(sum.Items), total(sum.ExtractErrors))
	printCounts(stderr, "  type      ", sum.Items)
	return nil
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// printCounts writes one line a key, the largest counts first.
func printCounts(w io.Writer, prefix string, m map[string]int) {
	for _, k := range top(m, len(m)) {
		fmt.Fprintf(w, "%s%-20s %d\n", prefix, k, m[k])
	}
}
