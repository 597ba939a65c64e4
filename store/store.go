// Package store keeps a trawl job's results in one bbolt file: a record per
// fetched URL, in the order they were saved, and each distinct body once,
// compressed, indexed by its SHA-256. Large bodies live in files beside
// the database so that they do not bloat it. Saving a page appends to the
// file and never inserts a random key: the URL and digest indexes catch
// up in bulk, in key order (see CatchUp).
package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
	bolt "go.etcd.io/bbolt"

	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/internal/atomicfile"
	"github.com/trawl-dev/trawl/internal/jobfile"
)

var (
	keyCount = []byte("count")
	keyBytes = []byte("bytes")
)

// ErrNotJob is returned by Open for a file that exists but is not a trawl job.
var ErrNotJob = jobfile.ErrNotJob

// ErrDamaged is returned for a job file whose content is broken.
var ErrDamaged = jobfile.ErrDamaged

// ErrLocked is returned by Open when another process has the job open.
var ErrLocked = jobfile.ErrLocked

// inFileMark is the bodies value of a body kept in a blob file. A zstd frame
// is never one byte long, so it cannot be mistaken for one.
var inFileMark = []byte{'F'}

// InlineMax is the largest compressed body kept inside the database;
// larger ones go to blob files beside it.
const InlineMax = 64 << 10

// A Record is the stored result of fetching one URL. Failures are records
// too: Status is 0 and Error says why when nothing answered.
type Record struct {
	URL         string          `json:"url"`
	Request     json.RawMessage `json:"request,omitempty"` // method, headers, body… of a request other than a plain GET (see crawler.Request)
	FinalURL    string          `json:"final_url"`
	Status      int             `json:"status"`
	Depth       int             `json:"depth"`
	ContentType string          `json:"content_type"`
	Length      int64           `json:"length"`
	SHA256      string          `json:"sha256"`
	Attempts    int             `json:"attempts"`
	Error       string          `json:"error"`
	// ErrorKind is the class of Error, as crawler/fetch classifies it
	// (fetch.ErrorKind: timeout, refused, too_large…); "" in records of
	// jobs written before it was kept.
	ErrorKind  string      `json:"error_kind,omitempty"`
	Skipped    Skip        `json:"skipped,omitempty"` // why it was not fetched on purpose
	FetchedAt  time.Time   `json:"fetched_at"`
	DurationMS int64       `json:"duration_ms"`
	Header     http.Header `json:"headers"`

	File  string `json:"file,omitempty"`  // where the body was saved, for downloads to a directory (not kept in the job)
	Items int    `json:"items,omitempty"` // items extracted from the page
	// LinksTruncated says the page had more links than the job follows
	// from one page (its max links); those past it were not followed.
	LinksTruncated bool   `json:"links_truncated,omitempty"`
	ExtractError   string `json:"extract_error,omitempty"` // why extraction failed, in part or whole
	// Lastmod is what a sitemap said of the page's last change.
	Lastmod string `json:"lastmod,omitempty"`

	// Pass is the pass over the job the record is of (see Store.Pass);
	// 0, in a job of one pass, is read as 1.
	Pass int `json:"pass,omitempty"`
	// Change says what the pass found against the URL's record of the
	// pass before (see Classify); "" in the first pass (see Kind).
	Change Change `json:"change,omitempty"`
	// PreviousSHA256 is the body digest of that record, when it differs.
	PreviousSHA256 string `json:"previous_sha256,omitempty"`
	// NotModified says the server answered 304 Not Modified: the body
	// and status are the previous record's, its headers updated.
	NotModified bool `json:"not_modified,omitempty"`
	// Vary holds the values of the request headers the response's Vary
	// names, as they were sent: its validators hold for those only.
	Vary map[string]string `json:"vary,omitempty"`
	// WARC is where the exchange was archived, with --warc.
	WARC *WARCRef `json:"warc,omitempty"`
	// Render is how the page was rendered in a browser, with --render.
	Render *Render `json:"render,omitempty"`

	body uint64 // the key of its body in the job (0: found by SHA256)
	seq  uint64 // its own key, when read from the job
}

// Retryable reports whether another attempt may fix r's failure: no
// answer, 408, 425, 429 or 5xx, or a 2xx whose body was cut off or failed
// its checksum (not one over max-body).
func (r *Record) Retryable() bool {
	tooLarge := r.ErrorKind == "too_large"
	if r.ErrorKind == "" && r.Error != "" { // written before kinds were kept
		tooLarge = strings.Contains(r.Error, "body exceeds max-body")
	}
	cut := r.Status >= 200 && r.Status <= 299 && r.Error != "" && !tooLarge
	return r.Skipped == "" && (r.Status == 0 || RetryableStatus(r.Status) || cut)
}

