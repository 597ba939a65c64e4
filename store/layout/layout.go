// Package layout names the files bodies are written to under a folder:
// downloads (crawler/download) and trawl export --format files share it.
package layout

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// A Mode is how a URL becomes a file name.
type Mode = string

// The modes of a Dir.
const (
	Host Mode = "host" // DIR/host/path, the query folded into the last name after '@' (as wget)
	Flat Mode = "flat" // DIR/name: the last path segment only
	Hash Mode = "hash" // DIR/ab/abcdef….ext: the SHA-256 of the request, two levels
)

// Modes lists the modes Open accepts ("" is Host).
var Modes = []Mode{Host, Flat, Hash}

// PartialDir is the folder inside a Dir where unfinished downloads live.
const PartialDir = ".trawl-partial"

// A Dir is a folder that bodies are written to under names made from their
// URLs. Every name is made safe (see FileName): whatever the URL, nothing
// is written outside the folder. Clashes are resolved so that no body is
// lost: a name already taken by another request, a name that is a
// directory, or a path through a name that is a file, gets a variant with
// "~" and a hash of the request. A Dir is safe for concurrent use.
type Dir struct {
	root   string
	layout string

	mu      sync.Mutex
	claimed map[string]string // relative name → request key
	// folded holds each claimed name as a case-insensitive file system
	// that normalises Unicode sees it (macOS, Windows): two names that
	// differ only so would be one file there.
	folded map[string]string // fold(name) → request key
	names  map[string]string // request key → its latest claimed name
	dirs   map[string]bool   // relative directories made for claimed names
}

// Open prepares root (creating it) for files named by layout.
func Open(root string, layout Mode) (*Dir, error) {
	switch layout {
	case "":
		layout = Host
	case Host, Flat, Hash:
	default:
		return nil, fmt.Errorf("unknown layout %q (want host, flat or hash)", layout)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(abs, PartialDir), 0o755); err != nil {
		return nil, err
	}
	return &Dir{root: abs, layout: layout, claimed: make(map[string]string), folded: make(map[string]string), names: make(map[string]string),
		dirs: make(map[string]bool)}, nil
}

// Root returns the folder's absolute path.
func (d *Dir) Root() string { return d.root }

