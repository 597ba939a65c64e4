package main

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/trawl-dev/trawl/configs"
	"github.com/trawl-dev/trawl/internal/atomicfile"
	"github.com/trawl-dev/trawl/store/export"
)

const changesHelp = `Usage: trawl changes [--pass N] [-o FILE] JOB

Write the change feed of a pass over the job (see crawl --recrawl): one JSON
object a line for each URL the pass visited, with
  url, change       new, changed, unchanged, gone (404/410 where there was
                    a page) or failed
  pass, status      the pass, and the status the server answered (304 for a
                    revisit it found not modified)
  sha256, previous_sha256
                    the body's digest in this pass and the one before
  fetched_at, warc  when, and where it was archived (with --warc)
The job file is opened read-only.

With --items --config RULES.yaml, write the items' feed instead: each item
of a type whose extract rule names a key field (key: sku), compared by that
key with the items of the pass before:
  item, key, change new, changed, unchanged or gone
  pass, url         the pass, and the page it was found on
  changed, fields   the fields whose values changed, and the item's fields

  --pass N         the pass to report (default: the job's latest)
  --items          the items' feed (needs --config)
  --config FILE    the job's config, with its extract rules and their keys
  -o, --output     file to write ('-' = stdout, the default)
`

func cmdChanges(args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("changes", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	pass := fs.Int("pass", 0, "the pass to report")
	out := fs.StringP("output", "o", "-", "output file")
	items := fs.Bool("items", false, "the items' feed")
	config := fs.String("config", "", "the job's config, with extract rules")
	fs.BoolP("help", "h", false, "show help")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("changes takes one JOB file")
	}
	job := fs.Arg(0)
	keys, err := itemKeys(*items, *config)
	if err != nil {
		return err
	}
	if err := checkOutput(*out, job); err != nil {
		return err
	}
	st, err := openJobReadOnly(job)
	if err != nil {
		return err
	}
	defer st.Close()
	last, err := st.Pass()
	if err != nil {
		return err
	}
	switch {
	case *pass == 0:
		*pass = last
	case *pass < 0 || *pass > last:
		return usagef("--pass %d: %s has passes 1 to %d", *pass, job, last)
	}
	write := func(w io.Writer) error {
		n, what, err := 0, "URLs", error(nil)
		if *items {
			what = "items"
			n, err = export.ItemChanges(w, st, *pass, keys)
		} else {
			n, err = export.Changes(w, st, *pass)
		}
		if err == nil && *out != "-" {
			fmt.Fprintf(stderr, "trawl changes: %d %s of pass %d written to %s\n", n, what, *pass, *out)
		}
		return err
	}
	if *out == "-" {
		return write(stdout)
	}
	return atomicfile.Write(*out, false, write)
}

// checkOutput refuses an output path that is one of the jobs read, or an
// existing file trawl did not write.
func checkOutput(out string, jobs ...string) error {
	if out == "-" {
		return nil
	}
	for _, j := range jobs {
		if sameFile(out, j) {
			return usagef("-o %s is the job %s itself: give another output file", out, j)
		}
	}
	if !replaceable(out) {
		return usagef("-o %s exists and is not an export of trawl's: remove it, or give another output file", out)
	}
	return nil
}

// itemKeys reads the key field of each item type from the extract rules
// of config, for the items' feed.
func itemKeys(items bool, config string) (map[string]string, error) {
	switch {
	case !items && config == "":
		return nil, nil
	case !items:
		return nil, usagef("--config is for the items' feed: add --items")
	case config == "":
		return nil, usagef("--items needs --config RULES.yaml, whose extract rules name each item type's key")
	}
	o := configs.Default(configs.Crawl)
	if err := configs.Load(configs.Crawl, config, &o); err != nil {
		return nil, err
	}
	o.Config = config
	if _, err := extractor(&o); err != nil {
		return nil, err
	}
	keys := o.Rules.Keys()
	if len(keys) == 0 {
		return nil, usagef("config %s: no extract rule names a key (key: FIELD): items cannot be followed from pass to pass", config)
	}
	return keys, nil
}
