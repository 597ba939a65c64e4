package crawler

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/trawl-dev/trawl/frontier"
)

// A Request is one entry of a URL list: a URL and, for anything but a
// plain GET, its method, headers, body and output file name. It is what a
// line of a JSON Lines list holds.
type Request struct {
	URL    string            `json:"url,omitempty"`
	Method string            `json:"method,omitempty"`  // GET when empty
	Header map[string]string `json:"headers,omitempty"` // sent as given (User-Agent included)
	Body   string            `json:"body,omitempty"`
	Out    string            `json:"out,omitempty"` // file name under Config.OutDir, made safe
}

// Canonical checks r's URL, method and header names, and returns r with
// its URL made canonical and its method upper-case ("" for GET).
func (r Request) Canonical() (Request, error) {
	u, err := frontier.Canonical(r.URL)
	if err != nil {
		return Request{}, err
	}
	r.URL = u
	if r.Method = strings.ToUpper(r.Method); r.Method == http.MethodGet {
		r.Method = ""
	}
	for _, c := range r.Method {
		if c < 'A' || c > 'Z' {
			return Request{}, fmt.Errorf("bad method %q", r.Method)
		}
	}
	for k := range r.Header {
		if k == "" || strings.ContainsAny(k, " :\r\n") {
			return Request{}, fmt.Errorf("bad header name %q", k)
		}
	}
	return r, nil
}

// frontierRequest returns r as the frontier queues it: its canonical URL,
// and the rest as JSON in Spec ("" for a plain GET).
func (r Request) frontierRequest() (frontier.Request, error) {
	r, err := r.Canonical()
	if err != nil {
		return frontier.Request{}, err
	}
	fr := frontier.Request{URL: r.URL}
	if r.Method == "" && len(r.Header) == 0 && r.Body == "" && r.Out == "" {
		return fr, nil
	}
	r.URL = ""
	data, err := json.Marshal(&r)
	if err != nil {
		return frontier.Request{}, err
	}
	fr.Spec = string(data)
	return fr, nil
}

// request reads back what frontierRequest queued.
func request(l frontier.Lease) (Request, error) {
	var r Request
	if l.Spec != "" {
		if err := json.Unmarshal([]byte(l.Spec), &r); err != nil {
			return Request{}, fmt.Errorf("frontier gave a bad request for %s: %w", l.URL, err)
		}
	}
	r.URL = l.URL
	return r, nil
}

// Add queues requests at depth 0 and returns how many were new to the job.
// One URL with different methods, headers or bodies is that many requests.
func (c *Crawler) Add(ctx context.Context, reqs ...Request) (int, error) {
	frs := make([]frontier.Request, 0, len(reqs))
	for _, r := range reqs {
		fr, err := r.frontierRequest()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", r.URL, err)
		}
		frs = append(frs, fr)
		c.budget.seed(fr.URL)
	}
	return c.fr.Add(ctx, frs)
}

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

// errRestart asks for another attempt from the first byte.
var errRestart = errors.New("server refused to continue the partial download; starting over")

// save streams resp's body into the partial file: appended when resp is
// the 206 answer to a Range request from `from`, else from the start. It
// returns the full length and SHA-256 of the file.
func (d *download) save(resp *http.Response, from int64, max int64, progress func(n int)) (int64, string, error) {
	h := sha256.New()
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if resp.StatusCode == http.StatusPartialContent {
		start, total, ok := contentRange(resp.Header.Get("Content-Range"))
		if !ok || start != from || !d.sameTotal(total) {
			d.remove()
			return 0, "", errRestart
		}
		if err := hashFile(h, d.part, from); err != nil {
			d.remove()
			return 0, "", errRestart
		}
		flags = os.O_WRONLY | os.O_APPEND
	} else {
		from = 0
		if d.hasMeta { // an earlier attempt's validators: not this body's
			os.Remove(d.metaPath())
			d.hasMeta = false
		}
	}
	// The validators are written beside the partial file once it is worth
	// continuing (metaAfter bytes) or when the attempt fails: a small file
	// costs one file creation, not two.
	meta := func() {
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
		os.WriteFile(d.metaPath(), data, 0o644)
		d.hasMeta = true
	}
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
		return total, "", fmt.Errorf("%w (%s)", ErrTooLarge, FormatSize(max))
	}
	if err != nil {
		if !metaDone && n > 0 {
			meta()
		}
		return total, "", err // the partial file stays for the next attempt
	}
	return total, hex.EncodeToString(h.Sum(nil)), f.Close()
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

// newDownload prepares the download of the leased request l.
func (c *Crawler) newDownload(l frontier.Lease, r Request) *download {
	key := l.ID()
	return &download{
		key:  key,
		url:  l.URL,
		part: c.dir.Partial(key),
		rel:  c.dir.Name(key, l.URL, r.Out),
		out:  r.Out,
	}
}

// finish verifies a complete download against the job's checksums and
// moves it to its name; it returns the file's path.
func (c *Crawler) finish(d *download, r *response) (string, error) {
	if want, ok := c.checksum(d, r.finalURL); ok && want != r.sum {
		d.remove()
		return "", fmt.Errorf("sha256 mismatch: got %s, want %s", r.sum, want)
	}
	path, err := c.dir.Place(d.key, d.rel, d.part)
	if err != nil {
		return "", fmt.Errorf("saving %s: %w", d.rel, err)
	}
	if d.hasMeta {
		os.Remove(d.metaPath())
	}
	return path, nil
}

// checksum finds the expected SHA-256 of a download: by its URL, its final
// URL, its name under the folder, its own out name, or its base name.
func (c *Crawler) checksum(d *download, finalURL string) (string, bool) {
	if len(c.cfg.Checksums) == 0 {
		return "", false
	}
	for _, k := range []string{d.url, finalURL, filepath.ToSlash(d.rel), d.out, filepath.Base(d.rel)} {
		if sum, ok := c.cfg.Checksums[k]; ok && k != "" {
			return sum, true
		}
	}
	return "", false
}

// watchdog cancels an attempt when no byte has arrived for idle: a
// download may take long, but must not stall.
type watchdog struct {
	t    *time.Timer
	idle time.Duration
}

// errStalled is the cause a watchdog cancels with; it is a timeout.
var errStalled = fmt.Errorf("no data: %w", context.DeadlineExceeded)

func newWatchdog(idle time.Duration, cancel context.CancelCauseFunc) *watchdog {
	return &watchdog{t: time.AfterFunc(idle, func() { cancel(errStalled) }), idle: idle}
}

// stalled returns err as a timeout when the watchdog cut the attempt.
func stalled(ctx context.Context, err error) error {
	if err != nil && errors.Is(context.Cause(ctx), errStalled) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", errStalled, err)
	}
	return err
}

func (w *watchdog) kick() { w.t.Reset(w.idle) }
func (w *watchdog) stop() { w.t.Stop() }

// copyBufs recycles the buffers downloads are copied through.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}