// RetryableStatus reports the statuses worth another attempt (see
// fetch.RetryableStatus).
func RetryableStatus(code int) bool {
	switch code {
	case 408, 425, 429, 500, 502, 503, 504:
		return true
	}
	return false
}

// A WARCRef locates the record an exchange was archived as.
type WARCRef struct {
	File    string    `json:"file"`              // the WARC file's name, without its directory
	Offset  int64     `json:"offset"`            // of the response or revisit record in the file
	ID      string    `json:"id"`                // its WARC-Record-ID
	Digest  string    `json:"digest"`            // its WARC-Payload-Digest
	Date    time.Time `json:"date"`              // its WARC-Date
	Revisit bool      `json:"revisit,omitempty"` // a revisit record, not a response
	// Of is, for a revisit, the capture it refers to.
	Of *WARCOrigin `json:"of,omitempty"`
}

// A WARCOrigin is the capture a revisit record refers to.
type WARCOrigin struct {
	URI  string    `json:"uri"`  // its WARC-Target-URI
	ID   string    `json:"id"`   // its WARC-Record-ID ("" if unknown)
	Date time.Time `json:"date"` // its WARC-Date
}

// Skip says why a URL was not fetched on purpose.
type Skip string

// The reasons a URL is skipped.
const (
	SkipRobots     Skip = "robots"      // robots.txt disallows it
	SkipHostBudget Skip = "host-budget" // its host's page budget was spent
)

// Failed reports whether r is a failure: nothing answered, an error, or a
// 4xx/5xx status. A URL skipped on purpose (robots.txt, a host budget) is
// not.
func (r *Record) Failed() bool {
	return r.Skipped == "" && (r.Error != "" || r.Status == 0 || r.Status >= 400)
}

// A Page is a record with its body, ready to be written by Put. Build it
// with Store.NewPage, which does the costly work (hashing, compressing,
// writing large bodies to their file) outside the write transaction.
type Page struct {
	Record Record
	data   []byte // Record as JSON
	blob   []byte // compressed body, or nil when the body is packed, in a file or empty
	raw    []byte // the body, to pack (see packBody), in a buffer of Store.raws
	inFile bool
	items  [][]byte // Items as JSON
	size   int      // Size, as NewPage made it
	spent  bool     // Put has taken it
	// repeats is the key of the record whose body and items the page
	// keeps (see NewUnchanged); 0 for none.
	repeats  uint64
	attached []attached // saved with it (see Attach)
}

// Size estimates the memory p holds: its record, body and items. It does
// not change when Put takes p.
func (p *Page) Size() int {
	if p.size > 0 {
		return p.size
	}
	n := len(p.data) + len(p.blob) + len(p.raw) + 256
	for _, it := range p.items {
		n += len(it)
	}
	return n
}

// Options tune Open.
type Options = jobfile.Options

// Store keeps a job's results in its job file.
type Store struct {
	file  *jobfile.File
	owns  bool   // Close closes file
	blobs string // directory of large bodies
	enc   *zstd.Encoder
	dec   *zstd.Decoder
	known recentBodies // bodies saved lately, not yet in the digest index
	packs packCache
	// scratch holds *[]byte buffers compress encodes into; packBufs,
	// those packs are gathered in.
	scratch, packBufs sync.Pool
	raws              rawBufs // the bodies of Pages, until Put packs them
	schedule          *Schedule
}

// Open opens the job file at path and its store, creating it unless opts
// say not to. A file that exists but is not a trawl job is left untouched
// and ErrNotJob is returned. Close closes the file.
func Open(path string, opts *Options) (*Store, error) {
	f, err := jobfile.Open(path, opts)
	if err != nil {
		return nil, err
	}
	s := New(f)
	s.owns = true
	if opts == nil || !opts.ReadOnly {
		if err := s.ensureTallies(); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// New returns the store kept in the open job file f. Closing it leaves f
// open.
func New(f *jobfile.File) *Store {
	// EncodeAll runs as many calls at once as the encoder's concurrency.
	// Frames carry no checksum: a body's SHA-256 already checks it. The
	// window covers a whole pack: the level's own (4 MB) would cost each
	// encoder 8 MB of history for nothing a pack can use.
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)),
		zstd.WithEncoderCRC(false), zstd.WithWindowSize(packWindow))
	dec, _ := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0))
	return &Store{file: f, blobs: f.Path() + ".blobs", enc: enc, dec: dec}
}

