package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/trawl-dev/trawl/internal/jobfile"
)

// sitePage is a page of one made-up site: the markup its pages share,
// and text of its own.
func sitePage(r *rand.Rand, i int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!doctype html><html><head><title>Page %d</title><link rel=stylesheet href=/site.css></head>\n", i)
	b.WriteString("<body><nav><a href=/>Home</a> <a href=/about>About</a> <a href=/blog>Blog</a> <a href=/contact>Contact</a></nav>\n<main>")
	words := []string{"crawl", "frontier", "politeness", "archive", "robots", "sitemap", "lease", "queue", "host", "page",
		"link", "scope", "depth", "retry", "batch", "index", "record", "body", "digest", "pack"}
	for range 20 + r.IntN(40) {
		b.WriteString("<p class=text>")
		for range 10 + r.IntN(20) {
			b.WriteString(words[r.IntN(len(words))] + " ")
		}
		b.WriteString("</p>\n")
	}
	b.WriteString("</main><footer>© Example Ltd — all rights reserved</footer></body></html>\n")
	return b.Bytes()
}

// TestPacks saves a crawl's worth of small pages, and one large page, in
// a few calls; reads every body back in saving order and in random order,
// from a reopened job; and checks that the small ones went into packs
// that take less room than the pages compressed one by one.
func TestPacks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "job.db")
	st, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	var want [][]byte
	alone := 0 // bytes of the small pages compressed one by one
	for call := range 3 {
		var pages []*Page
		for range 150 {
			body := sitePage(r, len(want))
			if len(want) == 200 {
				body = bytes.Repeat(body, packBody/len(body)+1) // too large to pack
			} else {
				alone += len(st.enc.EncodeAll(body, nil))
			}
			p, err := st.NewPage(Record{URL: fmt.Sprintf("http://h.test/%d", len(want)), Status: 200}, body)
			if err != nil {
				t.Fatal(err)
			}
			pages, want = append(pages, p), append(want, body)
		}
		if call == 2 { // and one body saved on its own
			p, _ := st.NewPage(Record{URL: "http://h.test/single", Status: 200}, []byte("one"))
			pages, want = append(pages, p), append(want, []byte("one"))
		}
		if err := st.Put(pages...); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	if st, err = Open(path, &Options{ReadOnly: true}); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var recs []*Record
	if err := st.Each(func(rec *Record) error { recs = append(recs, rec); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d", len(recs), len(want))
	}
	check := func(order []int) {
		t.Helper()
		for _, i := range order {
			got, err := st.Body(recs[i])
			if err != nil || !bytes.Equal(got, want[i]) {
				t.Fatalf("body %d: %d bytes, %v; want %d bytes", i, len(got), err, len(want[i]))
			}
		}
	}
	inOrder := make([]int, len(recs))
	for i := range inOrder {
		inOrder[i] = i
	}
	check(inOrder)
	check(r.Perm(len(recs)))

	packs, packed, refs := 0, 0, 0
	st.file.View(func(tx *jobfile.Tx) error {
		tx.Bucket(jobfile.Packs).ForEach(func(_, v []byte) error { packs++; packed += len(v); return nil })
		return tx.Bucket(jobfile.Bodies).ForEach(func(_, v []byte) error {
			if v[0] == packTag {
				refs++
			}
			return nil
		})
	})
	t.Logf("%d small pages in %d packs: %d bytes, against %d compressed one by one", refs, packs, packed, alone)
	if refs != len(want)-1 || packs < 4 {
		t.Errorf("%d of %d bodies in %d packs; want all but the large one, in several packs a call", refs, len(want), packs)
	}
	if packed >= alone*4/5 {
		t.Errorf("packs take %d bytes, the pages compressed one by one %d", packed, alone)
	}
}

// TestPackDamage reads bodies whose pack was changed, cut or lost, or
// whose reference is broken: each read fails with ErrDamaged, none
// returns wrong bytes.
func TestPackDamage(t *testing.T) {
	for _, damage := range []string{"byte", "cut", "lost", "ref", "range"} {
		t.Run(damage, func(t *testing.T) {
			st, err := Open(filepath.Join(t.TempDir(), "job.db"), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			r := rand.New(rand.NewPCG(5, 6))
			var pages []*Page
			var want [][]byte
			for i := range 10 {
				body := sitePage(r, i)
				p, _ := st.NewPage(Record{URL: fmt.Sprintf("http://h.test/%d", i), Status: 200}, body)
				pages, want = append(pages, p), append(want, body)
			}
			if err := st.Put(pages...); err != nil {
				t.Fatal(err)
			}
			one := binary.BigEndian.AppendUint64(nil, 1)
			err = st.file.Update(func(tx *jobfile.Tx) error {
				packs, bodies := tx.Bucket(jobfile.Packs), tx.Bucket(jobfile.Bodies)
				frame := bytes.Clone(packs.Get(one))
				switch damage {
				case "byte":
					frame[len(frame)/2] ^= 0x20
					return packs.Put(one, frame)
				case "cut":
					return packs.Put(one, frame[:len(frame)/2])
				case "lost":
					return packs.Delete(one)
				case "ref":
					return bodies.Put(one, []byte{packTag, 0x80})
				default:
					return bodies.Put(one, packRef{pack: 1, off: 1 << 20, n: 10}.value())
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			st.packs = packCache{}
			damaged := 0
			for i := range want {
				rec, err := st.Get(fmt.Sprintf("http://h.test/%d", i))
				if err != nil {
					t.Fatal(err)
				}
				switch b, err := st.Body(rec); {
				case errors.Is(err, ErrDamaged):
					damaged++
				case err != nil || !bytes.Equal(b, want[i]):
					t.Errorf("body %d: %d bytes, %v; want its bytes or ErrDamaged", i, len(b), err)
				}
			}
			if damaged == 0 {
				t.Error("no body read as damaged")
			}
		})
	}
}

// BenchmarkPacks saves a corpus of pages into a job, 200 a call, and
// compresses the same pages one by one as the store did before packs: it
// reports both sizes as a share of the pages' bytes. (CrawlVsBare in
// crawler measures the speed.)
// The corpus is every .html file under $TRAWL_HTML_DIR, else 2,000 pages
// of a made-up site:
//
//	TRAWL_HTML_DIR=/usr/share/doc go test -run '^$' -bench Packs ./store/
func BenchmarkPacks(b *testing.B) {
	var corpus [][]byte
	if dir := os.Getenv("TRAWL_HTML_DIR"); dir != "" {
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && filepath.Ext(p) == ".html" && len(corpus) < 2000 {
				if body, err := os.ReadFile(p); err == nil {
					corpus = append(corpus, body)
				}
			}
			return nil
		})
	} else {
		r := rand.New(rand.NewPCG(1, 1))
		for i := range 2000 {
			corpus = append(corpus, sitePage(r, i))
		}
	}
	in := 0
	for _, p := range corpus {
		in += len(p)
	}
	packed, alone := 0, 0
	for range b.N {
		st, err := Open(filepath.Join(b.TempDir(), "job.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < len(corpus); i += 200 {
			var pages []*Page
			for j, body := range corpus[i:min(i+200, len(corpus))] {
				p, err := st.NewPage(Record{URL: fmt.Sprintf("http://h.test/%d", i+j), Status: 200}, body)
				if err != nil {
					b.Fatal(err)
				}
				pages = append(pages, p)
			}
			if err := st.Put(pages...); err != nil {
				b.Fatal(err)
			}
		}
		packed = 0
		st.file.View(func(tx *jobfile.Tx) error {
			tx.Bucket(jobfile.Packs).ForEach(func(_, v []byte) error { packed += len(v); return nil })
			return tx.Bucket(jobfile.Bodies).ForEach(func(_, v []byte) error {
				if v[0] != packTag {
					packed += len(v)
				}
				return nil
			})
		})
		filepath.WalkDir(st.blobs, func(_ string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil // no blob files
			}
			if fi, err := d.Info(); err == nil {
				packed += int(fi.Size())
			}
			return nil
		})
		alone = 0
		for _, body := range corpus {
			alone += len(st.enc.EncodeAll(body, nil))
		}
		st.Close()
	}
	b.ReportMetric(float64(len(corpus)), "pages")
	b.ReportMetric(100*float64(packed)/float64(in), "packed-%")
	b.ReportMetric(100*float64(alone)/float64(in), "alone-%")
}

// TestPagePutOnce: Put takes a page's body, so a second Put of the same
// Page is refused rather than saving it without one.
func TestPagePutOnce(t *testing.T) {
	st, err := Open(filepath.Join(t.TempDir(), "job.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := st.NewPage(Record{URL: "http://h.test/", Status: 200}, []byte("<p>hello</p>"))
	if err != nil {
		t.Fatal(err)
	}
	size := p.Size()
	if err := st.Put(p); err != nil {
		t.Fatal(err)
	}
	if p.Size() != size {
		t.Errorf("Size %d after Put, %d before: the writer releases what it acquired", p.Size(), size)
	}
	if err := st.Put(p); err == nil {
		t.Fatal("a Page put twice was saved again")
	}
	rec, err := st.Get("http://h.test/")
	if err != nil {
		t.Fatal(err)
	}
	if body, err := st.Body(rec); err != nil || string(body) != "<p>hello</p>" {
		t.Fatalf("body %q, %v", body, err)
	}
}

// TestPackEncoderMemory: compressing a pack allocates history for the pack,
// not for the level's default window (4 MB, so 8 MB of history an encoder,
// kept for the job's life: 16 MB more heap on two cores).
func TestPackEncoderMemory(t *testing.T) {
	st, err := Open(filepath.Join(t.TempDir(), "job.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := rand.New(rand.NewPCG(5, 6))
	var pack []byte
	for len(pack) < packTarget {
		pack = append(pack, sitePage(r, len(pack))...)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	st.compress(pack)
	runtime.ReadMemStats(&after)
	n := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d bytes allocated", n)
	if n > 5<<20 {
		t.Errorf("compressing a %d-byte pack allocated %d bytes", len(pack), n)
	}
}
