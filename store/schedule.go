package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/internal/jobfile"
)

// The revisit schedule of a continuous job (see Schedule). Each record
// saved schedules its URL's next visit, in the same transaction: due
// after an interval of its own, which starts at Schedule.First (or
// sooner, as the response's Cache-Control max-age or Expires says),
// halves after a change and grows by half after none, within
// [Schedule.Min, Schedule.Max]. Due takes the URLs whose time has come
// out of the schedule, for the frontier to queue again; the URL's record
// then becomes its previous one (see Previous), with its interval.

// Schedule is how often a continuous job revisits its URLs.
type Schedule struct {
	First, Min, Max time.Duration
}

// SetSchedule makes every record saved from now on schedule its URL's
// next visit (nil: no schedule). Call it before saving anything.
func (s *Store) SetSchedule(sc *Schedule) { s.schedule = sc }

// interval returns r's next interval: from its previous one (prevVal, a
// Previous value, or nil for a first visit) and what changed.
func (sc *Schedule) interval(r *Record, prevVal []byte) time.Duration {
	d := sc.First
	if len(prevVal) == 16 {
		d = time.Duration(binary.BigEndian.Uint64(prevVal[8:]))
		switch r.Kind() {
		case ChangeChanged:
			d /= 2
		case ChangeUnchanged:
			d += d / 2
		}
	} else if fresh, ok := freshFor(r.Header, r.FetchedAt); ok && fresh < d {
		d = fresh
	}
	return min(max(d, sc.Min), sc.Max)
}

// freshFor returns how long h says its response stays fresh: max-age,
// else Expires against Date (or at, when fetched).
func freshFor(h http.Header, at time.Time) (time.Duration, bool) {
	for part := range strings.SplitSeq(h.Get("Cache-Control"), ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(strings.ToLower(part)), "max-age="); ok {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				return time.Duration(n) * time.Second, true
			}
		}
	}
	exp, err := http.ParseTime(h.Get("Expires"))
	if err != nil {
		return 0, false
	}
	if date, err := http.ParseTime(h.Get("Date")); err == nil {
		at = date
	}
	return max(exp.Sub(at), 0), true
}

// reschedule schedules the next visit of r, saved under seq.
func (w *batch) reschedule(r *Record, seq uint64) error {
	due, urls, prev := w.tx.Bucket(jobfile.Due), w.tx.Bucket(jobfile.DueURLs), w.tx.Bucket(jobfile.Previous)
	if due == nil || urls == nil || prev == nil {
		return errors.New("store: schedule buckets missing")
	}
	uk := r.key()
	if old := urls.Get(uk); len(old) >= 8 { // scheduled already (visited again meanwhile)
		if err := due.Delete(append(bytes.Clone(old[:8]), uk...)); err != nil {
			return err
		}
	}
	d := w.s.schedule.interval(r, prev.Get(uk))
	at := r.FetchedAt
	if at.IsZero() {
		at = time.Now()
	}
	when := binary.BigEndian.AppendUint64(nil, uint64(at.Add(d).UnixNano()))
	v := binary.BigEndian.AppendUint64(bytes.Clone(when), uint64(d))
	v = binary.BigEndian.AppendUint64(v, seq)
	v = binary.AppendUvarint(v, uint64(r.Depth))
	v = append(append(append(v, r.URL...), 0), r.Request...)
	if err := urls.Put(uk, v); err != nil {
		return err
	}
	return due.Put(append(when, uk...), nil)
}

// DueTx takes out of the schedule, in tx, at most max URLs due by now, and
// returns their requests, to be queued again in tx. Each URL's record
// becomes its previous one, with its interval. next is when the earliest
// URL left is due (zero: none).
func (s *Store) DueTx(tx *jobfile.Tx, now time.Time, max int) (reqs []frontier.Request, next time.Time, err error) {
	due, urls, prev := tx.Bucket(jobfile.Due), tx.Bucket(jobfile.DueURLs), tx.Bucket(jobfile.Previous)
	if due == nil || urls == nil || prev == nil {
		return nil, time.Time{}, errors.New("store: schedule buckets missing")
	}
	var taken [][]byte
	c := due.Cursor()
	k, _ := c.First()
	for ; k != nil && len(taken) < max; k, _ = c.Next() {
		if len(k) != 24 {
			return nil, time.Time{}, ErrDamaged
		}
		if at := time.Unix(0, int64(binary.BigEndian.Uint64(k))); at.After(now) {
			break
		}
		taken = append(taken, bytes.Clone(k))
	}
	if len(k) == 24 {
		next = time.Unix(0, int64(binary.BigEndian.Uint64(k)))
	}
	for _, k := range taken {
		uk := k[8:]
		v := urls.Get(uk)
		if len(v) < 25 {
			return nil, time.Time{}, ErrDamaged
		}
		depth, n := binary.Uvarint(v[24:])
		if n <= 0 {
			return nil, time.Time{}, ErrDamaged
		}
		u, spec, _ := strings.Cut(string(v[24+n:]), "\x00")
		reqs = append(reqs, frontier.Request{URL: u, Depth: int(depth), Spec: spec})
		if err := prev.Put(bytes.Clone(uk), append(bytes.Clone(v[16:24]), v[8:16]...)); err != nil {
			return nil, time.Time{}, err
		}
		if err := errors.Join(due.Delete(k), urls.Delete(uk)); err != nil {
			return nil, time.Time{}, err
		}
	}
	if len(taken) == max && next.IsZero() {
		next = now
	}
	return reqs, next, nil
}

// Scheduled returns how many URLs wait in the schedule, and how many of
// them are due by now.
func (s *Store) Scheduled(now time.Time) (waiting, due int, err error) {
	err = s.file.View(func(tx *jobfile.Tx) error {
		b := tx.Bucket(jobfile.Due)
		if b == nil {
			return nil
		}
		waiting = b.Stats().KeyN
		limit := binary.BigEndian.AppendUint64(nil, uint64(now.UnixNano()))
		c := b.Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k[:min(8, len(k))], limit) <= 0; k, _ = c.Next() {
			due++
		}
		return nil
	})
	return waiting, due, err
}
