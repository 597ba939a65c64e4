// Package cookies is a job's cookie jar: the standard library's jar with
// the public suffix list (so no site sets a cookie for all of .co.uk),
// kept in the job file so that a resumed job goes on with its session,
// and read from or written as a Netscape cookies.txt, the format curl,
// wget and browser extensions use.
package cookies

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/trawl-dev/trawl/internal/jobfile"
)

// Jar is an http.CookieJar that remembers every cookie set, to save it.
// It is safe for concurrent use.
type Jar struct {
	jar   *cookiejar.Jar
	mu    sync.Mutex
	dirty map[string]saved           // set since the last SaveTx, by key
	keys  map[string]map[string]bool // the cookies each host set, by key
}

// Browsers' bounds on what a site may keep in the jar: a cookie's name and
// value of at most MaxCookieSize bytes, and MaxCookiesPerHost cookies a
// host. Past them a cookie is refused, as browsers do, so a site cannot
// make every later request carry megabytes.
const (
	MaxCookieSize     = 4096
	MaxCookiesPerHost = 180
)

// saved is a cookie as kept in the job: the URL that set it, and it.
type saved struct {
	URL    string       `json:"url"`
	Cookie *http.Cookie `json:"cookie"`
}

// New returns an empty Jar.
func New() *Jar {
	j, _ := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List})
	return &Jar{jar: j, dirty: make(map[string]saved), keys: make(map[string]map[string]bool)}
}

// Open returns the jar of the job in f, with the cookies its earlier runs
// saved, and those of the Netscape cookies.txt at file (if not "").
func Open(f *jobfile.File, file string) (*Jar, error) {
	j := New()
	if _, err := j.Load(f); err != nil {
		return nil, err
	}
	if file != "" {
		fh, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("cookies: %w", err)
		}
		defer fh.Close()
		if _, err := j.ReadNetscape(fh); err != nil {
			return nil, fmt.Errorf("cookies %s: %w", file, err)
		}
	}
	return j, nil
}

// key names a cookie as the jar keeps it: its domain, path and name.
func key(u *url.URL, c *http.Cookie) string {
	domain := strings.TrimPrefix(strings.ToLower(c.Domain), ".")
	if domain == "" {
		domain = strings.ToLower(u.Hostname())
	}
	path := c.Path
	if path == "" {
		path = "/"
	}
	return domain + "\x00" + path + "\x00" + c.Name
}

// accepted reports whether the jar takes c from u: a Domain attribute
// must cover u's host and be no public suffix (as the jar decides).
func accepted(u *url.URL, c *http.Cookie) bool {
	if c.Domain == "" {
		return true
	}
	d := strings.TrimPrefix(strings.ToLower(c.Domain), ".")
	host := strings.ToLower(u.Hostname())
	if host != d && !strings.HasSuffix(host, "."+d) {
		return false
	}
	if ps, _ := publicsuffix.PublicSuffix(d); ps == d {
		return host == d
	}
	return true
}

// SetCookies implements http.CookieJar.
func (j *Jar) SetCookies(u *url.URL, cs []*http.Cookie) {
	cs = j.bounded(u, cs)
	j.jar.SetCookies(u, cs)
	origin := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/"}).String()
	now := time.Now()
	j.mu.Lock()
	for _, c := range cs {
		if !accepted(u, c) {
			continue // the jar refused it: not kept either
		}
		if c.MaxAge > 0 { // kept as a date: a resumed job must not extend it
			cc := *c
			cc.Expires, cc.MaxAge = now.Add(time.Duration(c.MaxAge)*time.Second), 0
			c = &cc
		}
		j.dirty[key(u, c)] = saved{origin, c}
	}
	j.mu.Unlock()
}

// bounded returns the cookies of cs the jar takes: none over
// MaxCookieSize, and no new one of a host that set MaxCookiesPerHost.
func (j *Jar) bounded(u *url.URL, cs []*http.Cookie) []*http.Cookie {
	host := strings.ToLower(u.Hostname())
	j.mu.Lock()
	defer j.mu.Unlock()
	keys := j.keys[host]
	if keys == nil {
		keys = make(map[string]bool)
		j.keys[host] = keys
	}
	out := cs[:0:0]
	for _, c := range cs {
		k := key(u, c)
		if len(c.Name)+len(c.Value) > MaxCookieSize || !keys[k] && len(keys) >= MaxCookiesPerHost {
			continue
		}
		keys[k] = true
		out = append(out, c)
	}
	return out
}

// Cookies implements http.CookieJar.
func (j *Jar) Cookies(u *url.URL) []*http.Cookie { return j.jar.Cookies(u) }

// Dirty reports whether cookies were set since the last SaveTx.
func (j *Jar) Dirty() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.dirty) > 0
}

