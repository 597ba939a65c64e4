// Package fromwarc reads the pages archived in WARC and WACZ files written
// by anyone (trawl, wget --warc-file, browsertrix, Heritrix), for
// extraction rules to run on: each response's HTTP body, with its transfer
// and content encodings removed, and each revisit resolved to the payload
// of the record it refers to when that record is in the input. Damaged
// records are reported with their file and offset, and skipped.
package fromwarc

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"strings"
	"time"

	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/store"
	"github.com/trawl-dev/trawl/store/warc"
)

// MaxBlock is the largest record block read; a larger one is skipped.
const MaxBlock = 256 << 20

// A Page is one archived response, ready for extraction.
type Page struct {
	URL         string
	Status      int
	ContentType string
	Body        []byte // decoded
	Date        time.Time
	Ref         store.WARCRef // where it is archived
}

// A Problem is a record that could not be read or resolved.
type Problem struct {
	File   string
	Offset int64
	Err    error
}

func (p Problem) String() string { return fmt.Sprintf("%s at %d: %v", p.File, p.Offset, p.Err) }

// Read calls fn with each page archived in the files (WARC files, .warc or
// .warc.gz, and WACZ files), in their order, revisits last; and problem
// with each record it skips.
func Read(files []string, fn func(Page) error, problem func(Problem)) error {
	// The first reading learns which payloads revisits refer to; the
	// second keeps those, so that the revisits are resolved.
	wanted := wants{digests: map[string]bool{}, uris: map[string]bool{}}
	for _, f := range files {
		if err := eachFile(f, func(name string, rec *warc.Record) error { wanted.note(rec); return nil }, func(Problem) {}); err != nil {
			return err
		}
	}
	r := &reader{wanted: wanted, byDigest: map[string]payload{}, byURI: map[string]payload{}, fn: fn, problem: problem}
	for _, f := range files {
		if err := eachFile(f, r.record, problem); err != nil {
			return err
		}
	}
	for _, p := range r.revisits {
		if err := r.revisit(p); err != nil {
			return err
		}
	}
	return nil
}

// wants is what the revisits of the input refer to.
type wants struct {
	digests, uris map[string]bool
}

func (w wants) note(rec *warc.Record) {
	if rec.Type() != "revisit" {
		return
	}
	if d := rec.Header.Get("WARC-Payload-Digest"); d != "" {
		w.digests[d] = true
	}
	if u := rec.Header.Get("WARC-Refers-To-Target-URI"); u != "" {
		w.uris[u] = true
	}
}

// payload is a response's headers and body as received (content encoding
// kept).
type payload struct {
	header http.Header
	body   []byte
}

// pending is a revisit waiting for the payload it refers to.
type pending struct {
	page   Page
	digest string
	uri    string
}

type reader struct {
	wanted   wants
	byDigest map[string]payload // the payloads revisits want
	byURI    map[string]payload
	revisits []pending
	fn       func(Page) error
	problem  func(Problem)
}

// record takes one record of file.
func (r *reader) record(file string, rec *warc.Record) error {
	t := rec.Type()
	if t != "response" && t != "revisit" {
		return nil
	}
	if ct := rec.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/http") {
		return nil // a resource or a DNS record: not an HTTP exchange
	}
	status, header, body, err := rec.HTTPResponse()
	if err != nil {
		r.problem(Problem{file, rec.Offset, err})
		return nil
	}
	date, _ := time.Parse(time.RFC3339Nano, rec.Header.Get("WARC-Date"))
	p := Page{URL: rec.Header.Get("WARC-Target-URI"), Status: status, ContentType: header.Get("Content-Type"), Date: date,
		Ref: store.WARCRef{File: file, Offset: rec.Offset, ID: rec.Header.Get("WARC-Record-ID"),
			Digest: rec.Header.Get("WARC-Payload-Digest"), Date: date, Revisit: t == "revisit"}}
	if t == "revisit" {
		r.revisits = append(r.revisits, pending{page: p, digest: p.Ref.Digest, uri: rec.Header.Get("WARC-Refers-To-Target-URI")})
		return nil
	}
	if r.wanted.digests[p.Ref.Digest] || r.wanted.uris[p.URL] {
		kept := payload{header, bytes.Clone(body)}
		if r.wanted.digests[p.Ref.Digest] {
			r.byDigest[p.Ref.Digest] = kept
		}
		if r.wanted.uris[p.URL] {
			r.byURI[p.URL] = kept
		}
	}
	return r.emit(p, header, body, file)
}

// emit decodes body as header says and passes the page on.
func (r *reader) emit(p Page, header http.Header, body []byte, file string) error {
	decoded, err := fetch.ReadBody(&http.Response{Header: header, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: -1}, MaxBlock)
	if err != nil {
		r.problem(Problem{file, p.Ref.Offset, fmt.Errorf("decoding the body of %s: %w", p.URL, err)})
		return nil
	}
	p.Body = bytes.Clone(decoded)
	fetch.Recycle(decoded)
	return r.fn(p)
}

// revisit resolves a revisit to the payload it refers to, if the input
// holds it.
func (r *reader) revisit(p pending) error {
	orig, ok := r.byDigest[p.digest]
	if !ok {
		orig, ok = r.byURI[p.uri]
	}
	if !ok {
		r.problem(Problem{p.page.Ref.File, p.page.Ref.Offset, fmt.Errorf("a revisit of %s whose original is not in the input", p.page.URL)})
		return nil
	}
	if p.page.Status == http.StatusNotModified {
		p.page.Status = http.StatusOK // server-not-modified: the original's 200 stands
	}
	// The body is the original's, as its headers encode it.
	p.page.ContentType = orig.header.Get("Content-Type")
	return r.emit(p.page, orig.header, orig.body, p.page.Ref.File)
}

// eachFile calls fn with each record of the file at name: a WARC file,
// or each WARC file in a WACZ.
func eachFile(name string, fn func(file string, rec *warc.Record) error, problem func(Problem)) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if !strings.HasSuffix(name, ".wacz") {
		return scan(name, f, fn, problem)
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	zr, err := zip.NewReader(f, fi.Size())
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	for _, e := range zr.File {
		if !strings.HasPrefix(e.Name, "archive/") || e.FileInfo().IsDir() {
			continue
		}
		r, err := entry(f, e)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", name, e.Name, err)
		}
		if err := scan(name+"#"+path.Base(e.Name), r, fn, problem); err != nil {
			return err
		}
	}
	return nil
}

// entry returns the bytes of the WACZ entry e, in the file f: read where
// they lie when stored (as WACZ says), else inflated into memory.
func entry(f *os.File, e *zip.File) (io.ReadSeeker, error) {
	if e.Method == zip.Store {
		off, err := e.DataOffset()
		if err != nil {
			return nil, err
		}
		return io.NewSectionReader(f, off, int64(e.UncompressedSize64)), nil
	}
	rc, err := e.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	return bytes.NewReader(data), err
}

func scan(file string, r io.ReadSeeker, fn func(string, *warc.Record) error, problem func(Problem)) error {
	return warc.Scan(r, MaxBlock, func(rec *warc.Record) error { return fn(file, rec) },
		func(off int64, err error) { problem(Problem{file, off, err}) })
}
