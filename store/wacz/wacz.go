// Package wacz packs WARC files into a WACZ 1.1.1 file, the packaging
// ReplayWeb.page and pywb open (https://specs.webrecorder.net/wacz/1.1.1/):
// a ZIP holding the WARC files under archive/ (stored, not compressed,
// so that a replayer reads a record by its offset), their CDXJ index under
// indexes/, the pages under pages/, and datapackage.json naming every file
// with its size and SHA-256 (and datapackage-digest.json, the digest of
// that).
//
// Write streams: each file is read twice (once for its CRC-32 and
// SHA-256, once into the ZIP), never held in memory, so an archive of any
// size is packed in constant memory but for its index.
package wacz

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/trawl-dev/trawl/store/warc"
)

// Version is the WACZ version written: wabac.js, ReplayWeb.page's engine,
// refuses 1.2.0's profile.
const Version = "1.1.1"

// A Page is one entry of pages/pages.jsonl: a page a replayer lists.
type Page struct {
	URL   string    `json:"url"`
	TS    time.Time `json:"ts"`
	Title string    `json:"title,omitempty"`
}

// Options say what Write packs.
type Options struct {
	WARCs    []string // paths of the WARC files
	Pages    []Page
	Title    string
	Software string
	Created  time.Time
}

// resource is one file of the package, as datapackage.json lists it.
type resource struct {
	Name  string `json:"name"`
	Path  string `json:"path"`
	Hash  string `json:"hash"`
	Bytes int64  `json:"bytes"`
}

// Write writes the WACZ of o to w.
func Write(w io.Writer, o Options) error {
	if len(o.WARCs) == 0 {
		return fmt.Errorf("wacz: no WARC files")
	}
	zw := zip.NewWriter(w)
	var res []resource
	for _, p := range o.WARCs {
		r, err := addFile(zw, "archive/"+filepath.Base(p), p)
		if err != nil {
			return err
		}
		res = append(res, r)
	}
	index, err := cdxj(o.WARCs)
	if err != nil {
		return err
	}
	var pages bytes.Buffer
	pages.WriteString(`{"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}` + "\n")
	enc := json.NewEncoder(&pages)
	enc.SetEscapeHTML(false)
	for _, pg := range o.Pages {
		pg.TS = pg.TS.UTC()
		if err := enc.Encode(pg); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		path string
		data []byte
	}{{"indexes/index.cdxj", index}, {"pages/pages.jsonl", pages.Bytes()}} {
		r, err := addBytes(zw, f.path, f.data)
		if err != nil {
			return err
		}
		res = append(res, r)
	}
	pkg, err := json.MarshalIndent(map[string]any{
		"profile": "data-package", "wacz_version": Version, "title": o.Title, "software": o.Software,
		"created": o.Created.UTC().Format(time.RFC3339), "resources": res,
	}, "", "  ")
	if err != nil {
		return err
	}
	sum := sha256.Sum256(pkg)
	digest, _ := json.MarshalIndent(map[string]string{"path": "datapackage.json", "hash": "sha256:" + hex.EncodeToString(sum[:])}, "", "  ")
	if _, err := addBytes(zw, "datapackage.json", pkg); err != nil {
		return err
	}
	if _, err := addBytes(zw, "datapackage-digest.json", digest); err != nil {
		return err
	}
	return zw.Close()
}

// cdxj returns the sorted CDXJ index of the WARC files.
func cdxj(files []string) ([]byte, error) {
	var lines []string
	for _, p := range files {
		l, err := warc.IndexLines(p)
		if err != nil {
			return nil, fmt.Errorf("wacz: indexing %s: %w", p, err)
		}
		lines = append(lines, l...)
	}
	sort.Strings(lines)
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// addFile stores the file at path in zw as name, uncompressed, with its
// size and CRC-32 in the local header (no data descriptor), and returns
// its resource.
func addFile(zw *zip.Writer, name, path string) (resource, error) {
	f, err := os.Open(path)
	if err != nil {
		return resource{}, fmt.Errorf("wacz: %w", err)
	}
	defer f.Close()
	crc, sh := crc32.NewIEEE(), sha256.New()
	n, err := io.Copy(io.MultiWriter(crc, sh), bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return resource{}, fmt.Errorf("wacz: reading %s: %w", path, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return resource{}, err
	}
	out, err := zw.CreateRaw(header(name, n, crc.Sum32()))
	if err != nil {
		return resource{}, err
	}
	m, err := io.Copy(out, bufio.NewReaderSize(f, 1<<20))
	if err == nil && m != n {
		err = fmt.Errorf("%s changed while it was packed", path)
	}
	if err != nil {
		return resource{}, fmt.Errorf("wacz: %w", err)
	}
	return resource{Name: filepath.Base(name), Path: name, Hash: "sha256:" + hex.EncodeToString(sh.Sum(nil)), Bytes: n}, nil
}

// addBytes stores data in zw as name, uncompressed.
func addBytes(zw *zip.Writer, name string, data []byte) (resource, error) {
	out, err := zw.CreateRaw(header(name, int64(len(data)), crc32.ChecksumIEEE(data)))
	if err == nil {
		_, err = out.Write(data)
	}
	sum := sha256.Sum256(data)
	return resource{Name: filepath.Base(name), Path: name, Hash: "sha256:" + hex.EncodeToString(sum[:]), Bytes: int64(len(data))}, err
}

func header(name string, size int64, crc uint32) *zip.FileHeader {
	h := &zip.FileHeader{Name: name, Method: zip.Store, CRC32: crc,
		CompressedSize64: uint64(size), UncompressedSize64: uint64(size), Modified: time.Now()}
	return h
}
