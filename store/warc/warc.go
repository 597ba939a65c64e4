// Package warc writes and reads WARC 1.1 files (ISO 28500), the format of
// web archives that pywb, ReplayWeb.page and OpenWayback replay.
//
// A Writer appends records to gzip-compressed files, one gzip member per
// record, named PREFIX-YYYYMMDDhhmmssSSS-NNNNN-HOST.warc.gz and written as
// ….warc.gz.open until closed. Each file starts with a warcinfo record.
// For each capture it writes a request record and a response record
// (or, for a payload it archived before, a revisit record). Open mends the
// .open files a killed writer left: each is cut after its last whole
// record and closed.
package warc

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base32"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/trawl-dev/trawl/store/warc/gz"
)

// Options configure a Writer.
type Options struct {
	Config
	// Info are the fields of each file's warcinfo record after software,
	// format, conformsTo and hostname (the job's settings, say), in order.
	Info [][2]string
	// Software names the writer in warcinfo (default "trawl").
	Software string
	// Known, when set, finds the first capture of a payload that earlier
	// writers archived (by its digest), for Dedup across runs. It must be
	// safe for concurrent use.
	Known func(digest string) (Origin, bool)
}

// Config is an archive as a job's settings give it.
type Config struct {
	Dir     string // where the files go (created if missing); "" for no archive
	Prefix  string // of file names (default "trawl")
	MaxSize int64  // a file is closed once it passes this size (default 1 GB)
	// Dedup writes a payload met before (same payload digest) as a revisit
	// record of the first capture: met by this writer, or known to
	// Options.Known.
	Dedup bool
	// CDX writes a CDXJ index beside each file as it is closed (and beside
	// each file Open mends).
	CDX bool
}

// DefaultMaxSize is the MaxSize of Options that set none.
const DefaultMaxSize = 1 << 30

// Writer writes WARC files. It is safe for concurrent use; records are
// written one at a time.
type Writer struct {
	opts Options
	host string

	mu     sync.Mutex
	f      *os.File
	bw     *bufio.Writer
	name   string // of the open file, without ".open"
	size   int64  // bytes in the open file
	serial int
	seen   map[string]Origin
	dirty  bool // written since the last Sync
	closed []string
	zw     *zippers  // reused for every record: their state is large
	cdx    []cdxLine // the open file's index, with Options.CDX
}

// An Origin is a capture a revisit record refers to.
type Origin struct {
	URI    string    // its WARC-Target-URI
	Date   time.Time // its WARC-Date
	ID     string    // its WARC-Record-ID; "" if unknown
	Digest string    // its WARC-Payload-Digest
}

// revisit says how a capture is archived: whole, or as which kind of
// revisit record.
type revisit int

const (
	whole       revisit = iota
	identical           // identical-payload-digest: the payload was archived before
	notModified         // server-not-modified: a 304 to a request for an earlier capture
)

var profiles = [...]string{
	identical:   "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest",
	notModified: "http://netpreserve.org/warc/1.1/revisit/server-not-modified",
}

// Open returns a Writer for opts.Dir, after mending the .open files a
// killed writer left there (see Mend).
func Open(opts Options) (*Writer, error) {
	if opts.Prefix == "" {
		opts.Prefix = "trawl"
	}
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxSize
	}
	if opts.Software == "" {
		opts.Software = "trawl"
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("warc: %w", err)
	}
	mended, err := Mend(opts.Dir)
	if err != nil {
		return nil, err
	}
	if opts.CDX {
		for _, p := range mended {
			if err := Index(p); err != nil {
				return nil, fmt.Errorf("warc: indexing %s: %w", p, err)
			}
		}
	}
	host, _ := os.Hostname()
	host = strings.NewReplacer("/", "_", "-", "_", " ", "_").Replace(host)
	w := &Writer{opts: opts, host: host, seen: make(map[string]Origin)}
	if w.serial, err = lastSerial(opts.Dir, opts.Prefix); err != nil {
		return nil, err
	}
	return w, nil
}

var nameRE = regexp.MustCompile(`^(.*)-(\d{17})-(\d{5,})-[^/]*\.warc\.gz(\.open)?$`)

// lastSerial returns the highest serial number of the files in dir with
// prefix, so that a writer opened again goes on from it.
func lastSerial(dir, prefix string) (int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("warc: %w", err)
	}
	last := 0
	for _, e := range ents {
		if m := nameRE.FindStringSubmatch(e.Name()); m != nil && m[1] == prefix {
			if n, _ := strconv.Atoi(m[3]); n > last {
				last = n
			}
		}
	}
	return last, nil
}

