// Package task defines what a job queues: a Task is one HTTP request with
// the crawl meaning the engine gives it (its Kind, where a redirect came
// from, the file it is saved as). It owns the one encoding of a task into
// the frontier's opaque Spec and the one definition of a task's identity.
//
// The encoding is stable: a job written by any earlier trawl decodes to
// the same tasks, with the same identities, so a resumed job fetches
// nothing twice.
package task

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/frontier"
)

// Kind says what a task is for, and so what is discovered in its answer.
type Kind uint8

// The kinds of task.
const (
	// Page is a page of the job: its links and items are extracted.
	Page Kind = iota
	// Requisite is something a page needs to render (an image, a
	// stylesheet, a script), fetched from any host; a stylesheet is read
	// for its own requisites only.
	Requisite
	// Sitemap is a sitemap or sitemap index; Task.Level says how deep.
	Sitemap
	// Robots is a robots.txt file. Politeness fetches those itself; the
	// kind names them where a fetch is reported.
	Robots
)

var kindNames = [...]string{Page: "page", Requisite: "requisite", Sitemap: "sitemap", Robots: "robots"}

// String returns the kind's name: page, requisite, sitemap or robots.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// A Task is one request a job queues.
type Task struct {
	Kind Kind
	// Level is a Sitemap's depth among sitemap indexes (1: named by
	// robots.txt, or the host's /sitemap.xml).
	Level int
	// Request is the HTTP request to make.
	Request fetch.Request
	// Out is the file name to save the body as, under a download folder.
	Out string
	// Via, for a redirect hop, is the request that was redirected and the
	// chain so far: a hop is queued and scheduled as a request of its own.
	Via *Via
}

// Via is where a redirect hop comes from.
type Via struct {
	URL   string   `json:"url"`             // the redirected request's canonical URL
	Spec  string   `json:"spec,omitempty"`  // and its frontier Spec
	Depth int      `json:"depth,omitempty"` // and its depth (a hop is queued at depth 0, which no budget drops)
	Chain []string `json:"chain"`           // the URLs that redirected, in order, the first being URL
}

// Get returns a Page task for a plain GET of u.
func Get(u string) Task { return Task{Request: fetch.Request{URL: u}} }

// spec is a task's encoding in frontier.Request.Spec. Its fields and their
// order are those jobs have always held.
type spec struct {
	Method    string            `json:"method,omitempty"`
	Header    map[string]string `json:"headers,omitempty"`
	Body      string            `json:"body,omitempty"`
	Out       string            `json:"out,omitempty"`
	Via       *Via              `json:"via,omitempty"`
	Requisite bool              `json:"requisite,omitempty"`
	Sitemap   int               `json:"sitemap,omitempty"`
}

// plain reports whether t is a GET of a page with nothing else to say: its
// Spec is "".
func (t Task) plain() bool {
	r := t.Request
	return t.Kind == Page && r.Method == "" && len(r.Header) == 0 && r.Body == "" && t.Out == "" && t.Via == nil
}

// Canonical checks t's request (see fetch.Request.Canonical) and returns t
// with it made canonical.
func (t Task) Canonical() (Task, error) {
	r, err := t.Request.Canonical()
	if err != nil {
		return Task{}, err
	}
	t.Request = r
	return t, nil
}

// Encode returns t as the frontier queues it: its URL, and the rest in
// Spec ("" for a plain GET). t's URL must be canonical (see Canonical).
func (t Task) Encode() (frontier.Request, error) {
	fr := frontier.Request{URL: t.Request.URL}
	if t.plain() {
		return fr, nil
	}
	s := spec{Method: t.Request.Method, Header: t.Request.Header, Body: t.Request.Body, Out: t.Out, Via: t.Via}
	switch t.Kind {
	case Requisite:
		s.Requisite = true
	case Sitemap:
		s.Sitemap = max(t.Level, 1)
	}
	data, err := json.Marshal(&s)
	if err != nil {
		return frontier.Request{}, err
	}
	fr.Spec = string(data)
	return fr, nil
}