// Name returns the relative name the layout gives a request: out, when
// given, made safe segment by segment, else a name made of rawURL. key
// identifies the request (its URL, or URL and spec).
func (d *Dir) Name(key, rawURL, out string) string {
	if out != "" {
		var parts []string
		for _, seg := range strings.Split(strings.ReplaceAll(out, `\`, "/"), "/") {
			if seg != "" && seg != "." {
				parts = append(parts, safeSegment(seg))
			}
		}
		if len(parts) > 0 {
			return filepath.Join(parts...)
		}
	}
	switch d.layout {
	case Flat:
		return filepath.Base(FileName(rawURL))
	case Hash:
		sum := sha256.Sum256([]byte(key))
		h := hex.EncodeToString(sum[:])
		name := h
		if u, err := url.Parse(rawURL); err == nil {
			if ext := path.Ext(u.Path); len(ext) > 1 && len(ext) <= 10 && safeSegment(ext) == ext {
				name += ext
			}
		}
		return filepath.Join(h[:2], name)
	}
	return FileName(rawURL)
}

// Partial returns the path where the download of the request key is kept
// until it is complete: the same for every run, so a rerun can continue it.
func (d *Dir) Partial(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(d.root, PartialDir, hex.EncodeToString(sum[:16]))
}

// Reserve marks rel as the file of the request key, as a job's existing
// records say.
func (d *Dir) Reserve(key, rel string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.claim(key, rel)
}

func (d *Dir) claim(key, rel string) {
	d.claimed[rel] = key
	d.folded[fold(rel)] = key
	d.names[key] = rel
	for p := filepath.Dir(rel); p != "." && p != string(filepath.Separator); p = filepath.Dir(p) {
		d.dirs[p] = true
	}
}

// Kept returns the path of the file the request key has in the folder
// (see Reserve), if it holds the bytes whose hex SHA-256 is sum.
func (d *Dir) Kept(key, sum string) (string, bool) {
	d.mu.Lock()
	rel, ok := d.names[key]
	d.mu.Unlock()
	if !ok {
		return "", false
	}
	path := filepath.Join(d.root, rel)
	if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() || fileSum(path) != sum {
		return "", false
	}
	return path, true
}

// Place moves the finished file tmp, whose hex SHA-256 is sum, to the name
// rel (or a variant, on a clash) for the request key, creating folders as
// needed, and returns the absolute path it now has. tmp must be on the
// same file system. A file already at rel that the job did not write is
// kept (the download takes a variant), unless it holds the same bytes; no
// file is written through a symbolic link inside the folder.
func (d *Dir) Place(key, rel, tmp, sum string) (string, error) {
	// The name is chosen and claimed under the lock; the file-system work,
	// which may be slow, is done outside it, so downloads finish in
	// parallel.
	d.mu.Lock()
	rel = d.free(key, rel, sum)
	d.claim(key, rel)
	d.mu.Unlock()
	dst := filepath.Join(d.root, rel)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		// An unforeseen clash with a file of the same name: flatten.
		d.mu.Lock()
		rel = d.variant(key, strings.ReplaceAll(rel, string(filepath.Separator), "_"))
		d.claim(key, rel)
		d.mu.Unlock()
		dst = filepath.Join(d.root, rel)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return "", err
	}
	return dst, nil
}

// free returns rel, or a variant of it when rel is taken by another
// request, is a directory, or lies under a name that is a file. d.mu must
// be held.
func (d *Dir) free(key, rel, sum string) string {
	if owner, ok := d.claimed[rel]; ok && owner == key {
		return rel
	}
	if d.throughLink(rel) {
		// A folder on the way is a symbolic link: the file goes into the
		// folder itself, under a name of its own.
		return d.variant(key, strings.ReplaceAll(rel, string(filepath.Separator), "_"))
	}
	owner, folds := d.folded[fold(rel)]
	clash := d.claimed[rel] != "" || d.dirs[rel] || folds && owner != key
	if fi, err := os.Lstat(filepath.Join(d.root, rel)); err == nil {
		// Not a file the job wrote (or it would be claimed): kept, unless
		// it already holds these bytes (a download renamed into place just
		// before a crash, before the job recorded it).
		clash = clash || !fi.Mode().IsRegular() || sum == "" || fileSum(filepath.Join(d.root, rel)) != sum
	}
	// A parent that is a file (ours or not) cannot hold rel.
	parentFile := false
	for p := filepath.Dir(rel); p != "." && p != string(filepath.Separator); p = filepath.Dir(p) {
		if _, ok := d.claimed[p]; ok {
			parentFile = true
		} else if fi, err := os.Lstat(filepath.Join(d.root, p)); err == nil && !fi.IsDir() {
			parentFile = true
		}
	}
	switch {
	case parentFile:
		// Fold the folders below the first (the host, in the host layout)
		// into the name.
		sep := string(filepath.Separator)
		if first, rest, ok := strings.Cut(rel, sep); ok && d.claimed[first] == "" {
			return d.variant(key, filepath.Join(first, strings.ReplaceAll(rest, sep, "_")))
		}
		return d.variant(key, strings.ReplaceAll(rel, sep, "_"))
	case clash:
		return d.variant(key, rel)
	}
	return rel
}

// fold is a name as a case-insensitive, normalising file system compares
// it: Unicode NFC, then case folded.
func fold(rel string) string {
	return strings.ToLower(norm.NFC.String(rel))
}

// throughLink reports whether a folder of rel inside the root is a
// symbolic link (or anything but a folder, other than missing).
func (d *Dir) throughLink(rel string) bool {
	dir := filepath.Dir(rel)
	if dir == "." {
		return false
	}
	p := d.root
	for _, seg := range strings.Split(dir, string(filepath.Separator)) {
		p = filepath.Join(p, seg)
		fi, err := os.Lstat(p)
		if err != nil {
			return false // missing from here on: made as folders
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return true
		}
	}
	return false
}

// fileSum returns the hex SHA-256 of the file at path ("" if unreadable).
func fileSum(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

// variant is rel with "~" and 8 bytes of the key's hash before its
// extension.
func (d *Dir) variant(key, rel string) string {
	sum := sha256.Sum256([]byte(key))
	ext := filepath.Ext(rel)
	if len(ext) > 10 || strings.Contains(ext, "@") {
		ext = ""
	}
	base := strings.TrimSuffix(rel, ext)
	if b := filepath.Base(base); len(b) > maxSegment-20 {
		base = filepath.Join(filepath.Dir(base), b[:maxSegment-20])
	}
	return base + "~" + hex.EncodeToString(sum[:8]) + ext
}

// WriteFile writes data as the file of the request key named rel (or a
// variant on a clash), through a temporary file, and returns its path.
func (d *Dir) WriteFile(key, rel string, data []byte) (string, error) {
	tmp := d.Partial(key) + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	dst, err := d.Place(key, rel, tmp, hex.EncodeToString(sum[:]))
	if err != nil {
		os.Remove(tmp)
	}
	return dst, err
}

// maxSegment is the longest file name FileName makes, below the 255 bytes
// most file systems allow.
const maxSegment = 200

// FileName maps a URL to a relative file path: host, then the path
// segments, with "index.html" for a directory and the query folded into the
// last name after '@'. Every segment is decoded and made safe: no "." or
// "..", no separators, NUL or control bytes, no Windows-reserved names, and
// at most 200 bytes (longer ones end in a hash). The result never leaves
// the directory it is joined to.
func FileName(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return filepath.Join("_invalid", safeSegment(rawURL))
	}
	parts := []string{safeSegment(u.Host)}
	segs := strings.Split(u.EscapedPath(), "/")
	last := segs[len(segs)-1]
	for _, seg := range segs[:len(segs)-1] {
		if seg == "" {
			continue
		}
		parts = append(parts, safeSegment(unescape(seg)))
	}
	name := unescape(last)
	if name == "" {
		name = "index.html"
	}
	if u.RawQuery != "" {
		name += "@" + unescape(u.RawQuery)
	}
	parts = append(parts, safeSegment(name))
	return filepath.Join(parts...)
}

func unescape(s string) string {
	if d, err := url.PathUnescape(s); err == nil {
		return d
	}
	return s
}

var windowsReserved = map[string]bool{"CON": true, "PRN": true, "AUX": true, "NUL": true,
	"COM1": true, "COM2": true, "COM3": true, "COM4": true, "COM5": true, "COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true, "LPT5": true, "LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true}

// safeSegment makes s usable as one file name.
func safeSegment(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
			b.WriteByte('_')
		case strings.ContainsRune(`/\:*?"<>|`, r):
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	out := b.String()
	switch {
	case out == "" || out == "." || out == "..":
		out = "_" + out
	case windowsReserved[strings.ToUpper(strings.TrimRight(strings.SplitN(out, ".", 2)[0], " "))]:
		out = "_" + out
	}
	if strings.HasSuffix(out, ".") || strings.HasSuffix(out, " ") {
		out += "_" // Windows drops trailing dots and spaces
	}
	if len(out) > maxSegment {
		sum := sha256.Sum256([]byte(s))
		cut := maxSegment - 17
		for cut > 0 && !utf8.RuneStart(out[cut]) {
			cut--
		}
		out = out[:cut] + "~" + hex.EncodeToString(sum[:8])
	}
	return out
}
