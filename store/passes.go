package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/trawl-dev/trawl/internal/jobfile"
)

// Passes. A job is crawled again in passes (trawl crawl --recrawl): each
// pass visits every URL the job holds and saves a new record of it, and
// every record is kept, so that each URL has one version a pass. A pass
// begins with StartPassTx, which remembers each URL's latest record then
// (Previous: what the pass compares against and takes validators from);
// the pass's records say what changed (Record.Change), and the tallies
// count them by pass and change.

// A Change is what a pass found for a URL against its record of the pass
// before.
type Change string

// The changes.
const (
	ChangeNew       Change = "new"       // the URL had no record before this pass
	ChangeChanged   Change = "changed"   // its body or status differs
	ChangeUnchanged Change = "unchanged" // 304 Not Modified, or the same body and status
	ChangeGone      Change = "gone"      // 404 or 410 where there was a page
	ChangeFailed    Change = "failed"    // no answer, an error or another 4xx/5xx
)

// PassOf returns the pass r belongs to.
func (r *Record) PassOf() int { return max(r.Pass, 1) }

// Kind returns r's change: Change, or for a record of a first pass (which
// leaves it empty), New or Failed.
func (r *Record) Kind() Change {
	switch {
	case r.Change != "":
		return r.Change
	case r.Failed():
		return ChangeFailed
	}
	return ChangeNew
}

// Classify returns the change from prev (nil: none) to cur.
func Classify(prev, cur *Record) Change {
	gone := func(r *Record) bool { return r.Error == "" && (r.Status == 404 || r.Status == 410) }
	switch {
	case prev == nil:
		if cur.Failed() {
			return ChangeFailed
		}
		return ChangeNew
	case gone(cur):
		if !prev.Failed() || gone(prev) {
			return ChangeGone
		}
		return ChangeFailed
	case cur.Failed():
		return ChangeFailed
	case cur.NotModified:
		return ChangeUnchanged
	case prev.Skipped != "" || cur.Skipped != "":
		if prev.Skipped == cur.Skipped {
			return ChangeUnchanged
		}
		return ChangeChanged
	case prev.Status == cur.Status && prev.SHA256 == cur.SHA256:
		return ChangeUnchanged
	}
	return ChangeChanged
}

var keyPass = []byte("pass")

// Pass returns the job's current pass: 1 until StartPassTx begins another.
func (s *Store) Pass() (int, error) {
	pass := 1
	err := s.file.View(func(tx *jobfile.Tx) error {
		if meta := tx.Bucket(jobfile.StoreMeta); meta != nil {
			pass = max(1, int(getUint(meta, keyPass)))
		}
		return nil
	})
	return pass, err
}

// ErrUnindexed is returned by StartPassTx when the indexes have not caught
// up with every saved record (see CatchUp).
var ErrUnindexed = errors.New("store: the indexes are behind the records: catch up first")

// StartPassTx begins the job's next pass in tx and returns its number: each
// URL's latest record becomes its previous one (see Previous). The index
// log must be empty (CatchUp runs first), so that the URL index is whole.
func (s *Store) StartPassTx(tx *jobfile.Tx) (int, error) {
	meta, urls, ilog := tx.Bucket(jobfile.StoreMeta), tx.Bucket(jobfile.URLs), tx.Bucket(jobfile.IndexLog)
	if meta == nil || urls == nil || ilog == nil {
		return 0, errors.New("store: buckets missing")
	}
	if k, _ := ilog.Cursor().First(); k != nil {
		return 0, ErrUnindexed
	}
	prev, err := tx.Recreate(jobfile.Previous)
	if err != nil {
		return 0, err
	}
	prev.FillPercent = 1 // in key order
	err = urls.ForEach(func(k, v []byte) error { return prev.Put(bytes.Clone(k), bytes.Clone(v)) })
	if err != nil {
		return 0, err
	}
	pass := max(1, int(getUint(meta, keyPass))) + 1
	return pass, putUint(meta, keyPass, uint64(pass))
}

// EachTx calls fn with the latest record of every URL, in tx.
func (s *Store) EachTx(tx *jobfile.Tx, fn func(*Record) error) error {
	return eachLatest(tx, nil, func(_ []byte, r *Record) error { return fn(r) })
}

// Previous returns the record the request id (see Record.ID) had when the
// current pass began, or nil: in a first pass, or for a URL new to it.
func (s *Store) Previous(id string) (*Record, error) {
	var rec *Record
	err := s.file.View(func(tx *jobfile.Tx) error {
		prev, recs := tx.Bucket(jobfile.Previous), tx.Bucket(jobfile.Records)
		if prev == nil || recs == nil {
			return nil
		}
		k := prev.Get(urlKey(id))
		if len(k) < 8 {
			return nil
		}
		k = k[:8] // then, for a continuous job, its interval (see DueTx)
		var err error
		rec, err = decodeRecord(k, recs.Get(k))
		return err
	})
	return rec, err
}

// Versions calls fn with records in the order they were saved: with pass
// 0, every record of the job (every version of every URL); else each URL's
// latest record of that pass.
func (s *Store) Versions(pass int, fn func(*Record) error) error {
	return s.file.View(func(tx *jobfile.Tx) error {
		recs := tx.Bucket(jobfile.Records)
		if recs == nil {
			return nil
		}
		var last map[[16]byte]uint64
		if pass > 0 {
			last = make(map[[16]byte]uint64)
			err := recs.ForEach(func(k, v []byte) error {
				if passOf(recs, binary.BigEndian.Uint64(k)) != pass {
					return nil
				}
				r, err := decodeRecord(k, v)
				if err == nil {
					last[[16]byte(r.key())] = r.seq
				}
				return err
			})
			if err != nil {
				return err
			}
		}
		return recs.ForEach(func(k, v []byte) error {
			if pass > 0 && passOf(recs, binary.BigEndian.Uint64(k)) != pass {
				return nil
			}
			r, err := decodeRecord(k, v)
			if err != nil {
				return err
			}
			if pass > 0 && last[[16]byte(r.key())] != r.seq {
				return nil
			}
			return fn(r)
		})
	})
}

