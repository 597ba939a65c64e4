// Package jobfile owns a trawl job file: one bbolt database that holds a
// job's results, its frontier and what politeness learned of its hosts.
//
// It is the only package that opens the file, creates buckets or names the
// format. Every bucket is registered here with its owner (see Buckets); an
// owner reaches its own buckets through a Tx, and no package touches
// another's. Owners that must change their state together (the store
// saving a page and the frontier completing its lease) share one write
// transaction through File.Update.
//
// Like bbolt itself, a File has one owner process at a time: Open takes an
// exclusive lock on the file.
package jobfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Format names the layout of the whole file. A file whose meta bucket has
// no format is not a trawl job; one with another format is refused.
const Format = "trawl-job/4"

// Older formats, which Open upgrades in place (read-only, they are read
// as they are):
//   - formatV1, trawl 0.1's: the same buckets, with the store's counters
//     in the meta bucket;
//   - formatV2: no index log, and records that are JSON alone (see
//     store's recordValue). Later formats read them as they are, and mark
//     the job so that an older trawl does not misread its new records;
//   - formatV3: no packs of bodies (see store's Packs). Its bodies are
//     read as they are.
const (
	formatV1 = "trawl-job/1"
	formatV2 = "trawl-job/2"
	formatV3 = "trawl-job/3"
)

// A Bucket names one bucket of the file. Only its Owner reads or writes it.
type Bucket struct {
	Owner string // the package that owns it
	name  []byte
}

// The registry: every bucket of a job file, by owner.
var (
	Meta = Bucket{"jobfile", []byte("meta")} // format → Format

	Records    = Bucket{"store", []byte("records")}    // seq → JSON record
	URLs       = Bucket{"store", []byte("urls")}       // URL key → record seq
	Bodies     = Bucket{"store", []byte("bodies")}     // seq → compressed body, or where it is
	Packs      = Bucket{"store", []byte("packs")}      // seq → compressed bodies, one after another
	SHA256     = Bucket{"store", []byte("sha256")}     // body digest → body seq
	IndexLog   = Bucket{"store", []byte("index.log")}  // record seq → URL and digest index entries not yet indexed
	Items      = Bucket{"store", []byte("items")}      // record seq, index → JSON item
	StoreMeta  = Bucket{"store", []byte("store.meta")} // counters
	Previous   = Bucket{"store", []byte("urls.prev")}  // URL key → record seq of the URL's latest record when the pass began
	ItemsOld   = Bucket{"store", []byte("items.old")}  // record seq, index → JSON item of a record a later pass replaced
	WARCLog    = Bucket{"store", []byte("warc.log")}   // record seq → payload digest entries not yet indexed
	WARCIndex  = Bucket{"store", []byte("warc.index")} // WARC payload digest → record seq of its first response
	Due        = Bucket{"store", []byte("due")}        // due time, URL key → nothing: the schedule in time order
	DueURLs    = Bucket{"store", []byte("due.urls")}   // URL key → its revisit: due time, interval, record seq, request
	Queue      = Bucket{"frontier/bolt", []byte("frontier.queue")}
	Seen       = Bucket{"frontier/bolt", []byte("frontier.seen")}
	RobotsTxts = Bucket{"politeness/boltstate", []byte("politeness.robots")}
	Cookies    = Bucket{"crawler/cookies", []byte("cookies")} // domain, path, name → JSON cookie

	// Buckets lists the registry; Open creates them all.
	Buckets = []Bucket{Meta, Records, URLs, Bodies, Packs, SHA256, IndexLog, Items, StoreMeta, Previous, ItemsOld, WARCLog, WARCIndex,
		Due, DueURLs, Queue, Seen, RobotsTxts, Cookies}
)

var (
	keyFormat = []byte("format")
	keyKind   = []byte("kind")
	keyCrawl  = []byte("crawl") // name and epoch of the shared crawl the job takes part in
)

// ErrNotJob is returned by Open for a file that exists but is not a trawl job.
var ErrNotJob = errors.New("not a trawl job file")

// ErrLocked is returned by Open when another process has the job open.
var ErrLocked = errors.New("job file is in use by another trawl process")

// ErrDamaged is returned for a job file whose content is broken (cut short,
// or with bytes changed): nothing more is written to it.
var ErrDamaged = errors.New("job file is damaged")

// ErrNewer is returned by Open for a job written by a newer trawl, whose
// layout this one cannot read without misreading it.
var ErrNewer = errors.New("job file was written by a newer trawl")

// Options tune Open.
type Options struct {
	// ReadOnly opens the job for reading; the file is never changed.
	ReadOnly bool
	// Timeout bounds the wait for the file lock (default 1s).
	Timeout time.Duration
	// NoCreate makes Open fail for a file that does not exist.
	NoCreate bool
}

// File is an open job file.
type File struct {
	db      *bbolt.DB
	path    string
	damaged atomic.Bool // a transaction found the file damaged: no more writes

	mu    sync.Mutex
	later []func(*Tx) error // writes for the next write transaction (see Later)
}

