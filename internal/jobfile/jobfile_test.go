package jobfile

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	bbolt "go.etcd.io/bbolt"
)

// writeV1 writes a job as trawl 0.1 left it: format trawl-job/1, the
// store's counters in the meta bucket.
func writeV1(t *testing.T, path, format string) {
	t.Helper()
	db, err := bbolt.Open(path, 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bbolt.Tx) error {
		meta, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		meta.Put([]byte("format"), []byte(format))
		meta.Put([]byte("count"), []byte{0, 0, 0, 0, 0, 0, 0, 7})
		_, err = tx.CreateBucket([]byte("records"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUpgradeV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	writeV1(t, path, "trawl-job/1")
	// Read-only, an old job is read as it is, never changed.
	f, err := Open(path, &Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open of a version 1 job: %v", err)
	}
	f.View(func(tx *Tx) error {
		if tx.Bucket(StoreMeta) != nil {
			t.Error("a read-only open changed the file")
		}
		return nil
	})
	f.Close()
	f, err = Open(path, nil)
	if err != nil {
		t.Fatalf("open of a version 1 job: %v", err)
	}
	defer f.Close()
	f.View(func(tx *Tx) error {
		if got := string(tx.Bucket(Meta).Get(keyFormat)); got != Format {
			t.Errorf("format %q after upgrade, want %q", got, Format)
		}
		if v := tx.Bucket(StoreMeta).Get([]byte("count")); len(v) != 8 || v[7] != 7 {
			t.Errorf("store counter not moved: %v", v)
		}
		if tx.Bucket(Meta).Get([]byte("count")) != nil {
			t.Error("store counter left in the meta bucket")
		}
		for _, b := range Buckets {
			if tx.Bucket(b) == nil {
				t.Errorf("bucket %s missing", b.name)
			}
		}
		return nil
	})
}

func TestRefuseNewerAndForeign(t *testing.T) {
	dir := t.TempDir()
	newer := filepath.Join(dir, "newer.db")
	writeV1(t, newer, "trawl-job/9")
	before, _ := os.ReadFile(newer)
	if _, err := Open(newer, nil); !errors.Is(err, ErrNewer) || !strings.Contains(err.Error(), "trawl-job/9") {
		t.Errorf("open of a newer job: %v, want ErrNewer naming its format", err)
	}
	if after, _ := os.ReadFile(newer); string(after) != string(before) {
		t.Error("a refused job was modified")
	}
	foreign := filepath.Join(dir, "other.db")
	db, _ := bbolt.Open(foreign, 0o644, nil)
	db.Update(func(tx *bbolt.Tx) error { _, err := tx.CreateBucket([]byte("meta")); return err })
	db.Close()
	if _, err := Open(foreign, nil); !errors.Is(err, ErrNotJob) {
		t.Errorf("open of a bbolt file that is not a job: %v, want ErrNotJob", err)
	}
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("hello"), 0o644)
	if _, err := Open(text, nil); !errors.Is(err, ErrNotJob) {
		t.Errorf("open of a text file: %v, want ErrNotJob", err)
	}
}

// TestOwnership holds the registry to its word: a package names only the
// buckets it owns, and only this package and the store import bbolt.
func TestOwnership(t *testing.T) {
	owners := map[string]string{}
	for name, b := range map[string]Bucket{"Meta": Meta, "Records": Records, "URLs": URLs, "Bodies": Bodies, "Packs": Packs, "SHA256": SHA256,
		"IndexLog": IndexLog, "Items": Items, "StoreMeta": StoreMeta, "Previous": Previous, "ItemsOld": ItemsOld, "WARCLog": WARCLog,
		"WARCIndex": WARCIndex, "Due": Due, "DueURLs": DueURLs, "Queue": Queue, "Seen": Seen, "RobotsTxts": RobotsTxts, "Cookies": Cookies} {
		owners[name] = b.Owner
	}
	if len(owners) != len(Buckets) {
		t.Fatalf("the test knows %d buckets, the registry has %d", len(owners), len(Buckets))
	}
	root := filepath.Join("..", "..")
	checked := 0
	filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range file.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, "go.etcd.io/bbolt") && rel != "internal/jobfile" && rel != "store" {
				t.Errorf("%s imports %s: only the job file's owner opens it", path, p)
			}
		}
		ast.Inspect(file, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "jobfile" {
				if owner, isBucket := owners[sel.Sel.Name]; isBucket && owner != rel {
					t.Errorf("%s names bucket %s, owned by %s", path, sel.Sel.Name, owner)
				}
			}
			return true
		})
		return nil
	})
	if checked < 20 {
		t.Fatalf("checked only %d files", checked)
	}
}

