package links

import (
	"hash/maphash"
	"net/url"
	"strings"
	"sync/atomic"
)

// Known remembers links already resolved and handed on, so that a link
// repeated on many pages (a site's navigation, its footer) is resolved
// and queued once, not once a page: the frontier would drop the repeats,
// but only after the work of canonicalising and offering them.
//
// It is a fixed table of 64-bit hashes of (what the link resolves
// against, the link as written): 1 MiB, however big the crawl. A new link
// may push an old one out, which then costs one more resolution. Two
// different links are taken for one with probability 2⁻⁶⁴ a lookup.
// Known is safe for concurrent use.
type Known struct {
	seed  maphash.Seed
	slots []atomic.Uint64
}

const knownSlots = 1 << 17

// NewKnown returns an empty table.
func NewKnown() *Known {
	return &Known{seed: maphash.MakeSeed(), slots: make([]atomic.Uint64, knownSlots)}
}

// against is what the links of one page resolve against, in the three
// forms that decide a link's resolution: its scheme and authority (for an
// absolute path), those and its directory (for a relative path), all of
// it (for anything else).
type against struct {
	origin, dir, full string
}

// newAgainst returns what links resolve against on a page whose base is
// base, full being base.String().
func newAgainst(base *url.URL, full string) against {
	origin := base.Scheme + "\x00" + base.User.String() + "\x00" + base.Host
	path := base.EscapedPath()
	return against{
		origin: origin,
		dir:    origin + "\x00" + path[:strings.LastIndexByte(path, '/')+1],
		full:   full,
	}
}

// prefix returns what decides the resolution of ref besides ref itself.
func (a *against) prefix(ref string) string {
	switch {
	case strings.HasPrefix(ref, "http://"), strings.HasPrefix(ref, "https://"):
		return ""
	case strings.HasPrefix(ref, "/"):
		return a.origin
	case relativePath(ref):
		return a.dir
	default:
		return a.full
	}
}

// key hashes ref with what decides its resolution.
func (k *Known) key(a *against, ref string) uint64 {
	var h maphash.Hash
	h.SetSeed(k.seed)
	h.WriteString(a.prefix(ref))
	h.WriteByte(0)
	h.WriteString(ref)
	return h.Sum64() | 1 // 0 is an empty slot
}

// relativePath reports whether ref is a relative path: it starts with a
// letter, digit or "." and has no ":" before its first "/", "?" or "#"
// (so no scheme).
func relativePath(ref string) bool {
	if ref == "" {
		return false
	}
	if c := ref[0]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.') {
		return false
	}
	i := strings.IndexAny(ref, "/?#")
	if i < 0 {
		i = len(ref)
	}
	return !strings.Contains(ref[:i], ":")
}

// has reports whether key is in the table.
func (k *Known) has(key uint64) bool {
	return k.slots[key%knownSlots].Load() == key
}

// add puts key in the table.
func (k *Known) add(key uint64) {
	k.slots[key%knownSlots].Store(key)
}
