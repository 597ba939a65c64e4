package fetch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
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
	// Via, for a redirect hop, is the request that was redirected and the
	// chain so far: a hop is queued and scheduled as a request of its own.
	Via *Via `json:"via,omitempty"`
	// Requisite says the request is for something a page needs to render
	// (an image, a stylesheet, a script): fetched from any host, followed
	// for no links (a stylesheet for its own requisites only).
	Requisite bool `json:"requisite,omitempty"`
	// Sitemap, when positive, says the request is for a sitemap, found
	// that many sitemap indexes deep (1: named by robots.txt, or the
	// host's /sitemap.xml).
	Sitemap int `json:"sitemap,omitempty"`
	// User is the user name and password the URL held, taken out of it by
	// Canonical: sent as basic authentication to the URL's origin only,
	// never written anywhere.
	User *url.Userinfo `json:"-"`
}

// Via is where a redirect hop comes from.
type Via struct {
	URL   string   `json:"url"`             // the redirected request's canonical URL
	Spec  string   `json:"spec,omitempty"`  // and its frontier Spec
	Depth int      `json:"depth,omitempty"` // and its depth (a hop is queued at depth 0, which no budget drops)
	Chain []string `json:"chain"`           // the URLs that redirected, in order, the first being URL
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
	if r.Method == "" && len(r.Header) == 0 && r.Body == "" && r.Out == "" && r.Via == nil && !r.Requisite && r.Sitemap == 0 {
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
// (its URL canonical): what frontier.Request.ID gives for it, or for a
// redirect hop, for the request that was redirected.
func (r Request) ID() string {
	if r.Via != nil { // a hop: the redirected request's
		return frontier.Request{URL: r.Via.URL, Spec: r.Via.Spec}.ID()
	}
	if r.Method == "" && len(r.Header) == 0 && r.Body == "" && r.Out == "" && !r.Requisite && r.Sitemap == 0 {
		return r.URL
	}
	fr, err := r.Frontier()
	if err != nil {
		return r.URL
	}
	return fr.ID()
}

// Named returns the URL a body's file is named after: the redirected
// request's, for a hop.
func (r Request) Named() string {
	if r.Via != nil {
		return r.Via.URL
	}
	return r.URL
}

// Hop returns the request to make for a redirect of r (queued as from) to
// target (a canonical URL) with status: 301, 302 and 303 turn anything but HEAD into
// a GET without a body, and credentials are not sent to another origin.
func (r Request) Hop(from frontier.Request, target string, status int) Request {
	h := r
	h.URL = target
	via := Via{URL: from.URL, Spec: from.Spec, Depth: from.Depth, Chain: []string{r.URL}}
	if r.Via != nil {
		via = *r.Via
		via.Chain = append(slices.Clone(r.Via.Chain), r.URL)
	}
	h.Via = &via
	if (status == 301 || status == 302 || status == 303) && r.Method != "" && r.Method != http.MethodHead {
		h.Method, h.Body = "", ""
	}
	if origin(target) != origin(r.URL) && len(r.Header) > 0 {
		h.Header = make(map[string]string, len(r.Header))
		for k, v := range r.Header {
			switch strings.ToLower(k) {
			case "authorization", "cookie", "proxy-authorization":
			default:
				h.Header[k] = v
			}
		}
	}
	return h
}

// origin is the scheme and host of a canonical URL.
func origin(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
			return u[:i+3+j]
		}
	}
	return u
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