// Files returns the files this writer closed so far.
func (w *Writer) Files() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.closed...)
}

// A Capture is one HTTP exchange to archive.
type Capture struct {
	URL  string    // the target URI
	Date time.Time // when the request was sent
	IP   string    // the address that answered ("" if unknown)
	// Request and Response open the exchange's bytes as they crossed the
	// connection; each may be opened more than once.
	Request  func() (io.Reader, error)
	Response func() (io.Reader, error)
	// RequestLen and ResponseLen are their lengths; RequestSHA1 and
	// ResponseSHA1, when set, their SHA-1 (else Write reads them twice).
	RequestLen, ResponseLen   int64
	RequestSHA1, ResponseSHA1 []byte
	// PayloadDigest is the digest of the response's entity body after
	// removing its transfer encoding, before removing its content
	// encoding ("sha1:BASE32"); PayloadLen is its length.
	PayloadDigest string
	PayloadLen    int64
	// Previous is the URL's capture by an earlier pass over the job, or
	// nil. NotModified says the response is a 304 to a request for it:
	// it is archived as a server-not-modified revisit of Previous.
	Previous    *Origin
	NotModified bool
}

// Result tells what Write archived.
type Result struct {
	File    string // the file (final name) the records went to
	Offset  int64  // of the response or revisit record in it
	ID      string // its WARC-Record-ID
	Digest  string // its WARC-Payload-Digest
	Revisit bool   // a revisit record, of Of
	Of      Origin
}

// Write archives c: a request record and a response record, or a revisit
// record: of Previous for a 304 to a request for it, or of the payload's
// first capture when Dedup is on and it was archived before. Records are
// compressed outside the writer's lock unless they are large.
func (w *Writer) Write(c Capture) (Result, error) {
	id := newID()
	prev, kind := w.dedup(c, id)
	res, err := w.write(c, id, prev, kind)
	if err != nil {
		w.forget(c, id) // its payload was not archived after all
	}
	return res, err
}

