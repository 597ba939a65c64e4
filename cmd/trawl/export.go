package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/trawl-dev/trawl/configs"
	"github.com/trawl-dev/trawl/crawler/cookies"
	"github.com/trawl-dev/trawl/store"
	"github.com/trawl-dev/trawl/store/export"
	"github.com/trawl-dev/trawl/store/layout"
)

const exportHelp = `Usage: trawl export [flags] JOB [JOB...]

Write the records of a job. The job file is opened read-only. Several jobs
(the job files of the processes of one shared crawl) are merged into one
JSON Lines stream, one record per URL.

  --format jsonl   one JSON object a line (default): url, final_url, status,
                   depth, content_type, length, sha256, attempts, error,
                   fetched_at, duration_ms, headers, and body (UTF-8 text) or
                   body_base64 (anything else)
  --format files   each successful body as a file under -o DIR, named
                   DIR/host/path (index.html for directories, query after '@');
                   names are made safe and clashes get a "~hash" variant
  --layout L       names for files: host (default), flat (last segment only)
                   or hash (DIR/ab/abcdef….ext)
  --format items   the extracted items as JSON Lines: type, url, fetched_at
                   and the fields, one flat object a line
  --format csv     the items of one --type as CSV with a header row (fields in
                   name order; lists as JSON)
  --format cookies the job's cookies (kept with --cookies) as a Netscape
                   cookies.txt, for curl -b, wget --load-cookies or a browser
  --type NAME      only items of this type (items; required for csv)
  -o, --output     file or directory to write ('-' = stdout, the default)
  --no-body        jsonl without bodies
`

func openJobReadOnly(path string) (*store.Store, error) {
	return store.Open(path, &store.Options{ReadOnly: true})
}

func cmdExport(args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("export", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.String("format", "jsonl", "jsonl or files")
	out := fs.StringP("output", "o", "-", "output file or directory")
	noBody := fs.Bool("no-body", false, "leave bodies out of jsonl")
	typ := fs.String("type", "", "item type")
	names := fs.String("layout", "host", "file names of --format files: host, flat or hash")
	fs.BoolP("help", "h", false, "show help")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("export takes a JOB file (or several, with --format jsonl)")
	}
	if fs.NArg() > 1 && *format != "jsonl" {
		return usagef("several JOB files are merged only with --format jsonl")
	}
	switch *format {
	case "jsonl", "files", "items", "csv", "cookies":
	default:
		return usagef("unknown --format %q (want jsonl, files, items, csv or cookies)", *format)
	}
	if *format == "csv" && *typ == "" {
		return usagef("--format csv needs --type NAME (one item type a CSV)")
	}
	switch *names {
	case layout.Host, layout.Flat, layout.Hash:
	default:
		return usagef("unknown --layout %q (want host, flat or hash)", *names)
	}
	if *format == "files" && *out == "-" {
		return usagef("--format files needs -o DIR")
	}
	var stores []*store.Store
	for _, path := range fs.Args() {
		st, err := openJobReadOnly(path)
		if err != nil {
			return err
		}
		defer st.Close()
		stores = append(stores, st)
	}
	st := stores[0]
	if *format == "files" {
		n, err := export.Files(st, *out, *names)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "trawl export: %d files written under %s\n", n, *out)
		return nil
	}
	w := stdout
	var file *os.File
	var err error
	if *out != "-" {
		if file, err = os.Create(*out); err != nil {
			return err
		}
		defer file.Close()
		w = file
	}
	var n int
	what := "records"
	switch *format {
	case "jsonl":
		if len(stores) > 1 {
			n, err = export.MergedJSONL(w, !*noBody, stores...)
		} else {
			n, err = export.JSONL(w, st, !*noBody)
		}
	case "items":
		warnIncompleteItems(st, stderr)
		n, err = export.Items(w, st, *typ)
		what = "items"
	case "csv":
		warnIncompleteItems(st, stderr)
		n, err = export.CSV(w, st, *typ)
		what = *typ + " items"
	case "cookies":
		n, err = cookies.WriteNetscape(w, st.File())
		what = "cookies"
	}
	if err != nil {
		return err
	}
	if file != nil {
		if err := file.Close(); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "trawl export: %d %s written to %s\n", n, what, *out)
	}
	return nil
}

// cmdStats prints a job's report (see statsReport), or a shared crawl's.
func cmdStats(ctx context.Context, args []string, stdout io.Writer) error {
	fs := pflag.NewFlagSet("stats", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "print the counts as one JSON object, for scripts")
	addr := fs.String("frontier", "", "the Redis of a shared crawl: print the crawl-wide view (with --crawl)")
	name := fs.String("crawl", "", "the shared crawl's name")
	check := fs.Bool("check", false, "also read every record, to find a job damaged inside (exit 4); seconds a million records")
	fs.BoolP("help", "h", false, "show help")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *addr != "" || *name != "" {
		if err := configs.CheckShared(*addr, *name); err != nil {
			return err
		}
		if fs.NArg() != 0 {
			return usagef("stats --frontier takes no JOB file")
		}
		return sharedStats(ctx, *addr, *name, *asJSON, stdout)
	}
	if fs.NArg() != 1 {
		return usagef("stats takes one JOB file, got %d arguments", fs.NArg())
	}
	st, err := openJobReadOnly(fs.Arg(0))
	if err != nil {
		return err
	}
	defer st.Close()
	if *check {
		if err := st.Check(); err != nil {
			return err
		}
	}
	r, err := newStatsReport(st)
	if err != nil {
		return err
	}
	if *asJSON {
		return r.json(stdout)
	}
	r.text(stdout)
	return nil
}

// top returns the n keys with the largest counts.
func top(m map[string]int, n int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return strings.Compare(keys[i], keys[j]) < 0
	})
	return keys[:min(n, len(keys))]
}

// warnIncompleteItems says so when an interrupted "trawl extract" left the
// job with the items of only some pages.
func warnIncompleteItems(st *store.Store, w io.Writer) {
	if bad, err := st.ItemsIncomplete(); err == nil && bad {
		fmt.Fprintf(w, "warning   the items are incomplete: a 'trawl extract' on %s was interrupted; run it again\n", st.Path())
	}
}
