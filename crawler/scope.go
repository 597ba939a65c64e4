package crawler

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/trawl-dev/trawl/frontier"
)

// Scopes lists the values Config.Scope accepts.
var Scopes = []string{"host", "domain", "subtree", "any"}

// errOffsite is the error of a URL outside the crawl's scope.
var errOffsite = errors.New("outside the crawl scope")

// scope decides which URLs a crawl follows.
type scope struct {
	mode     string
	hosts    map[string]bool // host[:port] of each seed
	domains  map[string]bool // registrable domain of each seed
	prefixes []string        // directory URL of each seed
	include  []*regexp.Regexp
	exclude  []*regexp.Regexp
}

func newScope(mode string, seeds []string, include, exclude []string) (*scope, error) {
	s := &scope{mode: mode, hosts: map[string]bool{}, domains: map[string]bool{}}
	switch mode {
	case "":
		s.mode = "host"
	case "host", "domain", "subtree", "any":
	default:
		return nil, fmt.Errorf("unknown scope %q (want %s)", mode, strings.Join(Scopes, ", "))
	}
	for _, seed := range seeds {
		u, err := url.Parse(seed)
		if err != nil {
			return nil, err
		}
		s.hosts[u.Host] = true
		s.domains[registrable(u.Hostname())] = true
		dir := seed
		if i := strings.LastIndexByte(u.Path, '/'); i >= 0 {
			dir = u.Scheme + "://" + u.Host + u.Path[:i+1]
		}
		s.prefixes = append(s.prefixes, dir)
	}
	var err error
	if s.include, err = compileAll("include", include); err != nil {
		return nil, err
	}
	if s.exclude, err = compileAll("exclude", exclude); err != nil {
		return nil, err
	}
	return s, nil
}

func compileAll(what string, exprs []string) ([]*regexp.Regexp, error) {
	var res []*regexp.Regexp
	for _, e := range exprs {
		re, err := regexp.Compile(e)
		if err != nil {
			return nil, fmt.Errorf("bad %s pattern %q: %w", what, e, err)
		}
		res = append(res, re)
	}
	return res, nil
}

// registrable returns the registrable domain of host ("www.example.co.uk"
// → "example.co.uk"), or host itself for IP addresses and bare names.
func registrable(host string) string {
	if net.ParseIP(host) != nil {
		return host
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return host
	}
	return d
}

// check returns nil when the canonical URL u is in scope.
func (s *scope) check(u string) error {
	switch s.mode {
	case "host":
		if !s.hosts[frontier.Host(u)] {
			return errOffsite
		}
	case "domain":
		h := frontier.Host(u)
		if hn, _, err := net.SplitHostPort(h); err == nil {
			h = hn
		}
		if !s.domains[registrable(strings.Trim(h, "[]"))] {
			return errOffsite
		}
	case "subtree":
		ok := false
		for _, p := range s.prefixes {
			if strings.HasPrefix(u, p) {
				ok = true
				break
			}
		}
		if !ok {
			return errOffsite
		}
	}
	if len(s.include) > 0 {
		ok := false
		for _, re := range s.include {
			if re.MatchString(u) {
				ok = true
				break
			}
		}
		if !ok {
			return fmt.Errorf("%w (no --include matches)", errOffsite)
		}
	}
	for _, re := range s.exclude {
		if re.MatchString(u) {
			return fmt.Errorf("%w (--exclude %s)", errOffsite, re)
		}
	}
	return nil
}
