package main

import (
	"fmt"

	"github.com/trawl-dev/trawl/configs"
	"github.com/trawl-dev/trawl/crawler/page"
	"github.com/trawl-dev/trawl/crawler/rules"
)

// usageError is a mistake in the command line: exit code 2. (Settings'
// mistakes wrap configs.ErrUsage.)
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

// errHelp is returned when --help was asked for; the caller prints usage.
var errHelp = configs.ErrHelp

// parseFlags parses a command's own flags (those that are not job
// settings).
var parseFlags = configs.ParseFlags

// extractor compiles the job's rules; it returns nil when there are none.
// Its errors wrap crawler.ErrConfig (exit 2).
func extractor(j *configs.Job) (page.Extractor, error) {
	if len(j.Rules.Follow) == 0 && len(j.Rules.Extract) == 0 {
		return nil, nil
	}
	rs, err := rules.Compile(j.Rules)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", j.Config, err)
	}
	return rs, nil
}
