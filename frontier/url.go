package frontier

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"golang.org/x/net/idna"
)

// MaxURLLength is the longest canonical URL the frontier accepts.
// Longer URLs are almost always traps or junk.
const MaxURLLength = 2083

// ErrScheme is returned for URLs whose scheme is not http or https.
var ErrScheme = errors.New("only http and https URLs are supported")

// Canonical parses raw as an absolute http(s) URL and returns its canonical
// form: scheme and host lower-cased, IDN hosts in punycode, the default port
// dropped, the fragment dropped, dot segments resolved, percent-encoding
// normalised (unreserved characters decoded, other escapes in upper case,
// unsafe bytes escaped), an empty path made "/" and an empty query removed,
// and session IDs (";jsessionid=", "PHPSESSID", "sid", "sessionid") and
// "utm_*" tracking parameters dropped.
// Two URLs that name the same resource in these ways map to one string.
func Canonical(raw string) (string, error) {
	u, err := parse(nil, raw)
	if err != nil {
		return "", err
	}
	return canonical(u)
}

// Resolve resolves ref against base, as a browser resolves a link, and
// returns the canonical form of the result (see Canonical).
func Resolve(base *url.URL, ref string) (string, error) {
	u, err := parse(base, ref)
	if err != nil {
		return "", err
	}
	return canonical(u)
}

// Host returns the host[:port] part of a canonical URL, the unit that
// politeness and per-host queues work on.
func Host(canonicalURL string) string {
	rest, ok := strings.CutPrefix(canonicalURL, "https://")
	if !ok {
		rest, _ = strings.CutPrefix(canonicalURL, "http://")
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	return rest
}

// parse cleans raw the way browsers do (surrounding spaces trimmed, tabs and
// newlines removed, backslashes read as slashes, stray '%' escaped) and
// parses it, relative to base when base is not nil.
func parse(base *url.URL, raw string) (*url.URL, error) {
	s := strings.TrimFunc(raw, func(r rune) bool { return r <= ' ' })
	if strings.ContainsAny(s, "\t\n\r") {
		s = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(s)
	}
	if len(s) > 4*MaxURLLength {
		return nil, fmt.Errorf("URL longer than %d bytes", MaxURLLength)
	}
	s = fixEscapes(s)
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = strings.ReplaceAll(s[:i], `\`, "/") + s[i:]
	} else {
		s = strings.ReplaceAll(s, `\`, "/")
	}
	var (
		u   *url.URL
		err error
	)
	if base != nil {
		u, err = base.Parse(s)
	} else {
		u, err = url.Parse(s)
	}
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("bad URL %q: %w", clip(raw), err)
	}
	return u, nil
}

func canonical(u *url.URL) (string, error) {
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		if scheme == "" {
			return "", fmt.Errorf("bad URL %q: not absolute (want http:// or https://)", clip(u.String()))
		}
		return "", fmt.Errorf("bad URL %q: %w", clip(u.String()), ErrScheme)
	}
	if u.Opaque != "" {
		return "", fmt.Errorf("bad URL %q: missing // after scheme", clip(u.String()))
	}
	host, err := canonicalHost(u.Hostname())
	if err != nil {
		return "", fmt.Errorf("bad URL %q: %w", clip(u.String()), err)
	}
	port := u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	var b strings.Builder
	b.Grow(len(scheme) + len(host) + len(u.EscapedPath()) + len(u.RawQuery) + 16)
	b.WriteString(scheme)
	b.WriteString("://")
	if u.User != nil {
		b.WriteString(u.User.String())
		b.WriteByte('@')
	}
	if strings.IndexByte(host, ':') >= 0 {
		b.WriteByte('[')
		b.WriteString(host)
		b.WriteByte(']')
	} else {
		b.WriteString(host)
	}
	if port != "" {
		b.WriteByte(':')
		b.WriteString(port)
	}
	path := removeDotSegments(stripPathSession(normalizeEscapes(u.EscapedPath())))
	if path == "" {
		path = "/"
	}
	b.WriteString(path)
	if q := stripQuerySession(normalizeEscapes(u.RawQuery)); q != "" {
		b.WriteByte('?')
		b.WriteString(q)
	}
	s := b.String()
	if len(s) > MaxURLLength {
		return "", fmt.Errorf("URL longer than %d bytes", MaxURLLength)
	}
	return s, nil
}

// sessionParams are query parameters that name a session, not a resource.
var sessionParams = map[string]bool{"jsessionid": true, "phpsessid": true, "sid": true, "sessionid": true, "aspsessionid": true}

func stripQuerySession(q string) string {
	if q == "" {
		return q
	}
	parts := strings.Split(q, "&")
	out := parts[:0]
	for _, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		k = strings.ToLower(k)
		if sessionParams[k] || strings.HasPrefix(k, "utm_") {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, "&")
}

// stripPathSession removes ";jsessionid=…" path parameters.
func stripPathSession(p string) string {
	i := strings.Index(strings.ToLower(p), ";jsessionid=")
	if i < 0 {
		return p
	}
	end := strings.IndexByte(p[i+1:], '/')
	if end < 0 {
		return p[:i]
	}
	return p[:i] + p[i+1+end:]
}

func canonicalHost(h string) (string, error) {
	if h == "" {
		return "", errors.New("empty host")
	}
	if ip := net.ParseIP(h); ip != nil {
		if ip4 := ip.To4(); ip4 != nil && strings.IndexByte(h, ':') < 0 {
			return ip4.String(), nil
		}
		return ip.String(), nil
	}
	h = strings.ToLower(h)
	if !isASCII(h) || strings.Contains(h, "xn--") {
		a, err := idna.Lookup.ToASCII(h)
		if err != nil {
			return "", fmt.Errorf("invalid host: %w", err)
		}
		h = a
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c <= ' ' || strings.IndexByte(`#%/:<>?@[\]^|`, c) >= 0 {
			return "", fmt.Errorf("invalid character %q in host", c)
		}
	}
	return h, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// fixEscapes escapes every '%' that does not start a valid escape, so that
// net/url accepts what browsers accept.
func fixEscapes(s string) string {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s
	}
	var b strings.Builder
	for ; i < len(s); i++ {
		if s[i] == '%' && (i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2])) {
			b.WriteString(s[:i])
			b.WriteString("%25")
			s = s[i+1:]
			i = -1
		}
	}
	b.WriteString(s)
	return b.String()
}

