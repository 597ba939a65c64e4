package store_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trawl-dev/trawl/store"
)

func TestDirNames(t *testing.T) {
	root := t.TempDir()
	for _, layout := range []string{store.LayoutHost, store.LayoutFlat, store.LayoutHash} {
		d, err := store.OpenDir(filepath.Join(root, layout), layout)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{
			"http://h/%2e%2e/%2e%2e/x", "http://h/..%2f..%2fx", "http://h/%00", "http://h/%2Fetc%2Fx",
			"http://h/" + strings.Repeat("é", 200), "http://h/CON", "http://h/dir/", "http://h/a.?b=../../c",
		} {
			rel := d.Name(u, u, "")
			p := filepath.Join(d.Root(), rel)
			if !strings.HasPrefix(p, d.Root()+string(filepath.Separator)) || filepath.IsAbs(rel) {
				t.Errorf("%s %s: %q leaves the folder", layout, u, rel)
			}
			for _, seg := range strings.Split(rel, string(filepath.Separator)) {
				if seg == ".." || seg == "." || len(seg) > 255 || strings.ContainsRune(seg, 0) {
					t.Errorf("%s %s: bad segment %q", layout, u, seg)
				}
			}
		}
	}
	d, _ := store.OpenDir(filepath.Join(root, "out"), "")
	for out, want := range map[string]string{
		"../../e": filepath.Join("_.._", "_.._", "e"), "/etc/passwd": filepath.Join("etc", "passwd"), `a\b`: filepath.Join("a", "b"),
	} {
		if got := d.Name("k", "http://h/x", out); got != want {
			t.Errorf("out %q: %q, want %q", out, got, want)
		}
	}
	if _, err := store.OpenDir(root, "tree"); err == nil {
		t.Error("an unknown layout was accepted")
	}
}

// Clashing names keep both bodies, in either order, and a request placed
// again keeps its name.
func TestDirClashes(t *testing.T) {
	for _, order := range [][2]string{{"/a", "/a/b"}, {"/a/b", "/a"}, {"/c@d", "/c?d"}} {
		d, err := store.OpenDir(t.TempDir(), "")
		if err != nil {
			t.Fatal(err)
		}
		var paths []string
		for _, p := range order {
			u := "http://h" + p
			path, err := d.WriteFile(u, d.Name(u, u, ""), []byte(u))
			if err != nil {
				t.Fatalf("%v: %v", order, err)
			}
			paths = append(paths, path)
		}
		for i, p := range paths {
			if !strings.HasPrefix(p, filepath.Join(d.Root(), "h")+string(filepath.Separator)) {
				t.Errorf("%v: %s is not in the host's folder", order, p)
			}
			data, err := os.ReadFile(p)
			if err != nil || string(data) != "http://h"+order[i] {
				t.Errorf("%v: %s holds %q, %v", order, p, data, err)
			}
		}
		u := "http://h" + order[0]
		if again, err := d.WriteFile(u, d.Name(u, u, ""), []byte(u)); err != nil || again != paths[0] {
			t.Errorf("%v: placed again as %s, want %s (%v)", order, again, paths[0], err)
		}
	}
}