// File returns the job file the store is kept in, so that a frontier kept
// in the same file can share its write transactions (see PutTx).
func (s *Store) File() *jobfile.File { return s.file }

// Path returns the job file's path.
func (s *Store) Path() string { return s.file.Path() }

// Close releases the store, and closes the job file if Open opened it.
func (s *Store) Close() error {
	s.enc.Close()
	s.dec.Close()
	if s.owns {
		return s.file.Close()
	}
	return nil
}

// NewPage prepares rec, its body and the items extracted from it for Put:
// it sets Length, SHA256 and Items, keeps a copy of a body small enough to
// pack, compresses a larger one, and writes bodies
// too large to inline to their blob file (durably, before any record can
// name them). It is safe for concurrent use.
func (s *Store) NewPage(rec Record, body []byte, items ...Item) (*Page, error) {
	return s.NewVersion(nil, rec, body, items...)
}

// NewVersion is NewPage for a revisit of a URL whose record was prev
// (nil: none): the record is of the pass after prev's, and its Change (and
// PreviousSHA256) says what changed since. A record of a pass above 1
// without prev is a URL new to the job (ChangeNew).
func (s *Store) NewVersion(prev *Record, rec Record, body []byte, items ...Item) (*Page, error) {
	if prev != nil { // a revisit: the URL's next version
		rec.Pass = prev.PassOf() + 1
	}
	if rec.Pass <= 1 {
		rec.Pass = 0 // a first pass's records say none
	}
	p := &Page{Record: rec}
	p.Record.Items = len(items)
	for i := range items {
		data, err := json.Marshal(&items[i])
		if err != nil {
			return nil, fmt.Errorf("store: item %d of %s: %w", i, rec.URL, err)
		}
		p.items = append(p.items, data)
	}
	if body != nil {
		sum := sha256.Sum256(body)
		p.Record.SHA256 = hex.EncodeToString(sum[:])
		p.Record.Length = int64(len(body))
		if len(body) <= packBody {
			p.raw = append(s.raws.get(len(body)), body...)
			body = nil
		}
	}
	if p.Record.Pass > 1 {
		p.Record.Change = Classify(prev, &p.Record)
		if prev != nil && prev.SHA256 != p.Record.SHA256 {
			p.Record.PreviousSHA256 = prev.SHA256
		}
	}
	if len(body) > 0 {
		blob := s.compress(body)
		if len(blob) <= InlineMax {
			p.blob = blob
		} else if err := s.writeBlobFile(p.Record.SHA256, blob); err != nil {
			return nil, err
		} else {
			p.inFile = true
		}
	}
	var err error
	if p.data, err = marshalRecord(&p.Record); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	p.size = p.Size()
	return p, nil
}

// compress returns data compressed. It is encoded into a reused buffer,
// then kept at its own size: data compresses to a fraction of the room an
// encoder wants.
func (s *Store) compress(data []byte) []byte {
	scratch, _ := s.scratch.Get().(*[]byte)
	if scratch == nil {
		scratch = new([]byte)
	}
	blob := s.enc.EncodeAll(data, (*scratch)[:0])
	out := bytes.Clone(blob)
	if cap(blob) <= 2*(packTarget+packBody) {
		*scratch = blob[:0]
		s.scratch.Put(scratch)
	}
	return out
}

func (s *Store) blobPath(sum string) string {
	return filepath.Join(s.blobs, sum[:2], sum+".zst")
}

func (s *Store) writeBlobFile(sum string, blob []byte) error {
	dst := s.blobPath(sum)
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := atomicfile.Write(dst, true, func(w io.Writer) error { _, err := w.Write(blob); return err }); err != nil {
		return fmt.Errorf("store: writing body: %w", err)
	}
	return nil
}

// Put saves pages in one transaction. The indexes catch up with them at
// the next CatchUp (the crawler calls it at the end of a run): until
// then lookups are right, and the counts take a URL saved again as a new
// one.
func (s *Store) Put(pages ...*Page) error {
	return s.file.Update(func(tx *jobfile.Tx) error { return s.PutTx(tx, pages...) })
}