// PassCounts returns, for each pass, its records by change, from the
// tallies (each URL's last record of the pass counts).
func (s *Store) PassCounts() (map[int]map[Change]int, error) {
	out := make(map[int]map[Change]int)
	err := s.file.View(func(tx *jobfile.Tx) error {
		meta := tx.Bucket(jobfile.StoreMeta)
		if meta == nil {
			return nil
		}
		prefix := []byte("t/pass/")
		c := meta.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			p, change, ok := strings.Cut(string(k[len(prefix):]), "/")
			n, err := strconv.Atoi(p)
			if !ok || err != nil || len(v) != 8 {
				return fmt.Errorf("%w: tally %q", ErrDamaged, k)
			}
			if out[n] == nil {
				out[n] = make(map[Change]int)
			}
			out[n][Change(change)] = int(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	return out, err
}

// ItemsOf returns the items saved with rec (a record read from the job),
// whether it is its URL's latest record or an earlier version.
func (s *Store) ItemsOf(rec *Record) ([]Item, error) {
	if rec.Items == 0 || rec.seq == 0 {
		return nil, nil
	}
	var out []Item
	err := s.file.View(func(tx *jobfile.Tx) error {
		return eachItem(tx, binary.BigEndian.AppendUint64(nil, rec.seq), func(_, v []byte) error {
			var it Item
			if err := it.UnmarshalJSON(v); err != nil {
				return fmt.Errorf("store: item of %s: %w", rec.URL, err)
			}
			out = append(out, it)
			return nil
		})
	})
	return out, err
}

// eachItem calls fn with the items of the record at key, from the items of
// latest records or, for an earlier version, the old items.
func eachItem(tx *jobfile.Tx, key []byte, fn func(k, v []byte) error) error {
	for _, b := range []jobfile.Bucket{jobfile.Items, jobfile.ItemsOld} {
		bk := tx.Bucket(b)
		if bk == nil {
			continue
		}
		found := false
		c := bk.Cursor()
		for k, v := c.Seek(key); k != nil && bytes.HasPrefix(k, key) && len(k) == len(key)+4; k, v = c.Next() {
			found = true
			if err := fn(k, v); err != nil {
				return err
			}
		}
		if found {
			return nil
		}
	}
	return nil
}

// NewUnchanged returns the page to save for rec, a revisit that found
// prev (a record read from the job) unchanged: it keeps prev's body and
// items, which the job holds already, without reading them.
func (s *Store) NewUnchanged(rec Record, prev *Record) (*Page, error) {
	rec.SHA256, rec.Length, rec.Items, rec.body, rec.Pass = prev.SHA256, prev.Length, prev.Items, prev.body, prev.PassOf()+1
	rec.Change, rec.PreviousSHA256 = ChangeUnchanged, ""
	if rec.File == "" {
		rec.File = prev.File
	}
	if rec.Render == nil { // the page it keeps was rendered: so is this one
		rec.Render = prev.Render
	}
	p := &Page{Record: rec, repeats: prev.seq}
	var err error
	if p.data, err = marshalRecord(&p.Record); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	p.size = p.Size()
	return p, nil
}

// copyItems copies the items of the record at from to the record at to.
func copyItems(tx *jobfile.Tx, items *bolt.Bucket, from uint64, to []byte) error {
	var vals [][]byte
	err := eachItem(tx, binary.BigEndian.AppendUint64(nil, from), func(_, v []byte) error {
		vals = append(vals, bytes.Clone(v))
		return nil
	})
	if err != nil {
		return err
	}
	return putItems(items, to, vals)
}

// Revisits sums up a job's revisits: every URL record of a pass after the
// first, by change, and the 304s among them with the body bytes they did
// not transfer.
type Revisits struct {
	ByChange    map[Change]int
	NotModified int
	BytesSaved  int64
}

// Revisits returns the job's revisits, from the tallies.
func (s *Store) Revisits() (Revisits, error) {
	r := Revisits{ByChange: map[Change]int{}}
	counts, err := s.PassCounts()
	if err != nil {
		return r, err
	}
	for p, c := range counts {
		if p > 1 {
			for k, n := range c {
				r.ByChange[k] += n
			}
		}
	}
	err = s.file.View(func(tx *jobfile.Tx) error {
		if meta := tx.Bucket(jobfile.StoreMeta); meta != nil {
			r.NotModified, r.BytesSaved = int(getUint(meta, []byte("t/notmod"))), int64(getUint(meta, []byte("t/notmod/bytes")))
		}
		return nil
	})
	return r, err
}

var keyWARCDir = []byte("warc.dir")

// SetWARCDir records the folder the job's WARC files are written to, so
// that what packs them (trawl export --format wacz) finds them.
func (s *Store) SetWARCDir(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	return s.file.Update(func(tx *jobfile.Tx) error {
		meta := tx.Bucket(jobfile.StoreMeta)
		if meta == nil {
			return errors.New("store: buckets missing")
		}
		return meta.Put(keyWARCDir, []byte(abs))
	})
}

// WARCDir returns the folder the job's WARC files were written to, or ""
// for a job that wrote none.
func (s *Store) WARCDir() (string, error) {
	var dir string
	err := s.file.View(func(tx *jobfile.Tx) error {
		if meta := tx.Bucket(jobfile.StoreMeta); meta != nil {
			dir = string(meta.Get(keyWARCDir))
		}
		return nil
	})
	return dir, err
}
