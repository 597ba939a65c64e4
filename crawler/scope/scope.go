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

// A Mode says which hosts and paths a crawl follows links to.
type Mode string

// The modes of a scope.
const (
	Host    Mode = "host"    // the seeds' hosts
	Domain  Mode = "domain"  // the seeds' registrable domains, subdomains included
	Subtree Mode = "subtree" // below each seed's directory
	Any     Mode = "any"     // anywhere
)

// Modes lists the modes a Config may name.
var Modes = []Mode{Host, Domain, Subtree, Any}

// Reaches reports whether m follows links beyond the seeds' own hosts.
func (m Mode) Reaches() bool { return m == Domain || m == Any }

// Config is the scope of a crawl, as its settings give it.
type Config struct {
	Mode    Mode     // "" is Host
	Include []string // follow only URLs matching one of these regexps
	Exclude []string // never follow URLs matching one of these regexps
}

// Check reports what is wrong with c: an unknown mode or a bad pattern.
func (c Config) Check() error {
	_, err := New(c, nil)
	return err
}

// ErrOffsite is the error of a URL outside the crawl's scope.
var ErrOffsite = errors.New("outside the crawl scope")

// Scope decides which URLs a crawl follows.
type Scope struct {
	mode     Mode
	hosts    map[string]bool // host[:port] of each seed
	domains  map[string]bool // registrable domain of each seed
	prefixes []string        // directory URL of each seed
	include  []*regexp.Regexp
	exclude  []*regexp.Regexp
}

// New returns the scope c makes around the canonical seeds.
func New(c Config, seeds []string) (*Scope, error) {
	s := &Scope{mode: c.Mode, hosts: map[string]bool{}, domains: map[string]bool{}}
	switch c.Mode {
	case "":
		s.mode = Host
	case Host, Domain, Subtree, Any:
	default:
		return nil, fmt.Errorf("unknown scope %q (want host, domain, subtree or any)", c.Mode)
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
	if s.include, err = compileAll("include", c.Include); err != nil {
		return nil, err
	}
	if s.exclude, err = compileAll("exclude", c.Exclude); err != nil {
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
	case Host:
		if !s.hosts[frontier.Host(u)] {
			return ErrOffsite
		}
	case Domain:
		h := frontier.Host(u)
		if hn, _, err := net.SplitHostPort(h); err == nil {
			h = hn
		}
		if !s.domains[registrable(strings.Trim(h, "[]"))] {
			return ErrOffsite
		}
	case Subtree:
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
