package main

import (
	"strings"
	"testing"
)

// parseListLine never panics; it yields a URL, a skip, or an error.
func FuzzListLine(f *testing.F) {
	for _, s := range []string{"http://h/a", "  # comment", "", "ftp://x", "http://[::1", "\thttps://H/x#f \r", "\x00http://h/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		u, err := parseListLine(line)
		switch {
		case err != nil && u != "":
			t.Fatalf("%q: both %q and %v", line, u, err)
		case err == nil && u == "":
			if s := strings.TrimSpace(line); s != "" && s[0] != '#' {
				t.Fatalf("%q skipped but is neither blank nor a comment", line)
			}
		case err == nil && !strings.HasPrefix(u, "http"):
			t.Fatalf("%q gave %q", line, u)
		}
	})
}
