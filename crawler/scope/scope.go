// Package scope decides which links a crawl follows: the scope of its
// seeds, include and exclude patterns, and spider-trap limits.
package scope

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

// ErrOffsite is the error of a URL outside the crawl's scope.
var ErrOffsite = errors.New("outside the crawl scope")

// Scope decides which URLs a crawl follows.
type Scope struct {
	mode     string
	hosts    map[string]bool // host[:port] of each seed
	domains  map[string]bool // registrable domain of each seed
	prefixes []string        // directory URL of each seed
	include  []*regexp.Regexp
	exclude  []*regexp.Regexp
}

func New(mode string, seeds []string, include, exclude []string) (*Scope, error) {
	s := &Scope{mode: mode, hosts: map[string]bool{}, domains: map[string]bool{}}
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

// Check returns nil when the canonical URL u is in scope.
func (s *Scope) Check(u string) error {
	switch s.mode {
	case "host":
		if !s.hosts[frontier.Host(u)] {
			return ErrOffsite
		}
	case "domain":
		h := frontier.Host(u)
		if hn, _, err := net.SplitHostPort(h); err == nil {
			h = hn
		}
		if !s.domains[registrable(strings.Trim(h, "[]"))] {
			return ErrOffsite
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
			return ErrOffsite
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
			return fmt.Errorf("%w (no --include matches)", ErrOffsite)
		}
	}
	for _, re := range s.exclude {
		if re.MatchString(u) {
			return fmt.Errorf("%w (--exclude %s)", ErrOffsite, re)
		}
	}
	return nil
}
