package store_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/store"
)

func TestPutBodyDedupAndBlobFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "job.db")
	st, err := store.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	small := []byte(strings.Repeat("<p>same page</p>", 100))
	big := make([]byte, 4<<20) // random: compresses to more than the inline limit
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rnd.Uint32())
	}
	var pages []*store.Page
	for i, body := range [][]byte{small, small, big, nil} {
		p, err := st.NewPage(store.Record{URL: "http://h/" + string(rune('a'+i)), Status: 200, FetchedAt: time.Now()}, body)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, p)
	}
	if err := st.Put(pages...); err != nil {
		t.Fatal(err)
	}
	st.Close()

	st, err = store.Open(path, &store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, total, _ := st.Count()
	if n != 4 || total != int64(2*len(small)+len(big)) {
		t.Fatalf("Count = %d, %d", n, total)
	}
	for i, want := range [][]byte{small, small, big, nil} {
		rec, err := st.Get("http://h/" + string(rune('a'+i)))
		if err != nil || rec == nil {
			t.Fatalf("record %d: %v", i, err)
		}
		got, err := st.Body(rec)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("body %d: %d bytes, %v", i, len(got), err)
		}
		if want != nil {
			if sum := sha256.Sum256(want); rec.Length != int64(len(want)) || rec.SHA256 == "" || rec.SHA256[:8] != hexPrefix(sum[:]) {
				t.Errorf("record %d: length %d sha %s", i, rec.Length, rec.SHA256)
			}
		}
	}
	blobs, _ := filepath.Glob(path + ".blobs/*/*.zst")
	if len(blobs) != 1 {
		t.Errorf("%d blob files, want 1 (the large body)", len(blobs))
	}
	if fi, _ := os.Stat(path); fi.Size() > 2<<20 {
		t.Errorf("job file is %d bytes: the large body was inlined", fi.Size())
	}
}

func hexPrefix(b []byte) string {
	const hexd = "0123456789abcdef"
	var s []byte
	for _, c := range b[:4] {
		s = append(s, hexd[c>>4], hexd[c&15])
	}
	return string(s)
}

func TestOpenRefusesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk")
	os.WriteFile(junk, bytes.Repeat([]byte{0xED, 0xDA, 0x0C, 0xED}, 2000), 0o644)
	before, _ := os.ReadFile(junk)
	if _, err := store.Open(junk, nil); !errors.Is(err, store.ErrNotJob) {
		t.Errorf("junk: %v", err)
	}
	after, _ := os.ReadFile(junk)
	if !bytes.Equal(before, after) {
		t.Error("junk file modified")
	}
	if _, err := store.Open(filepath.Join(dir, "none.db"), &store.Options{ReadOnly: true}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	path := filepath.Join(dir, "job.db")
	st, err := store.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := store.Open(path, &store.Options{Timeout: 100 * time.Millisecond}); !errors.Is(err, store.ErrLocked) {
		t.Errorf("second open: %v, want ErrLocked", err)
	}
}
