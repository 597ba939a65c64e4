package fetch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/trawl-dev/trawl/frontier"
)

// A Request is one entry of a URL list: a URL and, for anything but a
// plain GET, its method, headers, body and output file name. It is what a
// line of a JSON Lines list holds.
type Request struct {
	URL    string            `json:"url,omitempty"`
	Method string            `json:"method,omitempty"`  // GET when empty
	Header map[string]string `json:"headers,omitempty"` // sent as given (User-Agent included)
	Body   string            `json:"body,omitempty"`
	Out    string            `json:"out,omitempty"` // file name under the download folder, made safe
	// User is the user name and password the URL held, taken out of it by
	// Canonical: sent as basic authentication to the URL's origin only,
	// never written anywhere.
	User *url.Userinfo `json:"-"`
}

// Canonical checks r's URL, method and header names, and returns r with
// its URL made canonical and its method upper-case ("" for GET).
func (r Request) Canonical() (Request, error) {
	u, err := frontier.Canonical(r.URL)
	if err != nil {
		return Request{}, err
	}
	if raw, err := url.Parse(strings.TrimSpace(r.URL)); err == nil && raw.User != nil && r.User == nil {
		r.User = raw.User
	}
	r.URL = u
	if r.Method = strings.ToUpper(r.Method); r.Method == http.MethodGet {
		r.Method = ""
	}
	for _, c := range r.Method {
		if c < 'A' || c > 'Z' {
			return Request{}, fmt.Errorf("bad method %q", r.Method)
		}
	}
	for k := range r.Header {
		if k == "" || strings.ContainsAny(k, " :\r\n") {
			return Request{}, fmt.Errorf("bad header name %q", k)
		}
	}
	return r, nil
}

// Frontier returns r as the frontier queues it: its canonical URL, and the
// rest as JSON in Spec ("" for a plain GET).
func (r Request) Frontier() (frontier.Request, error) {
	r, err := r.Canonical()
	if err != nil {
		return frontier.Request{}, err
	}
	return r.CanonicalFrontier()
}

// CanonicalFrontier is Frontier for a request Canonical returned.
func (r Request) CanonicalFrontier() (frontier.Request, error) {
	fr := frontier.Request{URL: r.URL}
	if r.Method == "" && len(r.Header) == 0 && r.Body == "" && r.Out == "" {
		return fr, nil
	}
	r.URL, r.User = "", nil
	data, err := json.Marshal(&r)
	if err != nil {
		return frontier.Request{}, err
	}
	fr.Spec = string(data)
	return fr, nil
}

// ID returns the identity of r, a request read back from the frontier
// (its URL canonical): what frontier.Request.ID gives for it.
func (r Request) ID() string {
	if r.Method == "" && len(r.Header) == 0 && r.Body == "" && r.Out == "" {
		return r.URL
	}
	fr, err := r.Frontier()
	if err != nil {
		return r.URL
	}
	return fr.ID()
}

// FromFrontier reads back what Frontier queued.
func FromFrontier(fr frontier.Request) (Request, error) {
	var r Request
	if fr.Spec != "" {
		if err := json.Unmarshal([]byte(fr.Spec), &r); err != nil {
			return Request{}, fmt.Errorf("frontier gave a bad request for %s: %w", fr.URL, err)
		}
	}
	r.URL = fr.URL
	return r, nil
}

// httpRequest builds the HTTP request of one attempt.
func (r Request) httpRequest(ctx context.Context, userAgent string) (*http.Request, error) {
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.URL, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", userAgent)
	if r.User != nil {
		pw, _ := r.User.Password()
		req.SetBasicAuth(r.User.Username(), pw)
	}
	return req, nil
}
