package frontier

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	werrors "github.com/nlnwa/whatwg-url/errors"
	whatwg "github.com/nlnwa/whatwg-url/url"
)

// MaxURLLength is the longest canonical URL the frontier accepts.
// Longer URLs are almost always traps or junk.
const MaxURLLength = 2083

// ErrScheme is returned for URLs whose scheme is not http or https.
var ErrScheme = errors.New("only http and https URLs are supported")

// Canonical parses raw as an absolute http(s) URL, as a browser parses it
// (the WHATWG URL Standard: numeric and IDN hosts, backslashes, tabs and
// newlines, "http:example.com"…), and returns its canonical form: the
// default port, the fragment, the user name and password, and an empty
// query dropped; dot segments resolved; percent-encoding normalised
// (unreserved characters decoded, other escapes in upper case, unsafe
// bytes escaped); and session IDs (";jsessionid=", "PHPSESSID", "sid",
// "sessionid") and "utm_*" tracking parameters dropped. Two URLs that name
// the same resource in these ways map to one string.
func Canonical(raw string) (string, error) {
	if len(raw) > 4*MaxURLLength {
		return "", fmt.Errorf("URL longer than %d bytes", MaxURLLength)
	}
	if s, ok := simpleResolve("", "", raw); ok {
		return s, nil
	}
	u, err := parser.Parse(raw)
	if err != nil {
		return "", badURL(raw, err)
	}
	return canonical(raw, u)
}

// Resolve resolves ref against base, as a browser resolves a link, and
// returns the canonical form of the result (see Canonical).
func Resolve(base *url.URL, ref string) (string, error) {
	b, err := ParseBase(base.String())
	if err != nil {
		return "", err
	}
	return b.Resolve(ref)
}

// A Base is the URL of a page, parsed once, that its links resolve
// against.
type Base struct {
	u      *whatwg.Url // nil until needed, when raw is set
	raw    string
	origin string // scheme://host[:port], when the base is http(s)
	dir    string // its path up to the last '/'
	// self is what a link to a fragment of the page resolves to, once
	// one was met.
	self    string
	selfErr error
	selfSet bool
}

// ParseBase parses the URL of a page. A base in the simple canonical form
// of most pages is parsed only when a link needs the full parser.
func ParseBase(raw string) (*Base, error) {
	if origin, dir, ok := simpleBase(raw); ok {
		return &Base{raw: raw, origin: origin, dir: dir}, nil
	}
	u, err := parser.Parse(raw)
	if err != nil {
		return nil, badURL(raw, err)
	}
	b := &Base{u: u}
	if (u.Scheme() == "http" || u.Scheme() == "https") && u.Hostname() != "" && requestable(u.Hostname()) && !u.OpaquePath() {
		p := u.Pathname()
		b.origin, b.dir = u.Scheme()+"://"+u.Host(), p[:strings.LastIndexByte(p, '/')+1]
	}
	return b, nil
}

// Resolve resolves ref against b and returns the canonical form of the
// result (see Canonical).
func (b *Base) Resolve(ref string) (string, error) {
	if s, ok := b.simple(ref); ok {
		return s, nil
	}
	if ref != "" && ref[0] == '#' || ref == "" && b.origin != "" {
		// The page itself (fragments are not part of a canonical URL):
		// the links of a table of contents, a "¶" beside each heading.
		// An empty link is the page too, unless the base has an opaque
		// path, where it is no URL at all.
		if !b.selfSet {
			b.self, b.selfErr = b.resolve("#")
			b.selfSet = true
		}
		return b.self, b.selfErr
	}
	return b.resolve(ref)
}

// simple resolves the common links (a path of letters, digits and "/._~-",
// perhaps a query of those and "=&", perhaps a fragment) without the full
// parser, to the same result. ok is false for any other link.
func (b *Base) simple(ref string) (string, bool) {
	if b.origin == "" {
		return "", false
	}
	return simpleResolve(b.origin, b.dir, ref)
}