// PutTx saves pages inside the caller's write transaction. A URL that
// already has a record gets a new one that replaces it in lookups by URL.
// A Page is put once: PutTx takes its body, whether or not the transaction
// then commits, and refuses a Page it took before.
//
// Records and bodies are appended under sequence keys, and their index
// entries to the index log (see CatchUp), so that a commit writes few
// pages whatever the job's size.
func (s *Store) PutTx(tx *jobfile.Tx, pages ...*Page) error {
	if len(pages) == 0 {
		return checkBuckets(tx)
	}
	w, err := s.newBatch(tx)
	if err != nil {
		return err
	}
	for _, p := range pages {
		if err := w.put(p); err != nil {
			return err
		}
	}
	return w.finish(tx)
}

// checkBuckets reports a job file without the store's buckets.
func checkBuckets(tx *jobfile.Tx) error {
	for _, b := range []jobfile.Bucket{jobfile.Records, jobfile.Bodies, jobfile.SHA256, jobfile.Items, jobfile.StoreMeta, jobfile.IndexLog, jobfile.Packs} {
		if tx.Bucket(b) == nil {
			return errors.New("store: buckets missing")
		}
	}
	return nil
}

// batch is one PutTx: the buckets it appends to, and what it has added to
// the counts, tallies and index log so far.
type batch struct {
	s                               *Store
	tx                              *jobfile.Tx
	recs, bodies, shas, items, meta *bolt.Bucket
	ilog                            *bolt.Bucket
	count, total                    uint64
	t                               *tally
	log                             indexLog
	first                           []byte
	saved                           map[[32]byte]uint64 // bodies this call saves
	pk                              packer
	warcs                           []byte // warcEntry each: the responses archived
}

