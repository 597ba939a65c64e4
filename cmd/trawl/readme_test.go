package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trawl-dev/trawl/configs"
)

// Every trawl crawl and trawl fetch command shown in the README and the
// guides parses: its flags exist and its values are of their form. (The
// commands name sites on the internet, which tests never ask; what they do
// is shown by the tests named in docs/testing.md.)
func TestDocCommandsParse(t *testing.T) {
	files, _ := filepath.Glob("../../docs/*.md")
	files = append(files, "../../README.md")
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			if i := strings.Index(line, "trawl "); i >= 0 && (i == 0 || strings.HasPrefix(line, "$ ")) {
				line = line[i:]
			} else {
				continue
			}
			line, _, _ = strings.Cut(line, " #")
			line, _, _ = strings.Cut(line, " |")
			line, _, _ = strings.Cut(line, " >")
			args := strings.Fields(line)
			if len(args) < 2 || (args[1] != "crawl" && args[1] != "fetch") || strings.ContainsAny(line, "…[]") {
				continue
			}
			cmd := configs.Crawl
			if args[1] == "fetch" {
				cmd = configs.Fetch
			}
			for k, a := range args {
				a = strings.Trim(a, "'\"`")
				if strings.HasPrefix(a, "configs/") { // beside the README
					a = "../../" + a
				}
				args[k] = a
			}
			_, _, err := configs.Parse(cmd, args[2:])
			if err != nil {
				t.Errorf("%s: %q: %v", filepath.Base(f), line, err)
			}
			n++
		}
	}
	if n < 10 {
		t.Errorf("only %d commands found", n)
	}
}