// Decode reads back what Encode queued.
func Decode(fr frontier.Request) (Task, error) {
	t := Task{Request: fetch.Request{URL: fr.URL}}
	if fr.Spec == "" {
		return t, nil
	}
	var s spec
	if err := json.Unmarshal([]byte(fr.Spec), &s); err != nil {
		return Task{}, fmt.Errorf("frontier gave a bad request for %s: %w", fr.URL, err)
	}
	t.Request.Method, t.Request.Header, t.Request.Body, t.Out, t.Via = s.Method, s.Header, s.Body, s.Out, s.Via
	switch {
	case s.Sitemap > 0:
		t.Kind, t.Level = Sitemap, s.Sitemap
	case s.Requisite:
		t.Kind = Requisite
	}
	if t.Via != nil {
		t.Request.RedirectedFrom = t.Via.URL
	}
	return t, nil
}

// ID returns t's identity, the key of its record and its file: what
// frontier.Request.ID gives for its encoding, or, for a redirect hop, for
// the request that was redirected. t's URL must be canonical.
func (t Task) ID() string {
	if t.Via != nil {
		return frontier.Request{URL: t.Via.URL, Spec: t.Via.Spec}.ID()
	}
	if t.plain() {
		return t.Request.URL
	}
	fr, err := t.Encode()
	if err != nil {
		return t.Request.URL
	}
	return fr.ID()
}

// Source returns the request t's record is for: the one that was
// redirected, for a hop; from is t as the frontier queued it.
func (t Task) Source(from frontier.Request) frontier.Request {
	if t.Via != nil {
		return frontier.Request{URL: t.Via.URL, Spec: t.Via.Spec, Depth: t.Via.Depth}
	}
	return from
}

// Redirect returns the encoded hop (see Hop) that follows a redirect of t
// to target, or why the chain ends here: a loop, or more than
// fetch.MaxRedirects redirects.
func (t Task) Redirect(from frontier.Request, target string, status int) (frontier.Request, error) {
	chain := t.Chain()
	switch {
	case slices.Contains(chain, target):
		return frontier.Request{}, fmt.Errorf("redirect loop at %s", target)
	case len(chain) >= fetch.MaxRedirects:
		return frontier.Request{}, fmt.Errorf("stopped after %d redirects", fetch.MaxRedirects)
	}
	return t.Hop(from, target, status).Encode()
}

// Hop returns the task for a redirect of t (queued as from) to target (a
// canonical URL) with status: 301, 302 and 303 turn anything but HEAD into
// a GET without a body, and secret headers are not sent to another origin.
func (t Task) Hop(from frontier.Request, target string, status int) Task {
	h := t
	r := t.Request
	h.Request.URL = target
	via := Via{URL: from.URL, Spec: from.Spec, Depth: from.Depth, Chain: []string{r.URL}}
	if t.Via != nil {
		via = *t.Via
		via.Chain = append(slices.Clone(t.Via.Chain), r.URL)
	}
	h.Via = &via
	h.Request.RedirectedFrom = via.URL
	if (status == 301 || status == 302 || status == 303) && r.Method != "" && r.Method != http.MethodHead {
		h.Request.Method, h.Request.Body = "", ""
	}
	if fetch.Origin(target) != fetch.Origin(r.URL) && len(r.Header) > 0 {
		h.Request.Header = make(map[string]string, len(r.Header))
		for k, v := range r.Header {
			switch strings.ToLower(k) {
			case "authorization", "cookie", "proxy-authorization":
			default:
				h.Request.Header[k] = v
			}
		}
	}
	return h
}

// Chain returns the URLs that redirected to t, in order, and t's own.
func (t Task) Chain() []string {
	if t.Via == nil {
		return []string{t.Request.URL}
	}
	return append(slices.Clone(t.Via.Chain), t.Request.URL)
}

// Target returns what a sink names t's body by.
func (t Task) Target() fetch.Target {
	return fetch.Target{ID: t.ID(), URL: t.Request.URL, Method: t.Request.Method, Out: t.Out, Previous: t.Request.Previous,
		Known: t.Request.Known}
}
