package fetch

import (
	"net/http"
	"strings"
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
