// Package download is the Sink of bulk downloads: each 2xx body streams to
// a partial file under the download folder, with its SHA-256 computed on
// the way, and takes its name (see layout.Dir) once whole and verified
// against the job's checksums. A partial file outlives the process, with
// the response's validators beside it, so that a rerun continues it with
// Range and If-Range.
package download

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/internal/units"
)

// ReadChecksums reads a sha256sum file: "HEX  NAME" lines ("HEX *NAME" in
// binary mode). NAME may be a file name under the output folder, a base
// name, or a URL.
func ReadChecksums(r io.Reader) (map[string]string, error) {
	sums := make(map[string]string)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sum, name, ok := strings.Cut(line, " ")
		name = strings.TrimPrefix(strings.TrimLeft(name, " "), "*")
		if _, err := hex.DecodeString(sum); !ok || err != nil || len(sum) != 64 || name == "" {
			return nil, fmt.Errorf("line %d: not \"SHA256  NAME\"", n)
		}
		sums[name] = strings.ToLower(sum)
	}
	return sums, sc.Err()
}

// download is one response being streamed to a file: a partial file that
// outlives the process, so that a rerun continues it with Range.
type download struct {
	key  string // request identity (frontier.Request.ID)
	url  string
	part string // partial file
	rel  string // name under the folder, before clash resolution
	out  string // the request's own name, if any
	// known is the SHA-256 of the file an earlier pass saved, or "".
	known string

	hasMeta bool     // a validators file may exist beside part
	prev    partMeta // what it held, when resumable read it
}

// partMeta is what a partial file's validators were, kept beside it.
type partMeta struct {
	URL          string `json:"url"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	Total        int64  `json:"total,omitempty"` // full length, when known
	Ranges       bool   `json:"ranges,omitempty"`
}

func (d *download) metaPath() string { return d.part + ".meta" }

// resumable returns how many bytes of the partial file can be kept, and
// the If-Range validator to send with the Range request (empty: none).
func (d *download) resumable() (int64, string) {
	fi, err := os.Stat(d.part)
	if err != nil || fi.Size() == 0 {
		return 0, ""
	}
	data, err := os.ReadFile(d.metaPath())
	var m partMeta
	if err != nil || json.Unmarshal(data, &m) != nil {
		return 0, ""
	}
	d.hasMeta, d.prev = true, m
	switch {
	case m.ETag != "" && !strings.HasPrefix(m.ETag, "W/"):
		return fi.Size(), m.ETag
	case m.LastModified != "":
		return fi.Size(), m.LastModified
	case m.Ranges && m.Total > 0:
		return fi.Size(), "" // no validator: the total length is checked instead
	}
	return 0, ""
}

func (d *download) remove() {
	os.Remove(d.part)
	os.Remove(d.metaPath())
}

// save streams resp's body into the partial file: appended when resp is
// the 206 answer to a Range request from `from`, else from the start. It
// returns the full length and SHA-256 of the file.
func (d *download) save(resp *http.Response, from int64, max int64, progress func(n int)) (int64, string, error) {
	h := sha256.New()
	flags, from, err := d.start(resp, from, h)
	if err != nil {
		return 0, "", err
	}
	// The validators are written beside the partial file once it is worth
	// continuing (metaAfter bytes) or when the attempt fails: a small file
	// costs one file creation, not two.
	meta := func() { d.writeMeta(resp) }
	metaDone := resp.StatusCode == http.StatusPartialContent // already there
	f, err := os.OpenFile(d.part, flags, 0o644)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	var written int64
	rd := &progressReader{r: resp.Body, progress: func(n int) {
		progress(n)
		if written += int64(n); !metaDone && written >= metaAfter {
			meta()
			metaDone = true
		}
	}}
	var src io.Reader = rd
	if max > 0 {
		src = io.LimitReader(rd, max-from+1)
	}
	buf := copyBufs.Get().(*[]byte)
	n, err := io.CopyBuffer(io.MultiWriter(f, h), src, *buf)
	copyBufs.Put(buf)
	total := from + n
	if max > 0 && total > max {
		d.remove()
		return total, "", fmt.Errorf("%w (%s)", fetch.ErrTooLarge, units.FormatSize(max))
	}
	if err != nil {
		if !metaDone && n > 0 {
			meta()
		}
		return total, "", err // the partial file stays for the next attempt
	}
	if syncEachFile {
		if err := f.Sync(); err != nil {
			return total, "", err
		}
	}
	return total, hex.EncodeToString(h.Sum(nil)), f.Close()
}

// start checks that resp continues the partial file (a 206 from its
// end), feeding what the file holds to h, and returns how to open the file
// and the offset the body starts at.
func (d *download) start(resp *http.Response, from int64, h hash.Hash) (int, int64, error) {
	if resp.StatusCode == http.StatusPartialContent {
		start, total, ok := contentRange(resp.Header.Get("Content-Range"))
		if !ok || start != from || !d.sameTotal(total) || hashFile(h, d.part, from) != nil {
			d.remove()
			return 0, 0, fetch.ErrRestart
		}
		return os.O_WRONLY | os.O_APPEND, from, nil
	}
	if d.hasMeta { // an earlier attempt's validators: not this body's
		os.Remove(d.metaPath())
		d.hasMeta = false
	}
	return os.O_WRONLY | os.O_CREATE | os.O_TRUNC, 0, nil
}

// writeMeta saves resp's validators beside the partial file.
func (d *download) writeMeta(resp *http.Response) {
	m := partMeta{
		URL:          resp.Request.URL.String(),
		ETag:         resp.Header.Get("ETag"),
		LastModified: resp.Header.Get("Last-Modified"),
		Total:        resp.ContentLength,
		Ranges:       strings.EqualFold(resp.Header.Get("Accept-Ranges"), "bytes"),
	}
	if resp.StatusCode == http.StatusPartialContent {
		_, m.Total, _ = contentRange(resp.Header.Get("Content-Range"))
		m.Ranges = true
	}
	data, _ := json.Marshal(&m)
	// Whole or absent: a full disk must not leave an empty file behind.
	tmp := d.metaPath() + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil || os.Rename(tmp, d.metaPath()) != nil {
		os.Remove(tmp)
		return
	}
	d.hasMeta = true
}

// sameTotal reports whether total agrees with the length the partial file
// was started with (when both are known).
func (d *download) sameTotal(total int64) bool {
	return total < 0 || d.prev.Total <= 0 || total == d.prev.Total
}

// contentRange parses "bytes START-END/TOTAL" (TOTAL may be "*": -1).
func contentRange(v string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(v), "bytes ")
	if !found {
		return 0, 0, false
	}
	span, tot, found := strings.Cut(rest, "/")
	s, _, found2 := strings.Cut(span, "-")
	if !found || !found2 {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	total = -1
	if tot != "*" {
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil {
			return 0, 0, false
		}
	}
	return start, total, true
}

// hashFile feeds the first n bytes of path to h.
func hashFile(h hash.Hash, path string, n int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	got, err := io.Copy(h, io.LimitReader(f, n))
	if err == nil && got != n {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// progressReader calls progress after every read that returned bytes.
type progressReader struct {
	r        io.Reader
	progress func(n int)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.progress(n)
	}
	return n, err
}

// metaAfter is how much of a download is written before its validators are
// saved beside it, so that a crash from then on loses no progress.
const metaAfter = 1 << 20

// copyBufs recycles the buffers downloads are copied through.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}
