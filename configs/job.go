// Package configs is the one home of a job's settings. Each setting is
// declared once (see Settings): its name, which is the flag's long name
// and, with '_' for '-', its key in a YAML config; its default, help,
// check, and the field of Job it lands in. The command line's flags, the
// loading of config files, --help and docs/config.md all come from those
// declarations. Job nests the configuration each part of trawl takes as it
// is: crawler.Config for the engine, fetch.Config, politeness.Config,
// scope.Config, download.Config, warc.Config, cookies.Config and
// render.Config.
//
// The YAML files beside this package are example jobs (see docs/).
package configs

import (
	"time"

	"errors"
	"fmt"

	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/crawler/cookies"
	"github.com/trawl-dev/trawl/crawler/download"
	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/crawler/render"
	"github.com/trawl-dev/trawl/crawler/rules"
	"github.com/trawl-dev/trawl/crawler/scope"
	"github.com/trawl-dev/trawl/politeness"
	"github.com/trawl-dev/trawl/store/warc"
)

// ErrUsage marks a mistake in a command line or a config file: trawl
// exits with code 2.
var ErrUsage = errors.New("usage")

// usagef returns an error wrapping ErrUsage whose text is the message.
func usagef(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

type usageError struct{ msg string }

func (e usageError) Error() string        { return e.msg }
func (e usageError) Is(target error) bool { return target == ErrUsage }

// A Command is a trawl command that runs a job.
type Command uint8

// The commands that take job settings.
const (
	Crawl Command = 1 << iota // trawl crawl
	Fetch                     // trawl fetch
	Both  = Crawl | Fetch
)

func (c Command) String() string {
	if c == Fetch {
		return "fetch"
	}
	return "crawl"
}

// Job is the whole configuration of a crawl or a fetch.
type Job struct {
	File       string // the job file
	Seeds      []string
	Engine     crawler.Config
	Scope      scope.Config
	Fetch      fetch.Config
	Politeness politeness.Config
	Download   download.Config
	WARC       warc.Config
	Cookies    cookies.Config
	Render     render.Config
	Shared     Shared
	Output     Output
	Continuous Continuous
	Rules      rules.Rules // follow and extract, from a config file only
	// RetryFailed also queues again the URLs that failed in earlier runs.
	RetryFailed bool
	// WACZ, when set, is the file the job's WARC files are packed into
	// when a run ends.
	WACZ string
	// Recrawl starts the job's next pass when its current one is
	// finished (see crawler/job.StartPass).
	Recrawl bool
	// Config is the config file that was read, if any.
	Config string

	set map[string]bool // settings given in the config file or on the command line
}

// Continuous keeps a job running, revisiting each URL on a schedule of
// its own (see store.Schedule).
type Continuous struct {
	On              bool
	First, Min, Max time.Duration
}

// Shared names a crawl shared by several processes through Redis.
type Shared struct {
	Frontier string // redis://… ; "" keeps the queue in the job
	Crawl    string // the shared crawl's name
	Shards   int    // shards a new crawl is split over (0: the default for the server)
	Replicas int    // replicas its writes wait for (0: the default; -1: none)
}

// Output is what a run shows while it runs.
type Output struct {
	Metrics  string // address of the status page and metrics; "" for none
	Progress string // auto, bar, line or none
	Quiet    bool
	Verbose  bool
}

// Set reports whether the setting name was given, in the config file or
// on the command line, rather than left at its default.
func (j *Job) Set(name string) bool { return j.set[name] }

// Default returns the defaults of cmd's settings.
func Default(cmd Command) Job {
	j := Job{Engine: crawler.Config{Follow: cmd == Crawl}}
	for _, s := range Settings() {
		if s.Default != "" {
			if err := s.bind(&j).Set(s.Default); err != nil {
				panic(fmt.Sprintf("configs: default of %s: %v", s.Name, err)) // a declaration's mistake
			}
		}
	}
	return j
}
