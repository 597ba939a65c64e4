package layout_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trawl-dev/trawl/store/layout"
)

func TestDirNames(t *testing.T) {
	root := t.TempDir()
	for _, mode := range layout.Modes {
		d, err := layout.Open(filepath.Join(root, mode), mode)
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
				t.Errorf("%s %s: %q leaves the folder", mode, u, rel)
			}
			for _, seg := range strings.Split(rel, string(filepath.Separator)) {
				if seg == ".." || seg == "." || len(seg) > 255 || strings.ContainsRune(seg, 0) {
					t.Errorf("%s %s: bad segment %q", mode, u, seg)
				}
			}
		}
	}
	d, _ := layout.Open(filepath.Join(root, "out"), "")
	for out, want := range map[string]string{
		"../../e": filepath.Join("_.._", "_.._", "e"), "/etc/passwd": filepath.Join("etc", "passwd"), `a\b`: filepath.Join("a", "b"),
	} {
		if got := d.Name("k", "http://h/x", out); got != want {
			t.Errorf("out %q: %q, want %q", out, got, want)
		}
	}
	if _, err := layout.Open(root, "tree"); err == nil {
		t.Error("an unknown layout was accepted")
	}
}

// Clashing names keep both bodies, in either order, and a request placed
// again keeps its name.
func TestDirClashes(t *testing.T) {
	for _, order := range [][2]string{{"/a", "/a/b"}, {"/a/b", "/a"}, {"/c@d", "/c?d"}} {
		d, err := layout.Open(t.TempDir(), "")
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

func TestFileNameStaysInside(t *testing.T) {
	for _, u := range []string{
		"http://h/%2e%2e/%2e%2e/x", "http://h/..%2f..%2fx", "http://h/a%00b", "http://h/%2Fetc%2Fx",
		"http://h/" + strings.Repeat("s", 300) + "/f", "http://h/CON", "http://h/a/../../b", "http://h/", "http://h/d/?q=1/2",
	} {
		name := layout.FileName(u)
		if !filepath.IsLocal(name) || strings.Contains(name, "\x00") {
			t.Errorf("FileName(%q) = %q escapes the directory", u, name)
		}
		for _, seg := range strings.Split(name, string(filepath.Separator)) {
			if len(seg) > 200 || seg == ".." || seg == "." || strings.EqualFold(seg, "CON") {
				t.Errorf("FileName(%q) has segment %q", u, seg)
			}
		}
	}
	if got := layout.FileName("http://h/d/?q=1"); got != filepath.Join("h", "d", "index.html@q=1") {
		t.Errorf("query name: %q", got)
	}
}