// Tx is a transaction on a File. An owner reaches its buckets with Bucket;
// OnCommit runs a function after a write transaction commits.
type Tx struct{ tx *bbolt.Tx }

// Bucket returns b in this transaction. On a file opened read-only, a
// bucket the file does not have yet is nil.
func (t *Tx) Bucket(b Bucket) *bbolt.Bucket { return t.tx.Bucket(b.name) }

// Recreate empties b (a bucket its owner rewrites whole) and returns it.
func (t *Tx) Recreate(b Bucket) (*bbolt.Bucket, error) {
	if err := t.tx.DeleteBucket(b.name); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
		return nil, err
	}
	return t.tx.CreateBucket(b.name)
}

// OnCommit runs fn once the write transaction has committed.
func (t *Tx) OnCommit(fn func()) { t.tx.OnCommit(fn) }

// Open opens the job at path, creating it unless opts say not to. A file
// that exists but is not a trawl job is left untouched and ErrNotJob is
// returned; a job of an older layout is upgraded (not when read-only) or
// read as it is, and one of a newer layout is refused with ErrNewer.
func Open(path string, opts *Options) (*File, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return nil, fmt.Errorf("%s: is a directory, not a job file", path)
	case err == nil && fi.Size() > 0:
		if err := check(path, o.Timeout); err != nil {
			return nil, err
		}
	case err == nil: // an empty file is not ours to take over
		return nil, fmt.Errorf("%s: %w (empty file)", path, ErrNotJob)
	case errors.Is(err, os.ErrNotExist):
		if o.NoCreate || o.ReadOnly {
			return nil, fmt.Errorf("%s: no such job file: %w", path, os.ErrNotExist)
		}
		if err := create(path); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	default:
		return nil, err
	}
	var db *bbolt.DB
	err = guard(path, func() error {
		var err error
		db, err = bbolt.Open(path, 0o644, &bbolt.Options{
			Timeout:  o.Timeout,
			ReadOnly: o.ReadOnly,
			// The freelist is written at every commit, so that opening a
			// big job reads it instead of every page of the file; it
			// is kept as a map, which frees and allocates runs of
			// pages in constant time.
			FreelistType: bbolt.FreelistMapType,
		})
		return err
	})
	if errors.Is(err, ErrDamaged) {
		return nil, err
	}
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("%s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f := &File{db: db, path: path}
	if !o.ReadOnly {
		if err := db.Update(initialize); err != nil {
			db.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return f, nil
}

// create makes a new job file at path whole or not at all: it is written
// under a temporary name and linked to path, so that a process killed
// while creating it leaves no half-made job behind (at most a temporary
// file), and two processes creating one job make one file.
func create(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".new-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	tmp.Close()
	defer os.Remove(name)
	db, err := bbolt.Open(name, 0o644, &bbolt.Options{Timeout: time.Second, FreelistType: bbolt.FreelistMapType})
	if err != nil {
		return err
	}
	if err := db.Update(initialize); err != nil {
		db.Close()
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	err = os.Link(name, path)
	switch {
	case err == nil, errors.Is(err, os.ErrExist):
		return nil
	case errors.Is(err, os.ErrNotExist):
		return err
	}
	// A file system without hard links: rename, if nothing took the name.
	if _, serr := os.Stat(path); errors.Is(serr, os.ErrNotExist) {
		return os.Rename(name, path)
	}
	return nil
}

// initialize creates the registry's buckets and writes the format, moving
// a version 1 job's store counters to their own bucket.
func initialize(tx *bbolt.Tx) error {
	for _, b := range Buckets {
		if _, err := tx.CreateBucketIfNotExists(b.name); err != nil {
			return err
		}
	}
	meta := tx.Bucket(Meta.name)
	switch string(meta.Get(keyFormat)) {
	case Format:
		return nil
	case formatV1:
		sm := tx.Bucket(StoreMeta.name)
		for _, k := range []string{"count", "bytes"} {
			if v := meta.Get([]byte(k)); v != nil {
				if err := sm.Put([]byte(k), bytes.Clone(v)); err != nil {
					return err
				}
				if err := meta.Delete([]byte(k)); err != nil {
					return err
				}
			}
		}
	}
	return meta.Put(keyFormat, []byte(Format))
}

// check opens path read-only and verifies it is a trawl job of a layout
// this trawl reads, so that nothing is written to a file that is not one.
func check(path string, timeout time.Duration) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	var hdr [64]byte
	n, _ := io.ReadFull(fh, hdr[:])
	fh.Close()
	// A bbolt file starts with a meta page: a 16-byte page header, then the
	// magic number 0xED0CDAED.
	if n < 64 || binary.LittleEndian.Uint32(hdr[16:20]) != 0xED0CDAED {
		return fmt.Errorf("%s: %w", path, ErrNotJob)
	}
	var db *bbolt.DB
	err = guard(path, func() error {
		var err error
		db, err = bbolt.Open(path, 0o644, &bbolt.Options{ReadOnly: true, Timeout: timeout})
		return err
	})
	if err != nil {
		if errors.Is(err, ErrDamaged) {
			return err
		}
		if errors.Is(err, berrors.ErrTimeout) {
			return fmt.Errorf("%s: %w", path, ErrLocked)
		}
		return fmt.Errorf("%s: %w (%v)", path, ErrNotJob, err)
	}
	defer db.Close()
	size := fileSize(path)
	return guard(path, func() error {
		return db.View(func(tx *bbolt.Tx) error {
			if tx.Size() > size {
				return fmt.Errorf("%s: %w: cut short (%d of %d bytes)", path, ErrDamaged, size, tx.Size())
			}
			return checkMeta(path, tx)
		})
	})
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// checkMeta verifies the job's format.
func checkMeta(path string, tx *bbolt.Tx) error {
	meta := tx.Bucket(Meta.name)
	if meta == nil {
		return fmt.Errorf("%s: %w", path, ErrNotJob)
	}
	switch v := string(meta.Get(keyFormat)); {
	case v == Format || v == formatV1 || v == formatV2 || v == formatV3:
		return nil
	case bytes.HasPrefix([]byte(v), []byte("trawl-job/")):
		return fmt.Errorf("%s: %w (%s; this trawl reads %s): use a newer trawl", path, ErrNewer, v, Format)
	}
	return fmt.Errorf("%s: %w", path, ErrNotJob)
}

// A Kind is what command runs a job: its name.
type Kind string

// The kinds of job.
const (
	CrawlJob Kind = "crawl" // trawl crawl: follows links
	FetchJob Kind = "fetch" // trawl fetch: a list, no links followed
)

// ClaimKind records that the job is of kind, when it has no kind yet, and
// returns the job's kind: kind, or the one recorded before.
func (f *File) ClaimKind(kind Kind) (Kind, error) {
	err := f.Update(func(tx *Tx) error {
		meta := tx.Bucket(Meta)
		if k := meta.Get(keyKind); k != nil {
			kind = Kind(k)
			return nil
		}
		return meta.Put(keyKind, []byte(kind))
	})
	return kind, err
}

// Crawl returns the shared crawl the job took part in (see ClaimCrawl):
// its name and epoch, or empty strings.
func (f *File) Crawl() (name, epoch string, err error) {
	err = f.View(func(tx *Tx) error {
		if v := tx.Bucket(Meta).Get(keyCrawl); v != nil {
			name, epoch, _ = strings.Cut(string(v), "\x00")
		}
		return nil
	})
	return name, epoch, err
}

// ClaimCrawl records that the job takes part in the shared crawl name,
// whose identity in its frontier is epoch.
func (f *File) ClaimCrawl(name, epoch string) error {
	return f.Update(func(tx *Tx) error {
		return tx.Bucket(Meta).Put(keyCrawl, []byte(name+"\x00"+epoch))
	})
}

// guard runs fn, turning a panic or a memory fault (bbolt reading a page
// that is not there, or not what it should be) into ErrDamaged.
func guard(path string, fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: %w (%v)", path, ErrDamaged, r)
		}
	}()
	return fn()
}

// Path returns the file's path.
func (f *File) Path() string { return f.path }

// Update runs fn in a write transaction, committed when fn returns nil.
// Only one write transaction runs at a time. On a damaged file it fails
// with ErrDamaged and writes nothing.
func (f *File) Update(fn func(tx *Tx) error) error {
	if f.damaged.Load() {
		return fmt.Errorf("%s: %w", f.path, ErrDamaged)
	}
	return f.guarded(func() error {
		return f.db.Update(func(tx *bbolt.Tx) error {
			t := &Tx{tx}
			if err := fn(t); err != nil {
				return err
			}
			f.mu.Lock()
			later := f.later
			f.later = nil
			f.mu.Unlock()
			for _, l := range later {
				l(t) // a cache's write: failing, it is only not kept
			}
			return nil
		})
	})
}

// Later queues fn to run in the file's next committed write transaction,
// or at Close: a write that need not be durable at once (a cache that a
// run can fill again), so that it costs no commit, and no fsync, of its
// own. Its error is ignored: the write is only not kept. A process killed
// before then loses it.
func (f *File) Later(fn func(*Tx) error) {
	f.mu.Lock()
	f.later = append(f.later, fn)
	f.mu.Unlock()
}

// View runs fn in a read-only transaction. Slices read from a bucket are
// valid only until fn returns.
func (f *File) View(fn func(tx *Tx) error) error {
	return f.guarded(func() error { return f.db.View(func(tx *bbolt.Tx) error { return fn(&Tx{tx}) }) })
}

func (f *File) guarded(fn func() error) error {
	err := guard(f.path, fn)
	if errors.Is(err, ErrDamaged) {
		f.damaged.Store(true)
	}
	return err
}

// Close writes what Later queued and closes the file.
func (f *File) Close() error {
	f.mu.Lock()
	pending := len(f.later) > 0
	f.mu.Unlock()
	var err error
	if pending && !f.db.IsReadOnly() && !f.damaged.Load() {
		err = f.Update(func(*Tx) error { return nil })
	}
	return errors.Join(err, f.db.Close())
}