// simpleResolve is Base.simple for a base of that origin and directory; with
// no origin, only an absolute ref resolves (as Canonical needs).
func simpleResolve(origin, dir, ref string) (string, bool) {
	if i := strings.IndexByte(ref, '#'); i >= 0 {
		ref = ref[:i]
	}
	if strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://") {
		o, rest, ok := simpleOrigin(ref)
		if !ok || rest == "" || rest[0] != '/' {
			return "", false
		}
		origin, ref = o, rest
	} else if origin == "" {
		return "", false
	}
	path, query, _ := strings.Cut(ref, "?")
	if path == "" || strings.HasPrefix(path, "//") || !simpleChars(path, false) || !simpleChars(query, true) {
		return "", false
	}
	if path[0] != '/' {
		path = dir + path
	}
	var sb strings.Builder
	sb.Grow(len(origin) + len(path) + len(query) + 1)
	sb.WriteString(origin)
	path = removeDotSegments(stripPathSession(normalizeEscapes(removeDotSegments(path))))
	if path == "" {
		path = "/"
	}
	sb.WriteString(path)
	if q := stripQuerySession(query); q != "" {
		sb.WriteByte('?')
		sb.WriteString(q)
	}
	if sb.Len() > MaxURLLength {
		return "", false
	}
	return sb.String(), true
}

// simpleChars reports whether s holds only letters, digits and "/._~-"
// (and "=&" in a query).
func simpleChars(s string, query bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '/' || c == '.' || c == '_' || c == '~' || c == '-' || query && (c == '=' || c == '&') {
			continue
		}
		return false
	}
	return true
}