func (w *Writer) write(c Capture, id string, prev Origin, kind revisit) (Result, error) {
	req, resp, err := records(c, id, prev, kind)
	if err != nil {
		return Result{}, err
	}
	res := Result{ID: id, Digest: c.PayloadDigest, Revisit: kind != whole}
	if kind != whole {
		res.Digest, res.Of = prev.Digest, prev
	}
	if req.length+resp.length > inMemory {
		w.mu.Lock()
		defer w.mu.Unlock()
		if err := w.ensure(); err != nil {
			return Result{}, err
		}
		start := w.size
		res.File = w.name
		if err := w.append(req); err != nil {
			return Result{}, w.undo(start, err)
		}
		res.Offset = w.size
		if err := w.append(resp); err != nil {
			return Result{}, w.undo(start, err)
		}
		w.index(c, resp, res.Digest, res.Offset, w.size-res.Offset)
		return res, w.rotate()
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(buf)
	buf.Reset()
	zw := zipPool.Get().(*zippers)
	defer zipPool.Put(zw)
	n, err := member(buf, zw, req)
	var m int64
	if err == nil {
		m, err = member(buf, zw, resp)
	}
	if err != nil {
		return Result{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.ensure(); err != nil {
		return Result{}, err
	}
	start := w.size
	res.File, res.Offset = w.name, start+n
	if _, err := w.bw.Write(buf.Bytes()); err != nil {
		return Result{}, w.undo(start, fmt.Errorf("warc: %w", err))
	}
	w.size += int64(buf.Len())
	w.dirty = true
	w.index(c, resp, res.Digest, res.Offset, m)
	return res, w.rotate()
}

// index adds the response (or revisit) record r of c, at offset and
// length bytes long, to the open file's CDXJ index. w.mu must be held.
func (w *Writer) index(c Capture, r record, digest string, offset, length int64) {
	if !w.opts.CDX {
		return
	}
	head, _ := headers(c.Response)
	w.cdx = append(w.cdx, cdxEntry(c.URL, c.Date, r.typ, head, digest, filepath.Base(w.name), offset, length))
}

// inMemory is the largest capture compressed in memory, outside the lock.
const inMemory = 1 << 20

var (
	bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	zipPool = sync.Pool{New: func() any { return new(zippers) }}
)

// dedup says how c is archived, and what a revisit of it refers to. A
// payload met for the first time is remembered as captured by c, under
// the response record id.
func (w *Writer) dedup(c Capture, id string) (Origin, revisit) {
	switch {
	case c.NotModified && c.Previous != nil:
		return *c.Previous, notModified
	case !w.opts.Dedup || c.PayloadLen == 0:
		return Origin{}, whole
	case c.Previous != nil && c.Previous.Digest == c.PayloadDigest:
		return *c.Previous, identical
	}
	w.mu.Lock()
	prev, ok := w.seen[c.PayloadDigest]
	w.mu.Unlock()
	if ok {
		return prev, identical
	}
	if w.opts.Known != nil {
		if prev, ok := w.opts.Known(c.PayloadDigest); ok {
			return prev, identical
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if prev, ok := w.seen[c.PayloadDigest]; ok { // met meanwhile
		return prev, identical
	}
	w.seen[c.PayloadDigest] = Origin{URI: c.URL, Date: c.Date, ID: id, Digest: c.PayloadDigest}
	return Origin{}, whole
}

// forget undoes dedup for a capture that was not archived.
func (w *Writer) forget(c Capture, id string) {
	w.mu.Lock()
	if w.seen[c.PayloadDigest].ID == id {
		delete(w.seen, c.PayloadDigest)
	}
	w.mu.Unlock()
}

// rotate closes the open file once it passes MaxSize.
func (w *Writer) rotate() error {
	if w.size >= w.opts.MaxSize {
		return w.closeFile()
	}
	return nil
}

// records returns the request record and the response (or revisit of
// prev) record of c.
func records(c Capture, respID string, prev Origin, kind revisit) (req, resp record, err error) {
	reqID := newID()
	date := stamp(c.Date)
	common := [][2]string{{"WARC-Date", date}, {"WARC-Target-URI", c.URL}}
	if c.IP != "" {
		common = append(common, [2]string{"WARC-IP-Address", c.IP})
	}
	field := func(fs ...string) [][2]string {
		out := append([][2]string(nil), common...)
		for i := 0; i+1 < len(fs); i += 2 {
			out = append(out, [2]string{fs[i], fs[i+1]})
		}
		return out
	}
	switch kind {
	case identical, notModified:
		fs := []string{"WARC-Concurrent-To", reqID, "WARC-Profile", profiles[kind]}
		if prev.ID != "" {
			fs = append(fs, "WARC-Refers-To", prev.ID)
		}
		fs = append(fs, "WARC-Refers-To-Target-URI", prev.URI, "WARC-Refers-To-Date", stamp(prev.Date),
			"WARC-Payload-Digest", prev.Digest)
		resp = record{typ: "revisit", id: respID, block: c.Response, length: c.ResponseLen, sha1: c.ResponseSHA1}
		if kind == identical { // the headers only: the payload is the earlier capture's
			head, err := headers(c.Response)
			if err != nil {
				return req, resp, err
			}
			fs = append(fs, "WARC-Truncated", "length")
			resp.block, resp.length, resp.sha1 = bytesOpener(head), int64(len(head)), nil
		}
		resp.fields = field(append(fs, "Content-Type", "application/http;msgtype=response")...)
	default:
		resp = record{typ: "response", id: respID, fields: field(
			"WARC-Concurrent-To", reqID,
			"WARC-Payload-Digest", c.PayloadDigest,
			"Content-Type", "application/http;msgtype=response"),
			block: c.Response, length: c.ResponseLen, sha1: c.ResponseSHA1}
	}
	req = record{typ: "request", id: reqID, fields: field(
		"WARC-Concurrent-To", respID,
		"Content-Type", "application/http;msgtype=request"),
		block: c.Request, length: c.RequestLen, sha1: c.RequestSHA1}
	return req, resp, nil
}

// Resource archives data as a resource record: something the crawler
// made rather than received (a screenshot of a rendered page, say),
// named uri, of the given Content-Type, made at date.
func (w *Writer) Resource(uri, contentType string, date time.Time, data []byte) (Result, error) {
	sum := sha1.Sum(data)
	digest := "sha1:" + base32.StdEncoding.EncodeToString(sum[:])
	r := record{typ: "resource", id: newID(), fields: [][2]string{{"WARC-Date", stamp(date)}, {"WARC-Target-URI", uri},
		{"WARC-Payload-Digest", digest}, {"Content-Type", contentType}},
		block: bytesOpener(data), length: int64(len(data)), sha1: sum[:]}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.ensure(); err != nil {
		return Result{}, err
	}
	start := w.size
	if err := w.append(r); err != nil {
		return Result{}, w.undo(start, err)
	}
	return Result{File: w.name, Offset: start, ID: r.id, Digest: digest}, w.rotate()
}

// stamp formats a WARC-Date: UTC, to the microsecond (WARC 1.1).
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// undo cuts the open file back to size after a failed write.
func (w *Writer) undo(size int64, err error) error {
	w.bw.Reset(w.f)
	if terr := w.f.Truncate(size); terr != nil {
		return errors.Join(err, terr)
	}
	if _, serr := w.f.Seek(size, io.SeekStart); serr != nil {
		return errors.Join(err, serr)
	}
	w.size = size
	return err
}

// ensure opens a new file, with its warcinfo record, if none is open.
func (w *Writer) ensure() error {
	if w.f != nil {
		return nil
	}
	w.serial++
	now := time.Now().UTC()
	ts := now.Format("20060102150405") + fmt.Sprintf("%03d", now.Nanosecond()/1e6)
	w.name = filepath.Join(w.opts.Dir, fmt.Sprintf("%s-%s-%05d-%s.warc.gz", w.opts.Prefix, ts, w.serial, w.host))
	f, err := os.OpenFile(w.name+".open", os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("warc: %w", err)
	}
	w.f, w.bw, w.size = f, bufio.NewWriterSize(f, 256<<10), 0
	host, _ := os.Hostname()
	var b strings.Builder
	for _, kv := range append([][2]string{
		{"software", w.opts.Software},
		{"format", "WARC File Format 1.1"},
		{"conformsTo", "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"},
		{"hostname", host},
	}, w.opts.Info...) {
		fmt.Fprintf(&b, "%s: %s\r\n", kv[0], strings.ReplaceAll(kv[1], "\n", " "))
	}
	info := []byte(b.String())
	return w.append(record{typ: "warcinfo", id: newID(), fields: [][2]string{
		{"WARC-Date", stamp(now)},
		{"WARC-Filename", filepath.Base(w.name)},
		{"Content-Type", "application/warc-fields"},
	}, block: bytesOpener(info), length: int64(len(info))})
}

// Sync makes every record written so far durable.
func (w *Writer) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil || !w.dirty {
		return nil
	}
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("warc: %w", err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("warc: %w", err)
	}
	w.dirty = false
	return nil
}

// closeFile flushes, syncs and closes the open file under its final name.
func (w *Writer) closeFile() error {
	if w.f == nil {
		return nil
	}
	f := w.f
	w.f = nil
	err := w.bw.Flush()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(w.name+".open", w.name)
	}
	if err != nil {
		return fmt.Errorf("warc: closing %s: %w", w.name, err)
	}
	w.closed = append(w.closed, w.name)
	w.dirty = false
	if w.opts.CDX {
		lines := w.cdx
		w.cdx = nil
		if err := writeCDX(w.name, lines); err != nil {
			return fmt.Errorf("warc: index of %s: %w", w.name, err)
		}
	}
	return nil
}

// Close closes the open file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closeFile()
}

// record is one WARC record to write.
type record struct {
	typ, id string
	fields  [][2]string
	block   func() (io.Reader, error)
	length  int64
	sha1    []byte // of the block, if known
}

func bytesOpener(b []byte) func() (io.Reader, error) {
	return func() (io.Reader, error) { return bytes.NewReader(b), nil }
}

// append writes r as one gzip member at the end of the open file.
func (w *Writer) append(r record) error {
	if w.zw == nil {
		w.zw = new(zippers)
	}
	n, err := member(w.bw, w.zw, r)
	if err != nil {
		return err
	}
	w.size += n
	w.dirty = true
	return nil
}

// A record of up to sharedCode bytes is compressed with store/warc/gz's
// shared Huffman codes: for a few kilobytes, building a code of its own
// costs more time than it saves bytes. A larger one gets a code of its
// own (klauspost/compress's gzip at BestSpeed), whose matcher is also the
// faster on long inputs.
const sharedCode = 16 << 10

// zippers are the two compressors of records, made when first needed.
type zippers struct {
	small *gz.Writer
	large *gzip.Writer
	head  []byte // a record's header, kept for the next
}

// get returns the compressor for a record of n bytes.
func (z *zippers) get(n int64) compressor {
	if n <= sharedCode {
		if z.small == nil {
			z.small = gz.NewWriter(io.Discard)
		}
		return z.small
	}
	if z.large == nil {
		z.large, _ = gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	}
	return z.large
}

// compressor writes one gzip member after each Reset.
type compressor interface {
	io.WriteCloser
	Reset(io.Writer)
}

// member writes r to dst as one gzip member with a compressor of zw, and
// returns how many bytes it wrote.
func member(dst io.Writer, zws *zippers, r record) (int64, error) {
	digest := ""
	if r.sha1 != nil {
		digest = "sha1:" + base32.StdEncoding.EncodeToString(r.sha1)
	} else {
		var err error
		if digest, err = digestOf(r.block); err != nil {
			return 0, err
		}
	}
	h := append(zws.head[:0], "WARC/1.1\r\nWARC-Type: "...)
	h = append(append(append(h, r.typ...), "\r\nWARC-Record-ID: "...), r.id...)
	h = append(h, "\r\n"...)
	for _, kv := range r.fields {
		h = append(append(append(append(h, kv[0]...), ": "...), kv[1]...), "\r\n"...)
	}
	h = append(append(h, "WARC-Block-Digest: "...), digest...)
	h = strconv.AppendInt(append(h, "\r\nContent-Length: "...), r.length, 10)
	h = append(h, "\r\n\r\n"...)
	zws.head = h
	block, err := r.block()
	if err != nil {
		return 0, err
	}
	cw := &counter{w: dst}
	zw := zws.get(int64(len(h)) + r.length)
	zw.Reset(cw)
	zw.Write(h)
	n, err := io.Copy(zw, block)
	if err == nil && n != r.length {
		err = fmt.Errorf("warc: %s record of %d bytes, %d read", r.typ, r.length, n)
	}
	if err != nil {
		return 0, err
	}
	io.WriteString(zw, "\r\n\r\n")
	if err := zw.Close(); err != nil {
		return 0, fmt.Errorf("warc: %w", err)
	}
	if cw.err != nil {
		return 0, fmt.Errorf("warc: %w", cw.err)
	}
	return cw.n, nil
}

type counter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil {
		c.err = err
	}
	return n, err
}

// Digest returns the WARC digest ("sha1:BASE32") of what h has hashed.
func Digest(h hash.Hash) string {
	return "sha1:" + base32.StdEncoding.EncodeToString(h.Sum(nil))
}

// NewHash returns the hash WARC digests use (SHA-1, as every replay tool
// expects).
func NewHash() hash.Hash { return sha1.New() }

func digestOf(open func() (io.Reader, error)) (string, error) {
	r, err := open()
	if err != nil {
		return "", err
	}
	h := NewHash()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return Digest(h), nil
}

// headers returns the status line and headers of a raw HTTP response.
func headers(open func() (io.Reader, error)) ([]byte, error) {
	r, err := open()
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(r)
	var out []byte
	for {
		line, err := br.ReadSlice('\n')
		out = append(out, line...)
		if err != nil || len(line) <= 2 && strings.TrimSpace(string(line)) == "" {
			return out, nil
		}
	}
}

const hexDigits = "0123456789abcdef"

// newID returns a new WARC-Record-ID: a random (version 4) UUID URN.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var id [47]byte
	n := copy(id[:], "<urn:uuid:")
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			id[n], n = '-', n+1
		}
		id[n], id[n+1] = hexDigits[c>>4], hexDigits[c&15]
		n += 2
	}
	id[n] = '>'
	return string(id[:])
}

