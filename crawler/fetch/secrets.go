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
func (r *Redactor) Secret(name string) bool { return secret(r.names, name) }

// SecretBytes is Secret of a name in bytes.
func (r *Redactor) SecretBytes(name []byte) bool { return secret(r.names, name) }

// secret looks name up in names, ASCII letters folded to lower case,
// without allocating for the names headers have.
func secret[T string | []byte](names map[string]bool, name T) bool {
	var b [64]byte
	if len(name) > len(b) {
		return names[strings.ToLower(string(name))]
	}
	for i := range len(name) {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return names[string(b[:len(name)])]
}

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