// A job's free list is written down, in a new job and in one written with
// it unsynced, so that opening a big job reads the list instead of every
// page of the file. (Read from the meta pages: the free list's page id
// follows magic, version, page size, flags and the root bucket.)
func TestFreelistSynced(t *testing.T) {
	freelists := func(path string) []uint64 {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		ps := os.Getpagesize()
		var ids []uint64
		for _, off := range []int{0, ps} {
			var id uint64
			for i := 7; i >= 0; i-- {
				id = id<<8 | uint64(b[off+48+i])
			}
			ids = append(ids, id)
		}
		return ids
	}
	check := func(path string) {
		t.Helper()
		f, err := Open(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Update(func(tx *Tx) error { return tx.Bucket(StoreMeta).Put([]byte("x"), []byte("y")) }); err != nil {
			t.Fatal(err)
		}
		f.Close()
		for _, id := range freelists(path) {
			if id == ^uint64(0) {
				t.Fatalf("%s: a meta page has no free list (%x)", path, freelists(path))
			}
		}
	}
	dir := t.TempDir()
	check(filepath.Join(dir, "new.db"))

	old := filepath.Join(dir, "old.db")
	check(old)
	db, err := bbolt.Open(old, 0o644, &bbolt.Options{NoFreelistSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // both meta pages
		if err := db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(StoreMeta.name).Put([]byte("x"), []byte("z")) }); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if ids := freelists(old); ids[0] != ^uint64(0) || ids[1] != ^uint64(0) {
		t.Fatalf("the test did not unsync the free list: %x", ids)
	}
	check(old)
}

// A Later write costs no commit of its own: it goes in with the next
// committed Update (not with one that failed), or at Close, and is in the
// file when it is opened again.
func TestLater(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	f, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	get := func(f *File, key string) string {
		var v string
		f.View(func(tx *Tx) error {
			v = string(tx.Bucket(RobotsTxts).Get([]byte(key)))
			return nil
		})
		return v
	}
	put := func(key string) func(*Tx) error {
		return func(tx *Tx) error { return tx.Bucket(RobotsTxts).Put([]byte(key), []byte("v-"+key)) }
	}
	f.Later(put("a"))
	if v := get(f, "a"); v != "" {
		t.Fatalf("a Later write is in the file before any commit: %q", v)
	}
	failed := errors.New("no")
	if err := f.Update(func(*Tx) error { return failed }); !errors.Is(err, failed) {
		t.Fatal(err)
	}
	if v := get(f, "a"); v != "" {
		t.Fatalf("a Later write went in with a failed transaction: %q", v)
	}
	if err := f.Update(func(tx *Tx) error { return tx.Bucket(Meta).Put([]byte("x"), []byte("1")) }); err != nil {
		t.Fatal(err)
	}
	if v := get(f, "a"); v != "v-a" {
		t.Fatalf("after the next commit: %q, want v-a", v)
	}
	f.Later(put("b"))
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	f, err = Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if a, b := get(f, "a"), get(f, "b"); a != "v-a" || b != "v-b" {
		t.Fatalf("after a reopen: %q, %q; want both (b written at Close)", a, b)
	}
}
