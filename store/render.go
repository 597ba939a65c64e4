package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// A Blob names bytes a job keeps besides a response's body (a rendered
// DOM, a screenshot): read them with Store.Blob.
type Blob struct {
	SHA256 string `json:"sha256"`
	Length int64  `json:"length"`
}

// BlobOf returns the Blob that names data.
func BlobOf(data []byte) *Blob {
	sum := sha256.Sum256(data)
	return &Blob{SHA256: hex.EncodeToString(sum[:]), Length: int64(len(data))}
}

// Render is how a page was rendered in a browser (see crawler/render).
type Render struct {
	Reason     string `json:"reason"`               // why it was rendered
	DOM        *Blob  `json:"dom,omitempty"`        // the document as its scripts left it
	Screenshot *Blob  `json:"screenshot,omitempty"` // PNG of the viewport
	// ScreenshotWARC is where the screenshot was archived, with --warc:
	// a resource record named urn:view:URL, as browsertrix names them.
	ScreenshotWARC *WARCRef `json:"screenshot_warc,omitempty"`
	MS             int64    `json:"ms"` // rendering took
	// Note says what did not go as planned: a page that never settled,
	// requests left out of Requests.
	Note  string `json:"note,omitempty"`
	Error string `json:"error,omitempty"` // why the render failed
	// Requests are what the page asked for while it rendered.
	Requests []Subrequest `json:"requests,omitempty"`
	// Navigations are the URLs its scripts tried to take it to.
	Navigations []string `json:"navigations,omitempty"`
}

// A Subrequest is one request a page made while it rendered.
type Subrequest struct {
	URL    string `json:"url"`
	Method string `json:"method,omitempty"` // "" for GET
	Type   string `json:"type"`             // as the browser says: Script, XHR, Image…
	Status int    `json:"status,omitempty"`
	Bytes  int64  `json:"bytes,omitempty"`
	// From is where the answer came from: SubNet, SubCache, SubBlocked
	// or SubFailed.
	From  string `json:"from"`
	Error string `json:"error,omitempty"`
}

// Where a Subrequest's answer came from.
const (
	SubNet     = "net"     // fetched for it
	SubCache   = "cache"   // fetched earlier in the crawl
	SubBlocked = "blocked" // refused by the crawl's rules (robots.txt)
	SubFailed  = "failed"  // no answer
)

// attached is a blob to save with a page: its digest and its bytes,
// compressed, or in a file beside the job.
type attached struct {
	sum    [32]byte
	blob   []byte
	inFile bool
}

// Attach adds r's DOM and screenshot to what Put saves with p, to be read
// again by their Blobs (see BlobOf). Bytes the job holds already are not
// saved twice.
func (s *Store) Attach(p *Page, r *Rendering) error {
	for _, data := range [][]byte{r.DOM, r.Screenshot} {
		if data == nil {
			continue
		}
		a := attached{sum: sha256.Sum256(data), blob: s.compress(data)}
		if len(a.blob) > InlineMax {
			if err := s.writeBlobFile(hex.EncodeToString(a.sum[:]), a.blob); err != nil {
				return err
			}
			a.blob, a.inFile = nil, true
		}
		p.attached = append(p.attached, a)
		p.size += len(a.blob)
	}
	return nil
}

// Blob returns the bytes b names, checked against its digest.
func (s *Store) Blob(b *Blob) ([]byte, error) {
	if b == nil || b.SHA256 == "" {
		return nil, fmt.Errorf("store: no blob")
	}
	return s.Body(&Record{SHA256: b.SHA256, Length: b.Length})
}

// attach appends p's attached blobs the job does not hold yet.
func (w *batch) attach(p *Page) error {
	for _, a := range p.attached {
		if w.s.bodyKey(w.shas, &a.sum, w.saved) != 0 {
			continue
		}
		v := a.blob
		if a.inFile {
			v = inFileMark
		}
		if _, err := w.addBody(&a.sum, v); err != nil {
			return err
		}
	}
	p.attached = nil
	return nil
}

// A Rendering is what a browser made of a page: its Render for the
// record, and the bytes to keep with it (see Attach).
type Rendering struct {
	Render     Render
	DOM        []byte
	Screenshot []byte
}
