package shape

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const root = "../.."

func goFiles(t *testing.T, dir string, recurse bool) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && p != dir && (!recurse || strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules"):
			return filepath.SkipDir
		case !d.IsDir() && strings.HasSuffix(p, ".go"):
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// No function anywhere, tests included, is over 80 lines.
func TestFunctionsAreShort(t *testing.T) {
	fset := token.NewFileSet()
	n := 0
	for _, p := range goFiles(t, root, true) {
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			n++
			if lines := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1; lines > 80 {
				t.Errorf("%s: %s is %d lines (at most 80)", p, fd.Name.Name, lines)
			}
		}
	}
	if n < 500 {
		t.Fatalf("only %d functions found under %s", n, root)
	}
}

// The engine is at most 1,200 lines, and knows no concrete frontier or
// store: it holds its parts through interfaces (crawler.Parts).
func TestEngine(t *testing.T) {
	lines := 0
	fset := token.NewFileSet()
	for _, p := range goFiles(t, filepath.Join(root, "crawler"), false) {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		lines += strings.Count(string(data), "\n")
		f, err := parser.ParseFile(fset, p, data, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range f.Imports {
			for _, concrete := range []string{"/frontier/bolt", "/frontier/redis", "/frontier/memory", "/politeness/boltstate", "/internal/jobfile", "/store/warc", "/crawler/download", "/crawler/archive", "/crawler/cookies"} {
				if strings.HasSuffix(strings.Trim(im.Path.Value, `"`), concrete) {
					t.Errorf("%s imports %s: the engine takes its parts as interfaces", p, im.Path.Value)
				}
			}
		}
		if strings.Contains(string(data), "*store.Store") {
			t.Errorf("%s names *store.Store", p)
		}
	}
	if lines > 1200 || lines < 500 {
		t.Errorf("package crawler is %d lines (at most 1,200)", lines)
	}
}
