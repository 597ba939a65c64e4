package main

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"

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

  --pass N       the pass to report (default: the job's latest)
  -o, --output   file to write ('-' = stdout, the default)
`

func cmdChanges(args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("changes", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	pass := fs.Int("pass", 0, "the pass to report")
	out := fs.StringP("output", "o", "-", "output file")
	fs.BoolP("help", "h", false, "show help")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("changes takes one JOB file")
	}
	job := fs.Arg(0)
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
		n, err := export.Changes(w, st, *pass)
		if err == nil && *out != "-" {
			fmt.Fprintf(stderr, "trawl changes: %d URLs of pass %d written to %s\n", n, *pass, *out)
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
