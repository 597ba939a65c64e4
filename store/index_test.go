package store

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/trawl-dev/trawl/internal/jobfile"
)

// TestCatchUpInPasses saves URLs, some of them again, with bodies some
// pages share, across several runs; moves a log many times the pass
// budget into the indexes; and checks lookups, bodies and counts before
// and after, against what was saved.
func TestCatchUpInPasses(t *testing.T) {
	defer func(b, c int) { catchUpBytes, catchUpChunk = b, c }(catchUpBytes, catchUpChunk)
	catchUpBytes, catchUpChunk = 4<<10, 50
	path := filepath.Join(t.TempDir(), "job.db")
	r := rand.New(rand.NewPCG(7, 8))
	want := map[string]string{} // URL → latest body
	bodies := map[string]bool{}
	saves := 0
	run := func(st *Store, n int) {
		t.Helper()
		for range n / 25 {
			var pages []*Page
			for range 25 {
				u := fmt.Sprintf("http://h.test/%d", r.IntN(3000)) // repeats
				body := fmt.Sprintf("body %d", r.IntN(500))        // shared bodies
				p, err := st.NewPage(Record{URL: u, Status: 200}, []byte(body))
				if err != nil {
					t.Fatal(err)
				}
				pages = append(pages, p)
				want[u], bodies[body] = body, true
				saves++
			}
			if err := st.Put(pages...); err != nil {
				t.Fatal(err)
			}
		}
	}
	verify := func(st *Store, when string) {
		t.Helper()
		got := map[string]string{}
		err := st.Each(func(rec *Record) error {
			if _, dup := got[rec.URL]; dup {
				return fmt.Errorf("%s twice", rec.URL)
			}
			b, err := st.Body(rec)
			got[rec.URL] = string(b)
			return err
		})
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: Each gave %d URLs, want %d (or bodies differ)", when, len(got), len(want))
		}
		for _, u := range []string{"http://h.test/1", "http://h.test/2999", "http://h.test/1500"} {
			rec, err := st.Get(u)
			if err != nil || (rec == nil) != (want[u] == "") {
				t.Fatalf("%s: Get(%s) = %v, %v", when, u, rec, err)
			}
		}
	}
	st, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	run(st, 2000)
	verify(st, "first run, not indexed")
	st.Close() // as if killed: the log stays

	if st, err = Open(path, nil); err != nil {
		t.Fatal(err)
	}
	run(st, 2000) // the recent bodies are forgotten: some bodies are stored again
	verify(st, "second run, not indexed")
	if n, err := st.Unindexed(); n != saves || err != nil {
		t.Fatalf("Unindexed = %d, %v; want %d", n, err, saves)
	}
	if n, err := st.CatchUp(context.Background()); n != saves || err != nil {
		t.Fatalf("CatchUp = %d, %v", n, err)
	}
	verify(st, "indexed")
	if n, _, _ := st.Count(); n != len(want) {
		t.Errorf("Count = %d after indexing, want %d URLs", n, len(want))
	}
	stored := 0
	st.file.View(func(tx *jobfile.Tx) error { stored = tx.Bucket(jobfile.Bodies).Stats().KeyN; return nil })
	t.Logf("%d saves of %d URLs, %d distinct bodies stored as %d", saves, len(want), len(bodies), stored)
	if stored < len(bodies) || stored > 2*len(bodies) {
		t.Errorf("%d distinct bodies stored as %d (the first run's once, the second's at most once more)", len(bodies), stored)
	}

	// A third run after indexing finds every body in the digest index.
	before := stored
	run(st, 500)
	st.file.View(func(tx *jobfile.Tx) error { stored = tx.Bucket(jobfile.Bodies).Stats().KeyN; return nil })
	if stored != before {
		t.Errorf("%d bodies stored again after indexing", stored-before)
	}
	verify(st, "third run")
	st.Close()
}

// TestRecordValue checks the record value of this layout and the JSON one
// of older jobs.
func TestRecordValue(t *testing.T) {
	for _, body := range []uint64{0, 1, 300, 1 << 40} {
		v := recordValue(body, []byte(`{"url":"http://h/"}`))
		rec, err := decodeRecord([]byte("k"), v)
		if err != nil || rec.body != body || rec.URL != "http://h/" {
			t.Errorf("body %d: %+v, %v", body, rec, err)
		}
	}
	rec, err := decodeRecord([]byte("k"), []byte(`{"url":"http://old/"}`))
	if err != nil || rec.body != 0 || rec.URL != "http://old/" {
		t.Errorf("old record: %+v, %v", rec, err)
	}
	for _, bad := range [][]byte{{recordV2, 0xff}, {recordV2, 0x80, 0x80}, []byte("{"), {recordV2, 0, 'x'}} {
		if _, err := decodeRecord([]byte("k"), bad); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
	if _, _, err := splitLog([]byte("k"), []byte{5, 1, 2}); err == nil {
		t.Error("short log value split")
	}
	var l indexLog
	l.addURL(bytes.Repeat([]byte{1}, 16), 9)
	sum := [32]byte{2}
	l.addBody(&sum, 10)
	urls, bodies, err := splitLog([]byte("k"), l.value())
	if err != nil || len(urls) != urlEntry || len(bodies) != bodyEntry {
		t.Errorf("log value split into %d and %d bytes, %v", len(urls), len(bodies), err)
	}
}
