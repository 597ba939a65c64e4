// Command trawl crawls sites, downloads URL lists and runs resumable
// scraping jobs, keeping everything in one job file.
//
// Run "trawl help" for the commands and "trawl COMMAND --help" for their
// flags.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/trawl-dev/trawl/configs"
	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/internal/jobfile"
	"github.com/trawl-dev/trawl/store"
)

// Exit codes.
const (
	exitOK          = 0   // the job finished and every URL succeeded (crawl: finished)
	exitError       = 1   // the job could not run or stopped on an error (I/O, locked job)
	exitUsage       = 2   // bad command line, config, seed or job file
	exitFailures    = 3   // fetch finished, but some URLs failed after their retries; crawl: every one failed
	exitDamaged     = 4   // the job file is damaged; nothing more was written to it
	exitInterrupted = 130 // stopped by SIGINT/SIGTERM; run the same command to resume
)

const usage = `trawl: a concurrent web crawler and bulk fetcher with resumable jobs.

Usage:
  trawl crawl  [flags] URL...    crawl from seed URLs, following links within a scope
  trawl fetch  [flags] [LIST]    fetch every URL in LIST (a file; '-' or none: stdin)
  trawl export [flags] JOB...    write a job's records or items (--format jsonl|files|items|csv);
                                 several jobs of a shared crawl merge into one record per URL
  trawl changes [--pass N] JOB   what a pass over a re-crawled job found: one JSON line a URL
                                 (new, changed, unchanged, gone, failed)
  trawl extract --config RULES [JOB]
                                 re-run extract rules over the stored pages, no network
  trawl extract --config RULES FILE.warc.gz|FILE.wacz...
                                 run them over anyone's WARC files: items with their provenance
  trawl stats  [--json] JOB      counts by status, hosts, bytes, errors, time and rate
  trawl stats  --frontier redis://HOST:PORT/DB --crawl NAME
                                 the crawl-wide view of a shared crawl, with its processes
  trawl demo   [flags]           crawl a built-in synthetic site on loopback
  trawl version                  print the version

Every job lives in one file (--job, default trawl.db). Running the same
command again resumes it: nothing already saved is fetched again.

A crawl outgrowing one machine is shared by many trawl processes through
Redis: give each the same --frontier redis://HOST:PORT/DB --crawl NAME and
a --job file of its own.

Exit codes: 0 done; 1 error; 2 bad usage, config or job file;
3 fetch finished with failed URLs (crawl: all failed); 4 damaged job file;
130 interrupted (run again to resume).

Run 'trawl COMMAND --help' for a command's flags.
`

const version = crawler.Version

func main() {
	stop := profiled()
	code := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the command line args and returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	ctx, stop := interruptible(stderr)
	defer stop()
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "crawl":
		err = cmdCrawl(ctx, rest, stderr)
	case "fetch":
		err = cmdFetch(ctx, rest, stdin, stderr)
	case "export":
		err = cmdExport(rest, stdout, stderr)
	case "extract":
		err = cmdExtract(ctx, rest, stdout, stderr)
	case "stats":
		err = cmdStats(ctx, rest, stdout)
	case "changes":
		err = cmdChanges(rest, stdout, stderr)
	case "demo":
		err = cmdDemo(ctx, rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "trawl", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		err = usagef("unknown command %q (commands: crawl, fetch, export, changes, extract, stats, demo)", cmd)
	}
	return exitCode(err, args[0], stdout, stderr)
}

// exitStatus carries an exit code out of a command that printed its own
// report.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit %d", int(e)) }

func exitCode(err error, cmd string, stdout, stderr io.Writer) int {
	var (
		ue usageError
		es exitStatus
	)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHelp):
		fmt.Fprint(stdout, helpFor(cmd))
		return exitOK
	case errors.As(err, &es):
		return int(es)
	case errors.As(err, &ue), errors.Is(err, configs.ErrUsage):
		hint := "trawl " + cmd + " --help"
		if !knownCommand(cmd) {
			hint = "trawl help"
		}
		fmt.Fprintf(stderr, "trawl %s: %v\nRun '%s' for usage.\n", cmd, err, hint)
		return exitUsage
	case errors.Is(err, crawler.ErrConfig), errors.Is(err, store.ErrNotJob),
		errors.Is(err, jobfile.ErrNewer), errors.Is(err, fs.ErrNotExist):
		fmt.Fprintf(stderr, "trawl %s: %v\n", cmd, err)
		return exitUsage
	case errors.Is(err, jobfile.ErrDamaged):
		fmt.Fprintf(stderr, "trawl %s: %v\nNothing more was written to it: restore it from a copy, or start a new job.\n", cmd, err)
		return exitDamaged
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	default:
		fmt.Fprintf(stderr, "trawl %s: %v\n", cmd, err)
		return exitError
	}
}

func knownCommand(cmd string) bool {
	switch cmd {
	case "crawl", "fetch", "export", "changes", "extract", "stats", "demo":
		return true
	}
	return false
}

// interruptible returns a context cancelled by the first SIGINT or SIGTERM.
// The command then has stopGrace to save its finished work and return; a
// second signal, or the end of the grace, exits at once (the job file is
// consistent at every commit, so nothing saved is lost).
func interruptible(stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	returned := make(chan struct{})
	go func() {
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
		fmt.Fprintln(stderr, "\ntrawl: stopping; saving finished work (press Ctrl-C again to quit now)")
		cancel()
		select {
		case <-ch:
		case <-time.After(stopGrace):
		case <-returned: // the command stopped in time
			return
		}
		fmt.Fprintln(stderr, "trawl: quit; unsaved work will be fetched again on resume")
		os.Exit(exitInterrupted)
	}()
	return ctx, func() { signal.Stop(ch); close(returned); cancel() }
}

// stopGrace is how long a command has, after SIGINT or SIGTERM, to save
// what it finished.
const stopGrace = 3 * time.Second
