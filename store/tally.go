package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/trawl-dev/trawl/internal/jobfile"
)

// Tallies: the counts "trawl stats" prints are kept in the store's meta
// bucket and moved with every record saved (PutTx), so that a job of
// millions of records is summarised without reading them. Each count is a
// key under "t/": scalars (t/records, t/failed, …), and one key a status,
// skip reason, host, error kind and extraction error kind; t/fail/KEY
// names the first failed records. A record saved again for its URL takes
// its old one's counts away.

var (
	tallyPrefix = []byte("t/")
	keyValid    = []byte("t/valid") // the tallies cover every record
	keyFirst    = []byte("t/first")
	keyLast     = []byte("t/last")
	failPrefix  = []byte("t/fail/")
)

// maxFailures is how many failed records the tallies name.
const maxFailures = 20

// tally is a change to the tallies.
type tally struct {
	d           map[string]int64
	first, last int64 // unix nanoseconds of the earliest and latest fetch seen
	failAdd     [][]byte
	failDrop    [][]byte
}

func newTally() *tally { return &tally{d: make(map[string]int64)} }

// add counts r (sign 1) or takes it away (sign -1).
func (t *tally) add(r *Record, sign int64) {
	t.d["t/records"] += sign
	t.d["t/bytes"] += sign * r.Length
	t.d["t/attempts"] += sign * int64(r.Attempts)
	if r.Skipped != "" {
		t.d["t/skip/"+string(r.Skipped)] += sign
	} else {
		t.d["t/status/"+strconv.Itoa(r.Status)] += sign
	}
	if host, ok := hostOf(r.URL); ok {
		t.d["t/host/"+host] += sign
	}
	if r.Error != "" {
		t.d["t/err/"+ErrorKind(r.Error)] += sign
	}
	if r.ExtractError != "" {
		t.d["t/xerr/"+ErrorKind(r.ExtractError)] += sign
	}
	if r.Failed() {
		t.d["t/failed"] += sign
	}
	t.d[passKey(r)] += sign
	if r.NotModified {
		t.d["t/notmod"] += sign
		t.d["t/notmod/bytes"] += sign * r.Length
	}
	if sign > 0 && !r.FetchedAt.IsZero() {
		ts := r.FetchedAt.UnixNano()
		if t.first == 0 || ts < t.first {
			t.first = ts
		}
		if ts > t.last {
			t.last = ts
		}
	}
}

// hostOf returns u's host (and port), as url.Parse has it: cut from a
// plain "scheme://host/…", parsed otherwise.
func hostOf(u string) (string, bool) {
	if scheme, rest, ok := strings.Cut(u, "://"); ok && plainScheme(scheme) {
		if host := rest[:strings.IndexAny(rest+"/", "/?#")]; !strings.ContainsAny(host, "@%[") {
			return host, true
		}
	}
	pu, err := url.Parse(u)
	if err != nil {
		return "", false
	}
	return pu.Host, true
}

// plainScheme reports a scheme url.Parse takes as it is: a letter, then
// letters and digits.
func plainScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return s != ""
}

// apply writes the change to meta.
func (t *tally) apply(meta *bolt.Bucket) error {
	for k, d := range t.d {
		if d == 0 {
			continue
		}
		key := []byte(k)
		v := int64(getUint(meta, key)) + d
		var err error
		if v <= 0 {
			err = meta.Delete(key)
		} else {
			err = putUint(meta, key, uint64(v))
		}
		if err != nil {
			return err
		}
	}
	if t.first != 0 {
		if old := int64(getUint(meta, keyFirst)); old == 0 || t.first < old {
			if err := putUint(meta, keyFirst, uint64(t.first)); err != nil {
				return err
			}
		}
		if t.last > int64(getUint(meta, keyLast)) {
			if err := putUint(meta, keyLast, uint64(t.last)); err != nil {
				return err
			}
		}
	}
	for _, k := range t.failDrop {
		if err := meta.Delete(append(bytes.Clone(failPrefix), k...)); err != nil {
			return err
		}
	}
	n := 0
	c := meta.Cursor()
	for k, _ := c.Seek(failPrefix); k != nil && bytes.HasPrefix(k, failPrefix); k, _ = c.Next() {
		n++
	}
	for _, k := range t.failAdd {
		if n >= maxFailures {
			break
		}
		if err := meta.Put(append(bytes.Clone(failPrefix), k...), []byte{1}); err != nil {
			return err
		}
		n++
	}
	return nil
}

