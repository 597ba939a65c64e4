package download

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/store"
	"github.com/trawl-dev/trawl/store/layout"
)

// Files is the Sink that streams every 2xx body to a file under a folder.
// A HEAD request, which has no body, is kept as a record only.
type Files struct {
	dir       *layout.Dir
	checksums map[string]string // expected hex SHA-256 by URL or file name
	placed    atomic.Int64      // files named since the last Sync
}

var _ fetch.Sink = (*Files)(nil)

// New opens the download folder root with its names' layout (see
// layout.Dir), and reserves the names that st's records already give files
// there. checksums (see ReadChecksums) may be nil.
func New(root string, mode layout.Mode, checksums map[string]string, st *store.Store) (*Files, error) {
	d, err := layout.Open(root, mode)
	if err != nil {
		return nil, err
	}
	err = st.Each(func(r *store.Record) error {
		if rel, err := filepath.Rel(d.Root(), r.File); r.File != "" && err == nil {
			d.Reserve(r.ID(), rel)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Files{dir: d, checksums: checksums}, nil
}

// Open returns the body of req: a file, but for HEAD.
func (f *Files) Open(req fetch.Target) fetch.Body {
	if req.Method == http.MethodHead {
		return fetch.Memory{}.Open(req)
	}
	key := req.ID
	return &fileBody{files: f, d: &download{
		key:   key,
		url:   req.URL,
		part:  f.dir.Partial(key),
		rel:   f.dir.Name(key, req.URL, req.Out),
		out:   req.Out,
		known: req.Known,
	}}
}

// Sync puts every file named so far on disk, with one syncfs(2) for all
// of them, before the job records them as done.
func (f *Files) Sync() error {
	if f.placed.Swap(0) == 0 {
		return nil
	}
	if err := flushFS(f.dir.Root()); err != nil {
		return fmt.Errorf("flushing downloads: %w", err)
	}
	return nil
}

type fileBody struct {
	files *Files
	d     *download
}

func (b *fileBody) Streaming() bool { return true }

func (b *fileBody) Prepare(h http.Header) int64 {
	n, validator := b.d.resumable()
	if n > 0 {
		h.Set("Range", fmt.Sprintf("bytes=%d-", n))
		if validator != "" {
			h.Set("If-Range", validator)
		}
	}
	return n
}

func (b *fileBody) Receive(resp *http.Response, from, max int64, tick func(int)) (fetch.Payload, error) {
	switch {
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && from > 0:
		b.d.remove()
		return fetch.Payload{}, fetch.ErrRestart
	case resp.StatusCode < 200 || resp.StatusCode > 299: // an error page: not saved
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return fetch.Payload{}, nil
	}
	n, sum, err := b.d.save(resp, from, max, tick)
	if err != nil {
		return fetch.Payload{}, err
	}
	p := fetch.Payload{Length: n, SHA256: sum, Resumed: resp.StatusCode == http.StatusPartialContent}
	p.File, err = b.files.finish(b.d, resp.Request.URL.String(), sum)
	if err == nil && !p.Resumed {
		stamp(p.File, resp.Header.Get("Last-Modified"))
	}
	return p, err
}

// stamp sets the modification time of the file at path to lastModified
// (as wget -N does), unless it is unparsable or in the future.
func stamp(path, lastModified string) {
	if t, err := http.ParseTime(lastModified); err == nil && !t.After(time.Now()) {
		os.Chtimes(path, time.Now(), t)
	}
}

// finish verifies a complete download against the job's checksums and
// moves it to its name; it returns the file's path.
func (f *Files) finish(d *download, finalURL, sum string) (string, error) {
	if want, ok := f.checksum(d, finalURL); ok && want != sum {
		d.remove()
		return "", fmt.Errorf("sha256 mismatch: got %s, want %s", sum, want)
	}
	if d.known == sum { // an earlier pass saved these bytes: its file stays as it is
		if path, ok := f.dir.Kept(d.key, sum); ok {
			d.remove()
			return path, nil
		}
	}
	path, err := f.dir.Place(d.key, d.rel, d.part, sum)
	if err != nil {
		return "", fmt.Errorf("saving %s: %w", d.rel, err)
	}
	f.placed.Add(1)
	if d.hasMeta {
		os.Remove(d.metaPath())
	}
	return path, nil
}

// checksum finds the expected SHA-256 of a download: by its URL, its final
// URL, its name under the folder, its own out name, or its base name.
func (f *Files) checksum(d *download, finalURL string) (string, bool) {
	if len(f.checksums) == 0 {
		return "", false
	}
	for _, k := range []string{d.url, finalURL, filepath.ToSlash(d.rel), d.out, filepath.Base(d.rel)} {
		if sum, ok := f.checksums[k]; ok && k != "" {
			return sum, true
		}
	}
	return "", false
}

// Config is a download folder as a job's settings give it.
type Config struct {
	Dir       string // where bodies go; "" keeps them in the job
	Layout    string // how URLs become file names (see layout.Dir): host, flat or hash
	Checksums string // a sha256sum file to verify downloads against (see ReadChecksums)
}
