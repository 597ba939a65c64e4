package store

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
)

// Layouts of a Dir: how a URL becomes a file name.
const (
	LayoutHost = "host" // DIR/host/path, the query folded into the last name after '@' (as wget)
	LayoutFlat = "flat" // DIR/name: the last path segment only
	LayoutHash = "hash" // DIR/ab/abcdef….ext: the SHA-256 of the request, two levels
)

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
	dirs    map[string]bool   // relative directories made for claimed names
}

// OpenDir prepares root (creating it) for files named by layout.
func OpenDir(root, layout string) (*Dir, error) {
	switch layout {
	case "":
		layout = LayoutHost
	case LayoutHost, LayoutFlat, LayoutHash:
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
	return &Dir{root: abs, layout: layout, claimed: make(map[string]string), dirs: make(map[string]bool)}, nil
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
	case LayoutFlat:
		return filepath.Base(FileName(rawURL))
	case LayoutHash:
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
	for p := filepath.Dir(rel); p != "." && p != string(filepath.Separator); p = filepath.Dir(p) {
		d.dirs[p] = true
	}
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
	clash := d.claimed[rel] != "" || d.dirs[rel]
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
