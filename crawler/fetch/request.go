package fetch

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/store/warc"
)

// A Request is one HTTP request: a URL and, for anything but a plain GET,
// its method, headers and body. It is what a line of a JSON Lines list
// holds, less the crawl meaning a job gives it (see crawler/task).
type Request struct {
	URL    string            `json:"url,omitempty"`
	Method string            `json:"method,omitempty"`  // GET when empty
	Header map[string]string `json:"headers,omitempty"` // sent as given (User-Agent included)
	Body   string            `json:"body,omitempty"`
	// RedirectedFrom, for a redirect hop, is the URL that redirected to
	// this one: the job's secret headers are not sent to another origin.
	RedirectedFrom string `json:"-"`
	// User is the user name and password the URL held, taken out of it by
	// Canonical: sent as basic authentication to the URL's origin only,
	// never written anywhere.
	User *url.Userinfo `json:"-"`
	// Validators, when set, make the request conditional (a later pass
	// over a job asking whether a stored response still holds).
	Validators *Validators `json:"-"`
	// Previous is the URL's capture by an earlier pass, when it was
	// archived: what the archive's revisit record of the answer refers to.
	Previous *warc.Origin `json:"-"`
	// Known is the SHA-256 of the body the job holds for this request
	// from an earlier pass: a sink may keep what it wrote then.
	Known string `json:"-"`
}

// Canonical checks r's URL, method and header names, and returns r with
// its URL made canonical and its method upper-case ("" for GET).
func (r Request) Canonical() (Request, error) {
	u, err := frontier.Canonical(r.URL)
	if err != nil {
		return Request{}, err
	}
	if r.User == nil && strings.Contains(r.URL, "@") { // user info needs an '@'
		if raw, err := url.Parse(strings.TrimSpace(r.URL)); err == nil && raw.User != nil {
			r.User = raw.User
		}
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

// Origin is the scheme and host of a canonical URL.
func Origin(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
			return u[:i+3+j]
		}
	}
	return u
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
