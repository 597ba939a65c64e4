package fetch

import (
	"net/http"
	"strings"
	"sync"
)

// Redacted stands for a secret header value wherever one would be written.
const Redacted = "[redacted]"

// Redactor knows which headers hold secrets: Authorization, Cookie,
// Proxy-Authorization and Set-Cookie, and the names the job adds.
type Redactor struct{ names map[string]bool }

// NewRedactor returns a Redactor of the usual secret headers and extra.
func NewRedactor(extra []string) *Redactor {
	r := &Redactor{names: map[string]bool{"authorization": true, "cookie": true, "proxy-authorization": true, "set-cookie": true}}
	for _, n := range extra {
		r.names[strings.ToLower(strings.TrimSpace(n))] = true
	}
	return r
}

// Secret reports whether the header name holds a secret.
func (r *Redactor) Secret(name string) bool { return r.names[strings.ToLower(name)] }

// Header returns h with the values of its secret headers replaced by
// Redacted (h itself when it has none).
func (r *Redactor) Header(h http.Header) http.Header {
	var out http.Header
	for k := range h {
		if r.Secret(k) {
			if out == nil {
				out = h.Clone()
			}
			out[k] = []string{Redacted}
		}
	}
	if out == nil {
		return h
	}
	return out
}

// Secrets keeps the secret header values of list requests out of the job:
// Strip replaces them with Redacted before the request is queued (and so
// stored), and remembers them in memory; Restore puts them back before the
// request is sent. A list read again on resume gives them again.
type Secrets struct {
	r  *Redactor
	mu sync.Mutex
	m  map[string]map[string]string // by the stripped request's ID
}

// NewSecrets returns Secrets for the headers r names.
func NewSecrets(r *Redactor) *Secrets {
	return &Secrets{r: r, m: make(map[string]map[string]string)}
}

// Strip returns req with its secret header values redacted, remembering
// them.
func (s *Secrets) Strip(req Request) Request {
	var kept map[string]string
	for k, v := range req.Header {
		if s.r.Secret(k) && v != Redacted {
			if kept == nil {
				kept = make(map[string]string)
				h := make(map[string]string, len(req.Header))
				for k2, v2 := range req.Header {
					h[k2] = v2
				}
				req.Header = h
			}
			kept[k] = v
			req.Header[k] = Redacted
		}
	}
	if kept != nil {
		s.mu.Lock()
		s.m[req.ID()] = kept
		s.mu.Unlock()
	}
	return req
}

// Restore returns req with the secret values Strip took out put back; a
// redacted header whose value is not known (the list that gave it was not
// read this run) is left out.
func (s *Secrets) Restore(req Request) Request {
	var redacted bool
	for _, v := range req.Header {
		if v == Redacted {
			redacted = true
		}
	}
	if !redacted {
		return req
	}
	s.mu.Lock()
	kept := s.m[req.ID()]
	s.mu.Unlock()
	h := make(map[string]string, len(req.Header))
	for k, v := range req.Header {
		switch {
		case v != Redacted:
			h[k] = v
		case kept[k] != "":
			h[k] = kept[k]
		}
	}
	req.Header = h
	return req
}
