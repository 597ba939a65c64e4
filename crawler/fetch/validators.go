package fetch

import (
	"net/http"
	"strings"
)

// Validators make a request conditional (RFC 9110 §13): what a stored
// response said of itself, so that a server whose resource has not
// changed answers 304 Not Modified without the body.
type Validators struct {
	ETag         string // sent as If-None-Match (strong or weak)
	LastModified string // sent as If-Modified-Since
	// Vary holds the values the request headers the stored response's
	// Vary named had when it was fetched: the validators belong to that
	// request, and are not sent when one of them differs now.
	Vary map[string]string
}

// apply adds v's conditional headers to h, the headers of the request
// about to be sent, and reports whether it did.
func (v *Validators) apply(h http.Header) bool {
	if v == nil || v.ETag == "" && v.LastModified == "" {
		return false
	}
	for k, val := range v.Vary {
		if k == "*" || h.Get(k) != val {
			return false
		}
	}
	if v.ETag != "" {
		h.Set("If-None-Match", v.ETag)
	}
	if v.LastModified != "" {
		h.Set("If-Modified-Since", v.LastModified)
	}
	return true
}

// varied returns the values in sent (a request's headers) of the headers
// the response headers got name in Vary; nil when there are none.
func varied(got, sent http.Header) map[string]string {
	var out map[string]string
	for _, line := range got.Values("Vary") {
		for name := range strings.SplitSeq(line, ",") {
			name = http.CanonicalHeaderKey(strings.TrimSpace(name))
			if name == "" {
				continue
			}
			if out == nil {
				out = make(map[string]string)
			}
			if name == "*" {
				out["*"] = ""
				continue
			}
			out[name] = strings.Join(sent.Values(name), ", ")
		}
	}
	return out
}
