package store

import (
	"bytes"
	"context"
	"encoding/hex"
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
	verify := func(st *Store, when string) { verifyLatest(t, st, when, want) }
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
	// Indexing it meets URLs the index holds (the first was of a job
	// whose index was empty).
	if _, err := st.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	verify(st, "third run, indexed")
	if n, _, _ := st.Count(); n != len(want) {
		t.Errorf("Count = %d after indexing again, want %d URLs", n, len(want))
	}
	st.Close()
}

// verifyLatest fails when st's latest records and their bodies are not
// want (URL → body), by Each and by Get.
func verifyLatest(t *testing.T, st *Store, when string, want map[string]string) {
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

// TestOlderLayout reads a job saved before the index log: JSON records
// found through the URL index, bodies through the digest index. A page
// saved again now replaces its old record once the index catches up.
func TestOlderLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "job.db")
	st, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// What the older PutTx wrote for one page.
	p, err := st.NewPage(Record{URL: "http://old.test/a", Status: 200}, []byte("old body"))
	if err != nil {
		t.Fatal(err)
	}
	err = st.file.Update(func(tx *jobfile.Tx) error {
		sum := [32]byte{}
		hexDecode(t, p.Record.SHA256, sum[:])
		one := []byte{0, 0, 0, 0, 0, 0, 0, 1}
		for _, kv := range []struct {
			b    jobfile.Bucket
			k, v []byte
		}{
			{jobfile.Bodies, one, st.enc.EncodeAll([]byte("old body"), nil)}, {jobfile.SHA256, sum[:], one},
			{jobfile.Records, one, p.data}, {jobfile.URLs, p.Record.key(), one},
		} {
			b := tx.Bucket(kv.b)
			if err := b.Put(kv.k, kv.v); err != nil {
				return err
			}
			if err := b.SetSequence(1); err != nil {
				return err
			}
		}
		return putUint(tx.Bucket(jobfile.StoreMeta), keyCount, 1)
	})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := st.Get("http://old.test/a")
	if err != nil || rec == nil || rec.body != 0 {
		t.Fatalf("old record: %+v, %v", rec, err)
	}
	if b, err := st.Body(rec); err != nil || string(b) != "old body" {
		t.Fatalf("old body: %q, %v", b, err)
	}
	// The same body saved for another URL is found in the digest index.
	q, _ := st.NewPage(Record{URL: "http://old.test/b", Status: 200}, []byte("old body"))
	r, _ := st.NewPage(Record{URL: "http://old.test/a", Status: 404}, nil)
	if err := st.Put(q, r); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []string
	st.Each(func(rec *Record) error {
		b, err := st.Body(rec)
		got = append(got, fmt.Sprintf("%s %d %q %v", rec.URL, rec.Status, b, err))
		return nil
	})
	want := []string{`http://old.test/b 200 "old body" <nil>`, `http://old.test/a 404 "" <nil>`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after saving again: %q, want %q", got, want)
	}
	st.file.View(func(tx *jobfile.Tx) error {
		if n := tx.Bucket(jobfile.Bodies).Stats().KeyN; n != 1 {
			t.Errorf("%d bodies stored, want the old one alone", n)
		}
		return nil
	})
	if n, _, _ := st.Count(); n != 2 {
		t.Errorf("Count = %d, want 2", n)
	}
}

func hexDecode(t *testing.T, s string, dst []byte) {
	t.Helper()
	if n, err := hex.Decode(dst, []byte(s)); err != nil || n != len(dst) {
		t.Fatalf("%q: %v", s, err)
	}
}
