package store

import (
	"bytes"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/trawl-dev/trawl/internal/jobfile"
)

// The WARC index: each payload the job archived whole (a response record),
// by its WARC payload digest, for the archive to write a payload met again
// in a later run as a revisit of its first capture (dedup across runs).
// PutTx logs the entries of each call in the WARC log; CatchUp moves them
// into the index in key order, as it does the URL index's.

// warcEntry is a WARC log entry: a SHA-1 payload digest, a record key.
const warcEntry = 20 + 8

// archived logs r, saved under seq, when it names a response record.
func (w *batch) archived(r *Record, seq uint64) {
	if r.WARC == nil || r.WARC.Revisit {
		return
	}
	if sum, ok := sha1Digest(r.WARC.Digest); ok {
		w.warcs = binary.BigEndian.AppendUint64(append(w.warcs, sum...), seq)
	}
}

// sha1Digest decodes a WARC digest "sha1:BASE32".
func sha1Digest(d string) ([]byte, bool) {
	b32, ok := strings.CutPrefix(d, "sha1:")
	if !ok {
		return nil, false
	}
	sum, err := base32.StdEncoding.DecodeString(b32)
	return sum, err == nil && len(sum) == 20
}

// catchUpWARC moves the WARC log into the WARC index, the first capture
// of a payload winning. Idempotent, as CatchUp is.
func (s *Store) catchUpWARC() error {
	var keys [][]byte
	var entries [][warcEntry]byte
	err := s.file.View(func(tx *jobfile.Tx) error {
		b := tx.Bucket(jobfile.WARCLog)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if len(v)%warcEntry != 0 {
				return fmt.Errorf("%w: WARC log %x", ErrDamaged, k)
			}
			keys = append(keys, bytes.Clone(k))
			for ; len(v) > 0; v = v[warcEntry:] {
				entries = append(entries, [warcEntry]byte(v[:warcEntry]))
			}
			return nil
		})
	})
	if err != nil || len(keys) == 0 {
		return err
	}
	slices.SortFunc(entries, func(a, b [warcEntry]byte) int { return bytes.Compare(a[:], b[:]) })
	return s.file.Update(func(tx *jobfile.Tx) error {
		idx, log := tx.Bucket(jobfile.WARCIndex), tx.Bucket(jobfile.WARCLog)
		idx.FillPercent = 0.9
		for i, e := range entries {
			if i > 0 && bytes.Equal(entries[i-1][:20], e[:20]) || idx.Get(e[:20]) != nil {
				continue
			}
			if err := idx.Put(bytes.Clone(e[:20]), bytes.Clone(e[20:])); err != nil {
				return err
			}
		}
		for _, k := range keys {
			if err := log.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// Archived returns the record whose response first archived the payload
// of WARC digest ("sha1:BASE32"), as far as the WARC index knows.
func (s *Store) Archived(digest string) (*Record, bool) {
	sum, ok := sha1Digest(digest)
	if !ok {
		return nil, false
	}
	var rec *Record
	s.file.View(func(tx *jobfile.Tx) error {
		idx, recs := tx.Bucket(jobfile.WARCIndex), tx.Bucket(jobfile.Records)
		if idx == nil || recs == nil {
			return nil
		}
		if k := idx.Get(sum); k != nil {
			rec, _ = decodeRecord(k, recs.Get(k))
		}
		return nil
	})
	return rec, rec != nil && rec.WARC != nil
}

// HasArchived reports whether the WARC index holds any payload: whether
// earlier runs of the job archived some.
func (s *Store) HasArchived() (bool, error) {
	has := false
	err := s.file.View(func(tx *jobfile.Tx) error {
		if idx := tx.Bucket(jobfile.WARCIndex); idx != nil {
			k, _ := idx.Cursor().First()
			has = k != nil
		}
		return nil
	})
	return has, err
}
