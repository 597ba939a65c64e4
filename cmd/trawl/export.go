package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/trawl-dev/trawl/configs"
	"github.com/trawl-dev/trawl/crawler/cookies"
	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/crawler/links"
	"github.com/trawl-dev/trawl/crawler/task"
	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/internal/atomicfile"
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
                   body_base64 (anything else); a rendered page's DOM as
                   rendered
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
  --format wacz    a WACZ (-o site.wacz) that ReplayWeb.page and pywb open: the
                   job's WARC files (crawled with --warc), their index and its
                   pages; several jobs of a shared crawl merge into one
  --format pages   a job archived with --warc, one JSON line an archived page:
                   its requisites (images, stylesheets, scripts…) archived,
                   failed, refused by robots.txt or never fetched, and the
                   first of those missing
  --type NAME      only items of this type (items; required for csv)
  -o, --output     file or directory to write ('-' = stdout, the default)
  --no-body        jsonl without bodies
  --pass N         jsonl: each URL's record of pass N of a re-crawled job
                   (default: each URL's latest record)
  --versions       jsonl: every record of every URL, one per pass
`

func openJobReadOnly(path string) (*store.Store, error) {
	return store.Open(path, &store.Options{ReadOnly: true})
}

func cmdExport(args []string, stdout, stderr io.Writer) error {
	o, err := parseExport(args)
	if err != nil {
		return err
	}
	var stores []*store.Store
	for _, path := range o.jobs {
		st, err := openJobReadOnly(path)
		if err != nil {
			return err
		}
		defer st.Close()
		if dir, err := st.WARCDir(); err != nil {
			return err
		} else if dir == "" && (o.format == "wacz" || o.format == "pages") {
			return usagef("%s was crawled without --warc: it has no WARC files to pack (crawl with --warc DIR)", path)
		}
		stores = append(stores, st)
	}
	if o.format == "files" {
		n, err := export.Files(stores[0], o.out, o.layout)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "trawl export: %d files written under %s\n", n, o.out)
		return nil
	}
	if o.out == "-" {
		_, _, err := o.write(stdout, stores, stderr)
		return err
	}
	return atomicfile.Write(o.out, false, func(w io.Writer) error {
		n, what, err := o.write(w, stores, stderr)
		if err == nil {
			fmt.Fprintf(stderr, "trawl export: %d %s written to %s\n", n, what, o.out)
		}
		return err
	})
}

// exportOptions are the flags and jobs of trawl export.
type exportOptions struct {
	format, out, typ, layout string
	noBody, versions         bool
	pass                     int
	jobs                     []string
}

// parseExport reads and checks export's command line. An output that is
// one of the jobs it reads is refused before anything is opened.
func parseExport(args []string) (*exportOptions, error) {
	fs := pflag.NewFlagSet("export", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := &exportOptions{}
	fs.StringVar(&o.format, "format", "jsonl", "jsonl, files, items, csv or cookies")
	fs.StringVarP(&o.out, "output", "o", "-", "output file or directory")
	fs.BoolVar(&o.noBody, "no-body", false, "leave bodies out of jsonl")
	fs.StringVar(&o.typ, "type", "", "item type")
	fs.StringVar(&o.layout, "layout", "host", "file names of --format files: host, flat or hash")
	fs.IntVar(&o.pass, "pass", 0, "jsonl: each URL's record of this pass")
	fs.BoolVar(&o.versions, "versions", false, "jsonl: every pass's record of every URL")
	fs.BoolP("help", "h", false, "show help")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	o.jobs = fs.Args()
	switch {
	case len(o.jobs) == 0:
		return nil, usagef("export takes a JOB file (or several, with --format jsonl)")
	case len(o.jobs) > 1 && o.format != "jsonl" && o.format != "wacz":
		return nil, usagef("several JOB files are merged only with --format jsonl or wacz")
	case !slices.Contains([]string{"jsonl", "files", "items", "csv", "cookies", "wacz", "pages"}, o.format):
		return nil, usagef("unknown --format %q (want jsonl, files, items, csv, cookies, wacz or pages)", o.format)
	case o.format == "csv" && o.typ == "":
		return nil, usagef("--format csv needs --type NAME (one item type a CSV)")
	case !slices.Contains(layout.Modes, o.layout):
		return nil, usagef("unknown --layout %q (want host, flat or hash)", o.layout)
	case o.format == "files" && o.out == "-":
		return nil, usagef("--format files needs -o DIR")
	case (o.pass != 0 || o.versions) && (o.format != "jsonl" || len(o.jobs) > 1):
		return nil, usagef("--pass and --versions export the records of one job (--format jsonl)")
	case o.pass != 0 && o.versions:
		return nil, usagef("--pass N or --versions: choose one")
	case o.pass < 0:
		return nil, usagef("--pass %d: passes are numbered from 1", o.pass)
	}
	if o.format != "files" {
		if err := checkOutput(o.out, o.jobs...); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// exportStarts are how the files trawl export writes begin.
var exportStarts = []string{`{"url":`, `{"item":`, `{"type":`, "type,url,fetched_at", "# Netscape HTTP Cookie File (written by trawl)"}

// replaceable reports whether an export may be written to path: nothing
// is there, an empty file, or a file an earlier export wrote.
func replaceable(path string) bool {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return true
	case err != nil || !fi.Mode().IsRegular():
		return false
	case fi.Size() == 0:
		return true
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 64)
	n, _ := io.ReadFull(f, head)
	for _, start := range exportStarts {
		if strings.HasPrefix(string(head[:n]), start) {
			return true
		}
	}
	// A WACZ of trawl's: a ZIP whose first file is one of archive/.
	return n >= 38 && string(head[:4]) == "PK\x03\x04" && string(head[30:38]) == "archive/"
}

// write writes the export to w and says how many of what it wrote.
func (o *exportOptions) write(w io.Writer, stores []*store.Store, stderr io.Writer) (n int, what string, err error) {
	st := stores[0]
	switch o.format {
	case "jsonl":
		switch {
		case len(stores) > 1:
			n, err = export.MergedJSONL(w, !o.noBody, stores...)
		case o.versions || o.pass > 0:
			n, err = export.Versions(w, st, o.pass, !o.noBody)
		default:
			n, err = export.JSONL(w, st, !o.noBody)
		}
		return n, "records", err
	case "items":
		warnIncompleteItems(st, stderr)
		n, err = export.Items(w, st, o.typ)
		return n, "items", err
	case "csv":
		warnIncompleteItems(st, stderr)
		n, err = export.CSV(w, st, o.typ)
		return n, o.typ + " items", err
	case "wacz":
		n, err = export.WACZ(w, "trawl/"+version, stores...)
		return n, "pages in a WACZ", err
	case "pages":
		n, err = export.Pages(w, st, pageRequisites, func(u string) (*store.Record, error) { return requisiteRecord(st, u) })
		return n, "page reports", err
	}
	n, err = cookies.WriteNetscape(w, st.File())
	return n, "cookies", err
}

// sameFile reports whether the paths a and b are one file (through links
// too).
func sameFile(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
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

// pageRequisites returns the canonical URLs of what a stored page needs
// to render, as a crawl with --requisites finds them.
func pageRequisites(r *store.Record, body []byte) []string {
	u, err := url.Parse(r.FinalURL)
	if err != nil {
		return nil
	}
	var out []string
	for _, req := range links.Requisites(u, r.ContentType, body) {
		if c, err := frontier.Canonical(req); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// requisiteRecord returns the record of the requisite u: fetched as one,
// or as a page of the job.
func requisiteRecord(st *store.Store, u string) (*store.Record, error) {
	r, err := st.Get(task.Task{Kind: task.Requisite, Request: fetch.Request{URL: u}}.ID())
	if r != nil || err != nil {
		return r, err
	}
	return st.Get(u)
}
