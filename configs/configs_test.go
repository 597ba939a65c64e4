package configs

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

var update = flag.Bool("update", false, "rewrite docs/config.md from the declarations")

// docs/config.md is what Reference makes of the declarations: a setting
// added, renamed or documented anew changes both or the test fails.
func TestReferenceIsCurrent(t *testing.T) {
	path := filepath.Join("..", "docs", "config.md")
	if *update {
		if err := os.WriteFile(path, []byte(Reference()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != Reference() {
		t.Fatalf("%s is not what the declarations make: run go test ./configs -update", path)
	}
}

// Every flag is a YAML key and every documented key a flag, unless its
// declaration says it is one only; each name is declared once.
func TestFlagsKeysAndReference(t *testing.T) {
	ref := Reference()
	seen := map[string]bool{}
	for _, s := range Settings() {
		if seen[s.Name] || seen[s.Key()] {
			t.Errorf("%s declared twice", s.Name)
		}
		seen[s.Name], seen[s.Key()] = true, true
		if s.Help == "" || s.Group == "" {
			t.Errorf("%s: no help or group", s.Name)
		}
		for _, cmd := range []Command{Crawl, Fetch} {
			if s.Cmds&cmd == 0 {
				continue
			}
			j := Default(cmd)
			fl := Flags(cmd, &j).Lookup(s.Name)
			switch {
			case s.Only == FileOnly && fl != nil:
				t.Errorf("%s is a config key only, but %s has the flag", s.Name, cmd)
			case s.Only != FileOnly && fl == nil:
				t.Errorf("%s has no flag --%s", cmd, s.Name)
			}
			if _, ok := lookup(s.Key()); !ok && s.Only != FlagOnly {
				t.Errorf("key %s not found", s.Key())
			}
		}
		row := "`--" + s.Name + "`"
		if s.Only == FileOnly {
			row = "`" + s.Key() + "`"
		}
		if !strings.Contains(ref, row) {
			t.Errorf("the reference has no %s", row)
		}
	}
	// And the other way: every flag of the commands is declared.
	for _, cmd := range []Command{Crawl, Fetch} {
		j := Default(cmd)
		fs := Flags(cmd, &j)
		n := 0
		fs.VisitAll(func(f *pflag.Flag) {
			if f.Name != "help" && !seen[f.Name] {
				t.Errorf("%s has an undeclared flag --%s", cmd, f.Name)
			}
			n++
		})
		if n < 30 {
			t.Errorf("%s has %d flags", cmd, n)
		}
	}
}

// Every default parses, and the defaults are what the engine can run.
func TestDefaults(t *testing.T) {
	for _, cmd := range []Command{Crawl, Fetch} {
		j := Default(cmd)
		if err := j.Check(cmd); err != nil {
			t.Errorf("%s defaults: %v", cmd, err)
		}
		if err := j.Engine.Check(); err != nil {
			t.Errorf("%s engine defaults: %v", cmd, err)
		}
	}
	j := Default(Crawl)
	if j.Politeness.PerHost != 2 || j.Engine.Concurrency != 16 || !j.WARC.Dedup || j.Engine.Follow != true || Default(Fetch).Engine.Follow {
		t.Errorf("defaults: %+v", j)
	}
}

func write(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "job.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// headers: takes a map and a list; a type error names the key and the
// expected form, never a bare decoder message.
func TestLoad(t *testing.T) {
	j := Default(Crawl)
	if err := Load(Crawl, write(t, "headers: {X-A: one, Accept: text/html}\nheader: ['X-B: two']\n"), &j); err != nil {
		t.Fatal(err)
	}
	if j.Fetch.Header.Get("X-B") != "two" || j.Fetch.Header.Get("X-A") != "" {
		t.Errorf("the later key wins: %v", j.Fetch.Header)
	}
	j = Default(Crawl)
	if err := Load(Crawl, write(t, "headers: {X-A: one, Accept: text/html}\n"), &j); err != nil || j.Fetch.Header.Get("X-A") != "one" || j.Fetch.Header.Get("Accept") != "text/html" {
		t.Errorf("map: %v %v", j.Fetch.Header, err)
	}
	for text, want := range map[string]string{
		"per_host: {a: 1}\n":    `line 1: key "per_host": want a whole number`,
		"headers: {a: [1]}\n":   `key "headers": want a map of header names to values`,
		"timeout: soon\n":       `key "timeout": bad duration "soon"`,
		"max_body: [1]\n":       `key "max_body": want a size`,
		"\nconcurency: 4\n":     `line 2: unknown key "concurency"`,
		"out_dir: x\n":          `out_dir is a fetch setting, not a crawl one`,
		"extract: [{nme: x}]\n": `key "extract": unknown key nme`,
		"progress: bar\n":       `unknown key "progress"`,
		"- a\n":                 `want a map of settings`,
	} {
		j := Default(Crawl)
		err := Load(Crawl, write(t, text), &j)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "!!") || strings.Contains(err.Error(), "unmarshal") {
			t.Errorf("%q: %v; want %q", text, err, want)
		}
	}
}

// Check does not change what it checks, and Parse gives flags the last
// word over the config file.
func TestParse(t *testing.T) {
	p := write(t, "per_host: 4\ninclude: [a, b]\nscope: domain\n")
	j, rest, err := Parse(Crawl, []string{"--config", p, "--include", "c", "http://h/"})
	if err != nil {
		t.Fatal(err)
	}
	if j.Politeness.PerHost != 4 || len(j.Scope.Include) != 1 || j.Scope.Include[0] != "c" || len(rest) != 1 || !j.Fetch.DenyPrivate {
		t.Errorf("parsed %+v, %v", j, rest)
	}
	before := Default(Crawl)
	before.Scope.Include = []string{"x", "x"}
	after := before
	if err := after.Check(Crawl); err != nil || len(after.Scope.Include) != 2 {
		t.Errorf("Check: %v, %v", err, after.Scope.Include)
	}
	for _, args := range [][]string{{"--per-host", "0"}, {"--retries=-1"}, {"--layout", "x"}, {"--warc-cdx"}, {"--crawl", "n"}, {"--proxy", "ftp://h"}} {
		if _, _, err := Parse(Fetch, args); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