func (s *Store) newBatch(tx *jobfile.Tx) (*batch, error) {
	if err := checkBuckets(tx); err != nil {
		return nil, err
	}
	w := &batch{s: s, tx: tx, recs: tx.Bucket(jobfile.Records), bodies: tx.Bucket(jobfile.Bodies), shas: tx.Bucket(jobfile.SHA256),
		items: tx.Bucket(jobfile.Items), meta: tx.Bucket(jobfile.StoreMeta), ilog: tx.Bucket(jobfile.IndexLog),
		t: newTally(), saved: make(map[[32]byte]uint64), pk: packer{s: s, packs: tx.Bucket(jobfile.Packs)}}
	for _, b := range []*bolt.Bucket{w.recs, w.bodies, w.items, w.ilog, w.pk.packs} {
		b.FillPercent = 1 // append-only
	}
	w.count, w.total = getUint(w.meta, keyCount), getUint(w.meta, keyBytes)
	if w.recs.Sequence() == 0 && w.meta.Get(keyValid) == nil { // a new job: its tallies cover every record from the first
		if err := w.meta.Put(keyValid, []byte{1}); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// put appends p's body (unless the job holds it), record and items.
func (w *batch) put(p *Page) error {
	if p.spent {
		return errors.New("store: a Page put twice")
	}
	p.spent = true
	raw := p.raw // packed below (copied), or a body saved already
	p.raw = nil
	body, err := w.body(p, raw)
	w.s.raws.put(raw)
	if err == nil {
		err = w.attach(p)
	}
	if err != nil {
		return err
	}
	return w.record(p, body)
}

// body returns the key of p's body, appending it when the job does not
// hold it yet; 0 for a page without one.
func (w *batch) body(p *Page, raw []byte) (uint64, error) {
	if p.Record.SHA256 == "" || p.Record.File != "" {
		return 0, nil
	}
	if p.Record.body != 0 { // kept from an earlier record (see NewUnchanged)
		return p.Record.body, nil
	}
	var sum [32]byte
	if n, err := hex.Decode(sum[:], []byte(p.Record.SHA256)); err != nil || n != len(sum) {
		return 0, fmt.Errorf("store: bad sha256 %q", p.Record.SHA256)
	}
	if body := w.s.bodyKey(w.shas, &sum, w.saved); body != 0 {
		return body, nil
	}
	v := p.blob
	switch {
	case p.repeats != 0 && v == nil && raw == nil && !p.inFile: // NewUnchanged's, whose body was not found
		return 0, fmt.Errorf("store: body %s of %s is not in the job", p.Record.SHA256, p.Record.URL)
	case p.inFile:
		v = inFileMark
	case raw != nil:
		r, err := w.pk.add(raw)
		if err != nil {
			return 0, err
		}
		v = r.value()
	}
	return w.addBody(&sum, v)
}

// addBody appends the body value v (see Store.Body) of digest sum and
// returns its key.
func (w *batch) addBody(sum *[32]byte, v []byte) (uint64, error) {
	seq, err := w.bodies.NextSequence()
	if err != nil {
		return 0, err
	}
	if err := w.bodies.Put(binary.BigEndian.AppendUint64(nil, seq), v); err != nil {
		return 0, err
	}
	w.saved[*sum] = seq
	w.log.addBody(sum, seq)
	return seq, nil
}

// record appends p's record, naming body, and its items.
func (w *batch) record(p *Page, body uint64) error {
	data := p.data
	if data == nil { // a Page not made by NewPage
		var err error
		if data, err = marshalRecord(&p.Record); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	seq, err := w.recs.NextSequence()
	if err != nil {
		return err
	}
	key := binary.BigEndian.AppendUint64(nil, seq)
	if w.first == nil {
		w.first = key
	}
	if err := w.recs.Put(key, recordValue(body, data)); err != nil {
		return err
	}
	if err := putItems(w.items, key, p.items); err != nil {
		return err
	}
	if p.repeats != 0 {
		if err := copyItems(w.tx, w.items, p.repeats, key); err != nil {
			return err
		}
	}
	w.log.addURL(p.Record.key(), seq)
	w.archived(&p.Record, seq)
	if w.s.schedule != nil {
		if err := w.reschedule(&p.Record, seq); err != nil {
			return err
		}
	}
	w.count++ // CatchUp takes it back if the URL had a record
	w.total += uint64(p.Record.Length)
	w.t.add(&p.Record, 1)
	if p.Record.Failed() {
		w.t.failAdd = append(w.t.failAdd, key)
	}
	return nil
}

// finish writes the packs, the index log entry, the tallies and counts.
func (w *batch) finish(tx *jobfile.Tx) error {
	if err := w.pk.flush(); err != nil {
		return err
	}
	if err := w.ilog.Put(w.first, w.log.value()); err != nil {
		return err
	}
	if len(w.warcs) > 0 {
		if err := w.tx.Bucket(jobfile.WARCLog).Put(w.first, w.warcs); err != nil {
			return err
		}
	}
	if len(w.saved) > 0 {
		saved := w.saved
		tx.OnCommit(func() { w.s.known.put(saved) })
	}
	if err := w.t.apply(w.meta); err != nil {
		return err
	}
	if err := putUint(w.meta, keyCount, w.count); err != nil {
		return err
	}
	return putUint(w.meta, keyBytes, w.total)
}

// bodyKey returns the key of the body whose digest is sum if the job
// holds it (as far as the digest index, this call and the recent bodies
// know), else 0.
func (s *Store) bodyKey(shas *bolt.Bucket, sum *[32]byte, saved map[[32]byte]uint64) uint64 {
	if v := shas.Get(sum[:]); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	if k := saved[*sum]; k != 0 {
		return k
	}
	return s.known.get(sum)
}

// urlKey is the URL index key: a 128-bit hash, so the index stays dense
// whatever the URLs' lengths.
func urlKey(url string) []byte {
	sum := sha256.Sum256([]byte(url))
	return sum[:16]
}

// ID is the identity of the request r answers, as the frontier defines it
// (frontier.Request.ID): its URL, and its request spec if it has one (so
// that two POSTs to one URL are two records).
func (r *Record) ID() string {
	return frontier.Request{URL: r.URL, Spec: string(r.Request)}.ID()
}

// key is r's key in the URL index.
func (r *Record) key() []byte { return urlKey(r.ID()) }

func getUint(b *bolt.Bucket, k []byte) uint64 {
	if v := b.Get(k); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func putUint(b *bolt.Bucket, k []byte, n uint64) error {
	return b.Put(k, binary.BigEndian.AppendUint64(nil, n))
}

// Count returns how many distinct URLs have a record, and the sum of their
// body lengths.
func (s *Store) Count() (urls int, bytes int64, err error) {
	err = s.file.View(func(tx *jobfile.Tx) error {
		if meta := tx.Bucket(jobfile.StoreMeta); meta != nil {
			urls, bytes = int(getUint(meta, keyCount)), int64(getUint(meta, keyBytes))
			return nil
		}
		// A job of the first layout, opened read-only: count the records.
		return eachLatest(tx, nil, func(_ []byte, r *Record) error {
			urls++
			bytes += r.Length
			return nil
		})
	})
	return urls, bytes, err
}

// Get returns the latest record for url (a canonical URL), or nil.
func (s *Store) Get(url string) (*Record, error) {
	var rec *Record
	err := s.file.View(func(tx *jobfile.Tx) error {
		urls, recs := tx.Bucket(jobfile.URLs), tx.Bucket(jobfile.Records)
		if urls == nil || recs == nil {
			return nil
		}
		// The log's latest record of the URL, else the index's: one URL
		// needs no map of the log.
		uk := urlKey(url)
		var last uint64
		err := eachLogged(tx, func(k []byte, rec uint64) {
			if bytes.Equal(k, uk) {
				last = max(last, rec)
			}
		}, nil)
		if err != nil {
			return err
		}
		key := urls.Get(uk)
		if last != 0 {
			key = binary.BigEndian.AppendUint64(nil, last)
		}
		if key == nil {
			return nil
		}
		rec, err = decodeRecord(key, recs.Get(key))
		return err
	})
	return rec, err
}

// Each calls fn for the latest record of every URL, in the order they were
// saved, until fn returns an error. Records superseded by a later record
// of the same URL are skipped.
func (s *Store) Each(fn func(*Record) error) error {
	return s.file.View(func(tx *jobfile.Tx) error {
		return eachLatest(tx, nil, func(_ []byte, rec *Record) error { return fn(rec) })
	})
}

// eachLatest calls fn with the key and record of the latest record of
// every URL, in saving order, from the first key after `after` (nil: from
// the start).
func eachLatest(tx *jobfile.Tx, after []byte, fn func(key []byte, rec *Record) error) error {
	urls, recs := tx.Bucket(jobfile.URLs), tx.Bucket(jobfile.Records)
	if urls == nil || recs == nil {
		return nil
	}
	tail, err := logged(tx)
	if err != nil {
		return err
	}
	c := recs.Cursor()
	k, v := c.First()
	if after != nil {
		if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
			k, v = c.Next()
		}
	}
	for ; k != nil; k, v = c.Next() {
		rec, err := decodeRecord(k, v)
		if err != nil {
			return err
		}
		if !bytes.Equal(latest(tail, urls, rec.key()), k) {
			continue
		}
		if err := fn(k, rec); err != nil {
			return err
		}
	}
	return nil
}

// Body returns the body of rec, decompressed and checked against its
// SHA-256 (ErrDamaged if it does not match), or read from its File.
func (s *Store) Body(rec *Record) ([]byte, error) {
	if rec.SHA256 == "" {
		return nil, nil
	}
	if rec.File != "" {
		return os.ReadFile(rec.File)
	}
	sum, err := hex.DecodeString(rec.SHA256)
	if err != nil {
		return nil, fmt.Errorf("store: bad sha256 %q", rec.SHA256)
	}
	var blob, body []byte
	err = s.file.View(func(tx *jobfile.Tx) error {
		shas, bodies := tx.Bucket(jobfile.SHA256), tx.Bucket(jobfile.Bodies)
		if shas == nil || bodies == nil {
			return nil
		}
		k := shas.Get(sum)
		if rec.body != 0 {
			k = binary.BigEndian.AppendUint64(nil, rec.body)
		}
		var v []byte
		if k != nil {
			v = bodies.Get(k)
		}
		switch {
		case v == nil:
			return fmt.Errorf("store: body %s missing", rec.SHA256)
		case bytes.Equal(v, inFileMark):
		case len(v) > 0 && v[0] == packTag:
			r, err := parsePackRef(v)
			if err == nil {
				body, err = s.member(tx.Bucket(jobfile.Packs), r)
			}
			if err != nil {
				return fmt.Errorf("store: body %s: %w", rec.SHA256, err)
			}
		default:
			blob = bytes.Clone(v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if body == nil {
		if blob == nil {
			if blob, err = os.ReadFile(s.blobPath(rec.SHA256)); err != nil {
				return nil, fmt.Errorf("store: %w", err)
			}
		}
		if body, err = s.dec.DecodeAll(blob, make([]byte, 0, rec.Length)); err != nil {
			return nil, fmt.Errorf("store: body %s: %w: %v", rec.SHA256, ErrDamaged, err)
		}
	}
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, fmt.Errorf("store: body %s: %w: it reads back as %x", rec.SHA256, ErrDamaged, got)
	}
	return body, nil
}