// SaveTx writes the cookies set since the last call to the job in tx.
func (j *Jar) SaveTx(tx *jobfile.Tx) error {
	j.mu.Lock()
	dirty := j.dirty
	j.dirty = make(map[string]saved)
	j.mu.Unlock()
	b := tx.Bucket(jobfile.Cookies)
	for k, s := range dirty {
		data, err := json.Marshal(s)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(k), data); err != nil {
			return err
		}
	}
	return nil
}

// each calls fn with every cookie the job keeps.
func each(f *jobfile.File, fn func(u *url.URL, c *http.Cookie)) error {
	return f.View(func(tx *jobfile.Tx) error {
		b := tx.Bucket(jobfile.Cookies)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var s saved
			if json.Unmarshal(v, &s) != nil || s.Cookie == nil {
				return nil
			}
			if u, err := url.Parse(s.URL); err == nil {
				fn(u, s.Cookie)
			}
			return nil
		})
	})
}

// Load puts the cookies the job keeps in the jar: a resumed job goes on
// with its session. It returns how many it read.
func (j *Jar) Load(f *jobfile.File) (int, error) {
	n := 0
	err := each(f, func(u *url.URL, c *http.Cookie) {
		j.jar.SetCookies(u, []*http.Cookie{c})
		n++
	})
	return n, err
}

// ReadNetscape adds the cookies of a Netscape cookies.txt (domain, include
// subdomains, path, secure, expires, name, value; "#HttpOnly_" before a
// domain) and returns how many it read. They are saved with the job's
// own.
func (j *Jar) ReadNetscape(r io.Reader) (int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	n, line := 0, 0
	now := time.Now()
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		httpOnly := false
		if rest, ok := strings.CutPrefix(text, "#HttpOnly_"); ok {
			text, httpOnly = rest, true
		}
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Split(text, "\t")
		if len(f) != 7 {
			return n, fmt.Errorf("line %d: want 7 tab-separated fields, got %d", line, len(f))
		}
		exp, err := strconv.ParseInt(f[4], 10, 64)
		if err != nil {
			return n, fmt.Errorf("line %d: bad expiry %q", line, f[4])
		}
		host := strings.TrimPrefix(f[0], ".")
		secure := strings.EqualFold(f[3], "TRUE")
		scheme := "http"
		if secure {
			scheme = "https"
		}
		c := &http.Cookie{Name: f[5], Value: f[6], Path: f[2], Secure: secure, HttpOnly: httpOnly}
		if strings.EqualFold(f[1], "TRUE") {
			c.Domain = host
		}
		if exp > 0 {
			if c.Expires = time.Unix(exp, 0); c.Expires.Before(now) {
				continue
			}
		}
		j.SetCookies(&url.URL{Scheme: scheme, Host: host, Path: "/"}, []*http.Cookie{c})
		n++
	}
	return n, sc.Err()
}

// WriteNetscape writes the cookies a job keeps (those not expired) as a
// Netscape cookies.txt, and returns how many it wrote.
func WriteNetscape(w io.Writer, f *jobfile.File) (int, error) {
	var lines []string
	now := time.Now()
	err := each(f, func(u *url.URL, c *http.Cookie) {
		if c.MaxAge < 0 || !c.Expires.IsZero() && c.Expires.Before(now) {
			return
		}
		domain, sub := strings.TrimPrefix(c.Domain, "."), "TRUE"
		if domain == "" {
			domain, sub = u.Hostname(), "FALSE"
		} else {
			domain = "." + domain
		}
		if c.HttpOnly {
			domain = "#HttpOnly_" + domain
		}
		path := c.Path
		if path == "" {
			path = "/"
		}
		exp := int64(0)
		switch {
		case c.MaxAge > 0:
			exp = now.Unix() + int64(c.MaxAge)
		case !c.Expires.IsZero():
			exp = c.Expires.Unix()
		}
		secure := "FALSE"
		if c.Secure {
			secure = "TRUE"
		}
		lines = append(lines, strings.Join([]string{domain, sub, path, secure, strconv.FormatInt(exp, 10), c.Name, c.Value}, "\t"))
	})
	if err != nil {
		return 0, err
	}
	sort.Strings(lines)
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "# Netscape HTTP Cookie File (written by trawl)")
	for _, l := range lines {
		fmt.Fprintln(bw, l)
	}
	return len(lines), bw.Flush()
}

// Config is a cookie jar as a job's settings give it.
type Config struct {
	Keep bool   // keep cookies as a browser does, saved in the job
	File string // a Netscape cookies.txt to start with (implies Keep)
}

// On reports whether the job keeps a jar.
func (c Config) On() bool { return c.Keep || c.File != "" }