// replaced takes the record at old (superseded by a newer one of its URL,
// of pass newPass) out of the tallies. Replaced in its own pass (tried
// again), its items are dropped; replaced by a later pass, it stays a
// version of the URL: its pass's counts keep it, and its items move to
// the old items.
func (t *tally) replaced(tx *jobfile.Tx, old []byte, newPass int) error {
	recs, items, kept := tx.Bucket(jobfile.Records), tx.Bucket(jobfile.Items), tx.Bucket(jobfile.ItemsOld)
	v := recs.Get(old)
	if v == nil {
		return nil
	}
	r, err := decodeRecord(old, v)
	if err != nil {
		return err
	}
	t.add(r, -1)
	version := r.PassOf() != newPass
	if version { // still a version: its pass's counts, and its 304, stand
		t.d[passKey(r)]++
		if r.NotModified {
			t.d["t/notmod"]++
			t.d["t/notmod/bytes"] += r.Length
		}
	}
	t.failDrop = append(t.failDrop, bytes.Clone(old))
	var dead [][]byte
	c := items.Cursor()
	for k, v := c.Seek(old); k != nil && bytes.HasPrefix(k, old) && len(k) == len(old)+4; k, v = c.Next() {
		if version && kept != nil {
			if err := kept.Put(bytes.Clone(k), bytes.Clone(v)); err != nil {
				return err
			}
		}
		dead = append(dead, bytes.Clone(k))
	}
	for _, k := range dead {
		if err := items.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// passKey is the tally of r's pass and change; a first pass's (every
// record of most jobs) is built once.
func passKey(r *Record) string {
	switch p, k := r.PassOf(), r.Kind(); {
	case p == 1 && k == ChangeNew:
		return firstNew
	case p == 1 && k == ChangeFailed:
		return firstFailed
	default:
		return "t/pass/" + strconv.Itoa(p) + "/" + string(k)
	}
}

const (
	firstNew    = "t/pass/1/new"
	firstFailed = "t/pass/1/failed"
)

// passOf returns the pass of the record at seq, without decoding it: the
// last "pass" key of its JSON is the record's own (only escaped strings
// follow it; see marshalRecord).
func passOf(recs *bolt.Bucket, seq uint64) int {
	k := binary.BigEndian.AppendUint64(nil, seq)
	_, data, err := splitRecord(k, recs.Get(k))
	if err != nil {
		return 1
	}
	i := bytes.LastIndex(data, []byte(`,"pass":`))
	if i < 0 {
		return 1
	}
	rest := data[i+len(`,"pass":`):]
	n := 0
	for len(rest) > 0 && '0' <= rest[0] && rest[0] <= '9' {
		n, rest = n*10+int(rest[0]-'0'), rest[1:]
	}
	return max(n, 1)
}

// ensureTallies makes the tallies cover every record: a job made before
// they existed is counted once, here. A job without records is left to
// its first PutTx, which marks the tallies valid (one commit less for a
// new job).
func (s *Store) ensureTallies() error {
	valid := false
	err := s.file.View(func(tx *jobfile.Tx) error {
		if meta := tx.Bucket(jobfile.StoreMeta); meta != nil {
			valid = meta.Get(keyValid) != nil
		}
		if recs := tx.Bucket(jobfile.Records); recs != nil && !valid {
			k, _ := recs.Cursor().First()
			valid = k == nil && recs.Sequence() == 0
		}
		return nil
	})
	if err != nil || valid {
		return err
	}
	return s.file.Update(func(tx *jobfile.Tx) error {
		meta := tx.Bucket(jobfile.StoreMeta)
		c := meta.Cursor()
		var old [][]byte
		for k, _ := c.Seek(tallyPrefix); k != nil && bytes.HasPrefix(k, tallyPrefix); k, _ = c.Next() {
			old = append(old, bytes.Clone(k))
		}
		for _, k := range old {
			if err := meta.Delete(k); err != nil {
				return err
			}
		}
		t := newTally()
		err := eachLatest(tx, nil, func(key []byte, r *Record) error {
			t.add(r, 1)
			if r.Failed() && len(t.failAdd) < maxFailures {
				t.failAdd = append(t.failAdd, bytes.Clone(key))
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := t.apply(meta); err != nil {
			return err
		}
		return meta.Put(keyValid, []byte{1})
	})
}

// summaryFromTallies reads the Summary the tallies keep; ok is false when
// they do not cover the job (a job of an older trawl opened read-only).
func (s *Store) summaryFromTallies() (sum *Summary, ok bool, err error) {
	sum = &Summary{ByStatus: map[int]int{}, Skipped: map[Skip]int{}, Hosts: map[string]int{}, Errors: map[string]int{},
		Items: map[string]int{}, ExtractErrors: map[string]int{}}
	err = s.file.View(func(tx *jobfile.Tx) error {
		meta, recs, items := tx.Bucket(jobfile.StoreMeta), tx.Bucket(jobfile.Records), tx.Bucket(jobfile.Items)
		if meta == nil || meta.Get(keyValid) == nil {
			return nil
		}
		ok = true
		c := meta.Cursor()
		for k, v := c.Seek(tallyPrefix); k != nil && bytes.HasPrefix(k, tallyPrefix); k, v = c.Next() {
			name, n := string(k[2:]), 0
			if len(v) == 8 {
				n = int(binary.BigEndian.Uint64(v))
			}
			switch kind, rest, _ := cut(name); kind {
			case "records":
				sum.Records = n
			case "bytes":
				sum.Bytes = int64(n)
			case "attempts":
				sum.Attempts = n
			case "failed":
				sum.Failed = n
			case "first":
				sum.First = time.Unix(0, int64(n)).UTC().Format(time.RFC3339)
			case "last":
				sum.Last = time.Unix(0, int64(n)).UTC().Format(time.RFC3339)
				first := int64(getUint(meta, keyFirst))
				sum.Span = float64(int64(n)-first) / 1e9
			case "status":
				code, _ := strconv.Atoi(rest)
				sum.ByStatus[code] = n
			case "skip":
				sum.Skipped[Skip(rest)] = n
			case "host":
				sum.Hosts[rest] = n
			case "err":
				sum.Errors[rest] = n
			case "xerr":
				sum.ExtractErrors[rest] = n
			case "fail":
				if v := recs.Get([]byte(rest)); v != nil {
					r, err := decodeRecord([]byte(rest), v)
					if err != nil {
						return err
					}
					sum.Failures = append(sum.Failures, r)
				}
			}
		}
		if items == nil {
			return nil
		}
		return items.ForEach(func(_, v []byte) error {
			var it struct {
				Type string `json:"type"`
			}
			if json.Unmarshal(v, &it) == nil {
				sum.Items[it.Type]++
			}
			return nil
		})
	})
	return sum, ok, err
}

// Check reads every record and index log entry as bytes and fails with
// ErrDamaged at one that is not well-formed: the counts come from the
// tallies, but a damaged job must still say so. It decodes nothing, and
// splits the records among the machine's cores.
func (s *Store) Check() error {
	var last uint64
	err := s.file.View(func(tx *jobfile.Tx) error {
		if recs := tx.Bucket(jobfile.Records); recs != nil {
			if k, _ := recs.Cursor().Last(); len(k) == 8 {
				last = binary.BigEndian.Uint64(k)
			}
		}
		return nil
	})
	if err != nil || last == 0 {
		return err
	}
	if err := s.file.View(func(tx *jobfile.Tx) error { return eachLogged(tx, nil, nil) }); err != nil {
		return err
	}
	parts := uint64(max(runtime.GOMAXPROCS(0), 1))
	errs := make(chan error, parts)
	for i := range parts {
		from, to := last*i/parts, last*(i+1)/parts // keys in (from, to]
		go func() {
			errs <- s.file.View(func(tx *jobfile.Tx) error {
				c := tx.Bucket(jobfile.Records).Cursor()
				for k, v := c.Seek(binary.BigEndian.AppendUint64(nil, from+1)); k != nil && binary.BigEndian.Uint64(k) <= to; k, v = c.Next() {
					if _, data, err := splitRecord(k, v); err != nil || !json.Valid(data) {
						return fmt.Errorf("%w: record %x is not well-formed", ErrDamaged, k)
					}
				}
				return nil
			})
		}()
	}
	for range parts {
		if e := <-errs; e != nil && err == nil {
			err = e
		}
	}
	return err
}

// cut splits a tally name "kind/rest".
func cut(name string) (kind, rest string, ok bool) {
	for i := 0; i < len(name); i++ {
		if name[i] == '/' {
			return name[:i], name[i+1:], true
		}
	}
	return name, "", false
}
