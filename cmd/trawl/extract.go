package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/trawl-dev/trawl/configs"
	"github.com/trawl-dev/trawl/crawler/fromwarc"
	"github.com/trawl-dev/trawl/crawler/page"
	"github.com/trawl-dev/trawl/internal/atomicfile"
	"github.com/trawl-dev/trawl/store"
)

const extractHelp = `Usage: trawl extract --config RULES.yaml [JOB]
       trawl extract --config RULES.yaml [-o ITEMS.jsonl] FILE.warc.gz|FILE.warc|FILE.wacz...

Run the extract rules of RULES.yaml over the pages stored in JOB (default:
the config's job) and replace the job's items with the result. Nothing is
fetched: fix a selector and re-extract without touching the site.

Given WARC or WACZ files (written by trawl, wget --warc-file, browsertrix,
Heritrix…), run the rules over the responses archived in them instead, and
write the items as JSON Lines, each with "warc": the file, offset and
WARC-Record-ID of the response it came from. Gzip a record a member or as
one whole, or none; WARC/1.0 and 1.1; chunked and gzip, deflate or br
encoded payloads; revisits resolved to their originals in the input.
Damaged records are reported with their file and offset, and skipped.

Flags:
      --config string   YAML config with extract rules (a job config will do)
  -o, --output string   with WARC files: where the items go ('-' = stdout, the default)
  -h, --help            show this help
`

// isArchive reports whether name is a WARC or WACZ file, by its name.
func isArchive(name string) bool {
	for _, ext := range []string{".warc", ".warc.gz", ".wacz"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

func cmdExtract(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("extract", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	config := fs.String("config", "", "YAML config with extract rules")
	out := fs.StringP("output", "o", "-", "where the items of WARC files go")
	fs.BoolP("help", "h", false, "show help")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *config == "" {
		return usagef("--config RULES.yaml is required")
	}
	archives := fs.NArg() > 0 && isArchive(fs.Arg(0))
	if fs.NArg() > 1 && !archives {
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
	if archives {
		return extractArchives(fs.Args(), rs, *out, stdout, stderr)
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

// extractArchives runs rs over the responses archived in files (WARC and
// WACZ files) and writes their items to out, with their provenance.
func extractArchives(files []string, rs page.Extractor, out string, stdout, stderr io.Writer) error {
	for _, f := range files {
		if !isArchive(f) {
			return usagef("%s: not a WARC or WACZ file (.warc, .warc.gz, .wacz): extract reads one JOB, or archives", f)
		}
		if _, err := os.Stat(f); err != nil {
			return usagef("%v", err)
		}
	}
	if err := checkOutput(out, files...); err != nil {
		return err
	}
	write := func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		pages, items, problems := 0, 0, 0
		err := fromwarc.Read(files, func(p fromwarc.Page) error {
			if p.Status < 200 || p.Status > 299 {
				return nil
			}
			u, err := url.Parse(p.URL)
			if err != nil {
				return nil
			}
			pages++
			found, _, err := rs.Extract(page.New(u, p.ContentType, p.Body, p.Date))
			if err != nil {
				fmt.Fprintf(stderr, "trawl extract: %s (%s at %d): %v\n", p.URL, p.Ref.File, p.Ref.Offset, err)
			}
			for i := range found {
				found[i].WARC = &p.Ref
				data, err := found[i].MarshalJSON()
				if err != nil {
					return err
				}
				bw.Write(append(data, '\n'))
				items++
			}
			return nil
		}, func(p fromwarc.Problem) {
			problems++
			fmt.Fprintf(stderr, "trawl extract: skipped %s\n", p)
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "trawl extract: %d pages read from %d files, %d items, %d records skipped\n", pages, len(files), items, problems)
		return bw.Flush()
	}
	if out == "-" {
		return write(stdout)
	}
	return atomicfile.Write(out, false, write)
}
