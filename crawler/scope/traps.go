package scope

import (
	"errors"
	"strings"
)

// Spider-trap limits on followed links (Heritrix's defaults). URLs longer
// than frontier.MaxURLLength are refused by the frontier itself.
const (
	MaxPathSegments = 20 // path segments in a URL
	MaxRepeats      = 2  // times one segment may repeat in a row ("/a/a/a" is a trap)
	DefaultMaxDepth = 50 // hops from a seed, unless the job says otherwise
)

var ErrTrap = errors.New("looks like a spider trap")

// Trap returns ErrTrap for a canonical URL whose path is too deep or
// repeats a segment more than MaxRepeats times in a row.
func Trap(u string) error {
	rest := strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://")
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return nil
	}
	path := rest[i+1:]
	if j := strings.IndexByte(path, '?'); j >= 0 {
		path = path[:j]
	}
	n, run, prev := 0, 1, ""
	for seg := range strings.SplitSeq(path, "/") {
		if n++; n > MaxPathSegments {
			return ErrTrap
		}
		if n > 1 && seg != "" && seg == prev {
			if run++; run > MaxRepeats {
				return ErrTrap
			}
		} else {
			run = 1
		}
		prev = seg
	}
	return nil
}