// Mend closes the .open files a killed writer left in dir: each is cut
// after its last whole record and renamed to its final name (or removed
// when it holds no whole record). It returns the files it mended.
func Mend(dir string) ([]string, error) {
	open, err := filepath.Glob(filepath.Join(dir, "*.warc.gz.open"))
	if err != nil {
		return nil, err
	}
	sort.Strings(open)
	var mended []string
	for _, p := range open {
		good, err := wholeRecords(p)
		if err != nil {
			return mended, fmt.Errorf("warc: mending %s: %w", p, err)
		}
		final := strings.TrimSuffix(p, ".open")
		if good == 0 {
			if err := os.Remove(p); err != nil {
				return mended, err
			}
			continue
		}
		if err := os.Truncate(p, good); err != nil {
			return mended, err
		}
		if err := os.Rename(p, final); err != nil {
			return mended, err
		}
		mended = append(mended, final)
	}
	return mended, nil
}

// wholeRecords returns the length of the longest start of the file at path
// made of whole gzip members, each a whole WARC record.
func wholeRecords(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var good int64
	r := NewReader(f)
	for {
		_, err := r.Next()
		if err == io.EOF {
			return good, nil
		}
		if err != nil {
			return good, nil // cut off here
		}
		good = r.Offset()
	}
}