// requestable reports a host name an HTTP client can ask for: letters,
// digits, '-', '.' and '_' (browsers accept more, such as '`' or '{', in
// names no DNS holds), or an IPv6 address in brackets.
func requestable(host string) bool {
	if strings.HasPrefix(host, "[") {
		return true
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// simpleBase returns the origin and directory of raw when it is an http(s)
// URL the parser would leave as it is: a lower-case host name or dotted
// IPv4 address, no port or a port that is not the default, and a path of
// simple characters with no dot segments.
func simpleBase(raw string) (origin, dir string, ok bool) {
	origin, path, ok := simpleOrigin(raw)
	if !ok || path == "" || path[0] != '/' {
		return "", "", false
	}
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	if !simpleChars(path, false) || removeDotSegments(path) != path {
		return "", "", false
	}
	return origin, path[:strings.LastIndexByte(path, '/')+1], true
}

// simpleOrigin splits an http(s) URL whose origin the parser would leave
// as it is (see simpleBase) into that origin and the rest.
func simpleOrigin(raw string) (origin, rest string, ok bool) {
	rest, found := strings.CutPrefix(raw, "http://")
	port := "80"
	if !found {
		if rest, found = strings.CutPrefix(raw, "https://"); !found {
			return "", "", false
		}
		port = "443"
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	host, p, hasPort := strings.Cut(rest[:end], ":")
	if end == 0 || !simpleHost(host) || hasPort && !simplePort(p, port) {
		return "", "", false
	}
	n := len(raw) - len(rest) + end
	return raw[:n], raw[n:], true
}

// simpleHost reports a host name of lower-case labels ([a-z0-9-], the last
// starting with a letter) or a dotted-decimal IPv4 address without leading
// zeros.
func simpleHost(h string) bool {
	numeric, labels, last := 0, 0, ""
	for l := range strings.SplitSeq(h, ".") {
		labels, last = labels+1, l
		if l == "" || len(l) > 63 || l[0] == '-' || strings.HasPrefix(l, "xn--") {
			return false
		}
		digits := true
		for i := 0; i < len(l); i++ {
			c := l[i]
			switch {
			case '0' <= c && c <= '9':
			case 'a' <= c && c <= 'z' || c == '-':
				digits = false
			default:
				return false
			}
		}
		if digits {
			if len(l) > 3 || len(l) > 1 && l[0] == '0' || len(l) == 3 && l > "255" {
				return false
			}
			numeric++
		}
	}
	// A last label that may read as a number ("0x1f" too) makes the host
	// an IPv4 address to the parser: a name's last label starts with a
	// letter here.
	return 'a' <= last[0] && last[0] <= 'z' || numeric == 4 && labels == 4
}

// simplePort reports a port in its shortest form that is not def.
func simplePort(p, def string) bool {
	if p == "" || p == def || len(p) > 5 || p[0] == '0' || len(p) == 5 && p > "65535" {
		return false
	}
	return strings.Trim(p, "0123456789") == ""
}

// resolve resolves ref against b with the full parser.
func (b *Base) resolve(ref string) (string, error) {
	if len(ref) > 4*MaxURLLength {
		return "", fmt.Errorf("URL longer than %d bytes", MaxURLLength)
	}
	if b.u == nil {
		u, err := parser.Parse(b.raw)
		if err != nil {
			return "", badURL(b.raw, err)
		}
		b.u = u
	}
	u, err := b.u.Parse(ref)
	if err != nil {
		return "", badURL(ref, err)
	}
	return canonical(ref, u)
}

// parser parses URLs as the WHATWG URL Standard says; it holds no state.
var parser = whatwg.NewParser()

func badURL(raw string, err error) error {
	var ve *werrors.ValidationError
	if errors.As(err, &ve) {
		if msg, ok := urlErrors[ve.Type()]; ok {
			err = errors.New(msg)
		} else {
			err = errors.New(string(ve.Type()))
		}
	}
	return fmt.Errorf("bad URL %q: %w", clip(raw), err)
}

// urlErrors say the parser's failures briefly.
var urlErrors = map[werrors.ErrorType]string{
	werrors.MissingSchemeNonRelativeURL: "not absolute (want http:// or https://)",
	werrors.IPv6Unclosed:                "missing ']' in host",
	werrors.DomainToASCII:               "invalid host name",
	werrors.DomainInvalidCodePoint:      "invalid character in host",
	werrors.IPv4OutOfRangePart:          "invalid IPv4 address",
	werrors.IPv4TooManyParts:            "invalid IPv4 address",
	werrors.HostMissing:                 "empty host",
	werrors.PortOutOfRange:              "port out of range",
	werrors.PortInvalid:                 "invalid port",
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

// canonical writes the canonical form of u, parsed from raw.
func canonical(raw string, u *whatwg.Url) (string, error) {
	scheme := u.Scheme()
	if scheme != "http" && scheme != "https" {
		if scheme == "" {
			return "", fmt.Errorf("bad URL %q: not absolute (want http:// or https://)", clip(raw))
		}
		return "", fmt.Errorf("bad URL %q: %w", clip(raw), ErrScheme)
	}
	host := u.Host() // lower-case, IDNA, IPv4 and IPv6 normalised, default port dropped
	if u.Hostname() == "" {
		return "", fmt.Errorf("bad URL %q: empty host", clip(raw))
	}
	if !requestable(u.Hostname()) {
		return "", fmt.Errorf("bad URL %q: invalid character in host", clip(raw))
	}
	var b strings.Builder
	path, query := u.Pathname(), u.Query()
	b.Grow(len(scheme) + len(host) + len(path) + len(query) + 8)
	b.WriteString(scheme)
	b.WriteString("://")
	b.WriteString(host)
	path = removeDotSegments(stripPathSession(normalizeEscapes(path)))
	if path == "" {
		path = "/"
	}
	b.WriteString(path)
	if q := stripQuerySession(normalizeEscapes(query)); q != "" {
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
	if !hasSessionParam(q) {
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

// hasSessionParam reports whether stripQuerySession would drop a
// parameter of q.
func hasSessionParam(q string) bool {
	for p := range strings.SplitSeq(q, "&") {
		k, _, _ := strings.Cut(p, "=")
		if k = strings.ToLower(k); sessionParams[k] || strings.HasPrefix(k, "utm_") { // ToLower allocates only for upper case
			return true
		}
	}
	return false
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
	if !strings.Contains(p, ".") || strings.HasPrefix(p, "/") && !hasDotSegment(p) {
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

// hasDotSegment reports whether a segment of p is "." or "..".
func hasDotSegment(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:117] + "..."
	}
	return s
}
