package main

import (
	"strings"
	"testing"
)

// parseListLine never panics; it yields a request, a skip, or an error.
func FuzzListLine(f *testing.F) {
	for _, s := range []string{"http://h/a", "  # comment", "", "ftp://x", "http://[::1", "\thttps://H/x#f \r", "\x00http://h/", `{"url":"http://h/","method":"POST","body":"x"}`, `{"url":1}`, `{"url":"http://h/","method":"G T"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		r, err := parseListLine(line)
		switch {
		case err != nil && r != nil:
			t.Fatalf("%q: both %+v and %v", line, r, err)
		case err == nil && r == nil:
			if s := strings.TrimSpace(line); s != "" && s[0] != '#' {
				t.Fatalf("%q skipped but is neither blank nor a comment", line)
			}
		case err == nil && !strings.HasPrefix(r.Request.URL, "http"):
			t.Fatalf("%q gave %+v", line, r)
		case err == nil:
			if c, cerr := r.Canonical(); cerr != nil || c.Request.URL != r.Request.URL {
				t.Fatalf("%q gave an invalid request %+v", line, r)
			}
		}
	})
}