const upperhex = "0123456789ABCDEF"

// unreserved reports the RFC 3986 unreserved characters, which never need
// escaping and are decoded by normalisation.
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// literal reports bytes that may stand unescaped in a path or query.
func literal(c byte) bool {
	return unreserved(c) || strings.IndexByte("!$&'()*+,;=:@/?%", c) >= 0
}

// NormalizeEscapes normalises the percent-encoding of a URL path or query
// as Canonical does: escaped unreserved characters decoded, other escapes
// upper-cased, bytes that may not appear literally (non-ASCII, spaces…)
// escaped. Robots.txt rules are normalised with it to match canonical URLs.
func NormalizeEscapes(s string) string { return normalizeEscapes(s) }

// normalizeEscapes decodes escaped unreserved characters, upper-cases the
// other escapes, and escapes bytes that may not appear literally.
func normalizeEscapes(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' || !literal(c) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			d := unhex(s[i+1])<<4 | unhex(s[i+2])
			if unreserved(d) {
				b.WriteByte(d)
			} else {
				b.WriteByte('%')
				b.WriteByte(upperhex[d>>4])
				b.WriteByte(upperhex[d&15])
			}
			i += 2
		case c == '%' || !literal(c):
			b.WriteByte('%')
			b.WriteByte(upperhex[c>>4])
			b.WriteByte(upperhex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// removeDotSegments implements RFC 3986 section 5.2.4 on an absolute path.
func removeDotSegments(p string) string {
	if !strings.Contains(p, ".") {
		return p
	}
	segs := strings.Split(p, "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	r := strings.Join(out, "/")
	if !strings.HasPrefix(r, "/") {
		r = "/" + r
	}
	return r
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:117] + "..."
	}
	return s
}
