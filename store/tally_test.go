package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/internal/jobfile"
)

// The summary the tallies keep is the one a scan of every record makes:
// with pages saved again, failures, skips, items and a re-extraction; and
// a job without tallies gets them when opened for writing.
func TestTalliesMatchScan(t *testing.T) {
	path := filepath.Join(t.TempDir(), "job.db")
	st, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	put := func(recs ...Record) { putAt(t, st, at, recs...) }
	put(mixedRecords()...)
	// Some pages again (--retry-failed, or a lease lost): now answered.
	put(Record{URL: "http://h1.test/1", Status: 200, Attempts: 2, Length: 7}, Record{URL: "http://h2.test/2", Status: 404, Attempts: 1})
	check := func(when string) { checkTallies(t, st, when) }
	// Until the index catches up, the repeats count twice in the tallies
	// (the scan, which reads the index log, does not).
	if sum, _, _ := st.summaryFromTallies(); sum.Records != 42 {
		t.Errorf("tallies before indexing count %d records, want 42", sum.Records)
	}
	// Indexed, then indexed again as if the first try had been killed
	// before it could drop the log: the second try changes nothing.
	logCopy := copyBucket(t, st, jobfile.IndexLog)
	if n, err := st.CatchUp(context.Background()); n != 42 || err != nil {
		t.Fatalf("CatchUp = %d, %v; want 42 records indexed", n, err)
	}
	check("after indexing")
	if n, _ := st.Unindexed(); n != 0 {
		t.Errorf("%d records unindexed after CatchUp", n)
	}
	restoreBucket(t, st, jobfile.IndexLog, logCopy)
	if n, err := st.CatchUp(context.Background()); n != 42 || err != nil {
		t.Fatalf("CatchUp again = %d, %v", n, err)
	}
	check("after indexing twice")
	_, err = st.RewriteItems(context.Background(), func(r *Record, body []byte) ([]Item, error) {
		if bytes.Contains(body, []byte("h0")) {
			return nil, errors.New("no books here")
		}
		return []Item{{Type: "page", URL: r.URL}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check("after re-extraction")
	// As a job of an older trawl: no tallies. Read-only, it is scanned;
	// opened for writing, it is counted once.
	dropTallies(t, st)
	want, _ := st.scanSummary()
	st.Close()
	ro, err := Open(path, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ro.Summarize(); err != nil || got.Records != want.Records {
		t.Errorf("read-only summary of a job without tallies: %v, %v", got, err)
	}
	ro.Close()
	if st, err = Open(path, nil); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	check("after counting an old job")
}

// putAt puts recs as pages fetched a second apart from at, each 200 with
// an item.
func putAt(t *testing.T, st *Store, at time.Time, recs ...Record) {
	t.Helper()
	var pages []*Page
	for i, r := range recs {
		r.FetchedAt = at.Add(time.Duration(i) * time.Second)
		var items []Item
		if r.Status == 200 {
			items = []Item{{Type: "book", URL: r.URL, Fields: map[string]any{"n": i}}}
		}
		p, err := st.NewPage(r, []byte("body of "+r.URL), items...)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, p)
	}
	if err := st.Put(pages...); err != nil {
		t.Fatal(err)
	}
}

// mixedRecords are 40 records of three hosts: answered, 503s, refusals
// and robots.txt skips.
func mixedRecords() []Record {
	var recs []Record
	for i := range 40 {
		r := Record{URL: fmt.Sprintf("http://h%d.test/%d", i%3, i), Status: 200, Attempts: 1, Length: int64(100 + i)}
		switch i % 5 {
		case 1:
			r.Status, r.Error = 503, "HTTP 503"
		case 2:
			r.Status, r.Error = 0, "dial tcp: connection refused"
		case 3:
			r.Skipped, r.Status = SkipRobots, 0
		}
		recs = append(recs, r)
	}
	return recs
}

// checkTallies fails when the summary from the tallies is not the scan's.
func checkTallies(t *testing.T, st *Store, when string) {
	t.Helper()
	fromTallies, ok, err := st.summaryFromTallies()
	if err != nil || !ok {
		t.Fatalf("%s: tallies: %v, %v", when, ok, err)
	}
	scan, err := st.scanSummary()
	if err != nil {
		t.Fatal(err)
	}
	if len(fromTallies.Failures) != len(scan.Failures) {
		t.Errorf("%s: %d failures named, the scan %d", when, len(fromTallies.Failures), len(scan.Failures))
	}
	fromTallies.Failures, scan.Failures = nil, nil
	if !reflect.DeepEqual(fromTallies, scan) {
		t.Errorf("%s:\n tallies %+v\n scan    %+v", when, fromTallies, scan)
	}
}

// dropTallies makes st a job of an older trawl, which kept no tallies.
func dropTallies(t *testing.T, st *Store) {
	t.Helper()
	err := st.file.Update(func(tx *jobfile.Tx) error {
		meta := tx.Bucket(jobfile.StoreMeta)
		var keys [][]byte
		c := meta.Cursor()
		for k, _ := c.Seek(tallyPrefix); k != nil && bytes.HasPrefix(k, tallyPrefix); k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		for _, k := range keys {
			meta.Delete(k)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// copyBucket returns the keys and values of bucket b.
func copyBucket(t *testing.T, st *Store, b jobfile.Bucket) [][2][]byte {
	t.Helper()
	var kv [][2][]byte
	err := st.file.View(func(tx *jobfile.Tx) error {
		return tx.Bucket(b).ForEach(func(k, v []byte) error {
			kv = append(kv, [2][]byte{bytes.Clone(k), bytes.Clone(v)})
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// restoreBucket puts kv back into bucket b.
func restoreBucket(t *testing.T, st *Store, b jobfile.Bucket, kv [][2][]byte) {
	t.Helper()
	err := st.file.Update(func(tx *jobfile.Tx) error {
		for _, e := range kv {
			if err := tx.Bucket(b).Put(e[0], e[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Check finds a record that is not well-formed, wherever it is; once it
// has, the job takes no more writes.
func TestCheck(t *testing.T) {
	for _, seq := range []uint64{1, 50, 100} {
		st, err := Open(filepath.Join(t.TempDir(), "job.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		var pages []*Page
		for i := range 100 {
			p, _ := st.NewPage(Record{URL: fmt.Sprintf("http://h/%d", i), Status: 200}, nil)
			pages = append(pages, p)
		}
		if err := st.Put(pages...); err != nil {
			t.Fatal(err)
		}
		if err := st.Check(); err != nil {
			t.Fatalf("Check of a sound job: %v", err)
		}
		err = st.file.Update(func(tx *jobfile.Tx) error {
			return tx.Bucket(jobfile.Records).Put(binary.BigEndian.AppendUint64(nil, seq), []byte(`{"url":"ht`))
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Check(); !errors.Is(err, ErrDamaged) {
			t.Errorf("record %d cut: Check = %v, want ErrDamaged", seq, err)
		}
		if err := st.Put(pages[0]); !errors.Is(err, ErrDamaged) {
			t.Errorf("a write after Check found damage: %v, want ErrDamaged", err)
		}
		st.Close()
	}
}

// hostOf cuts what url.Parse gives as the host.
func TestHostOf(t *testing.T) {
	for _, u := range []string{"http://h.test/a", "https://h.test:8443/a?b", "http://h.test", "http://h.test?x", "http://h.test#f",
		"http://u:p@h.test/", "http://[::1]:80/x", "http://h%41.test/", "mailto:x@y", "a/b://c", "http:///x", "://x", "",
		"HTTP://H.test/", "http://h.test:/", "x://h?y://z/", "1x://h/", "a+b://h/p", "h\\t://x/"} {
		want := ""
		pu, err := url.Parse(u)
		if err == nil {
			want = pu.Host
		}
		if got, ok := hostOf(u); got != want || ok != (err == nil) {
			t.Errorf("hostOf(%q) = %q, %v; url.Parse: %q, %v", u, got, ok, want, err)
		}
	}
}
