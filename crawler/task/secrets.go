package task

import (
	"net/url"
	"sync"

	"github.com/trawl-dev/trawl/crawler/fetch"
)

// Secrets keeps the secret header values of list requests out of the job:
// Strip replaces them with Redacted before the request is queued (and so
// stored), and remembers them in memory; Restore puts them back before the
// request is sent. A list read again on resume gives them again.
type Secrets struct {
	r  *fetch.Redactor
	mu sync.Mutex
	m  map[string]map[string]string // by the stripped request's ID
}

// NewSecrets returns Secrets for the headers r names.
func NewSecrets(r *fetch.Redactor) *Secrets {
	return &Secrets{r: r, m: make(map[string]map[string]string)}
}

// Strip returns t with its secret header values redacted, remembering
// them.
func (s *Secrets) Strip(t Task) Task {
	req := &t.Request
	var kept map[string]string
	for k, v := range req.Header {
		if s.r.Secret(k) && v != fetch.Redacted {
			if kept == nil {
				kept = make(map[string]string)
				h := make(map[string]string, len(req.Header))
				for k2, v2 := range req.Header {
					h[k2] = v2
				}
				req.Header = h
			}
			kept[k] = v
			req.Header[k] = fetch.Redacted
		}
	}
	if kept != nil {
		s.mu.Lock()
		s.m[t.ID()] = kept
		s.mu.Unlock()
	}
	return t
}

// Restore returns t with the secret values Strip took out put back; a
// redacted header whose value is not known (the list that gave it was not
// read this run) is left out.
func (s *Secrets) Restore(t Task) Task {
	req := &t.Request
	var redacted bool
	for _, v := range req.Header {
		if v == fetch.Redacted {
			redacted = true
		}
	}
	if !redacted {
		return t
	}
	s.mu.Lock()
	kept := s.m[t.ID()]
	s.mu.Unlock()
	h := make(map[string]string, len(req.Header))
	for k, v := range req.Header {
		switch {
		case v != fetch.Redacted:
			h[k] = v
		case kept[k] != "":
			h[k] = kept[k]
		}
	}
	req.Header = h
	return t
}

// Users are the credentials that seeds and list lines gave in their URLs,
// by origin: kept in memory only, so no job file or export holds them.
// It is safe for concurrent use; the zero value is ready.
type Users struct {
	mu sync.Mutex
	m  map[string]*url.Userinfo
}

// Remember keeps r's credentials for its origin.
func (us *Users) Remember(r fetch.Request) {
	if r.User == nil {
		return
	}
	us.mu.Lock()
	if us.m == nil {
		us.m = make(map[string]*url.Userinfo)
	}
	us.m[fetch.Origin(r.URL)] = r.User
	us.mu.Unlock()
}

// Of returns the credentials kept for u's origin, or nil.
func (us *Users) Of(u string) *url.Userinfo {
	us.mu.Lock()
	defer us.mu.Unlock()
	if len(us.m) == 0 {
		return nil
	}
	return us.m[fetch.Origin(u)]
}
