package frontier

import (
	"strings"
	"testing"
)

// The shortcuts for simple links and for links to the page itself resolve
// them exactly as the parser does.
func FuzzSimpleResolve(f *testing.F) {
	for _, s := range [][2]string{
		{"http://h/a/b", "c"}, {"http://h/a/b", "../c/./d"}, {"https://h:8443/a/", "/x?y=1&z"}, {"http://h/a", "p.html#top"},
		{"http://h/a;jsessionid=1/b", "../c"}, {"http://h/%7Ea/b", "c"}, {"http://h/", ".."}, {"http://h/a/b", "./"},
		{"http://h/a/b?q", "?"}, {"http://h/a/b", "c?utm_source=x&k=v"}, {"http://h/a/b", "~u/..."},
		{"http://h/a", "http://127.0.0.1:8080/p/1?x=1#s"}, {"http://h/a", "https://g.example:443/x/../y"}, {"http://h/a", "http://0x1.h/"},
		{"http://h/a/b?q=1", "#s"}, {"http://h/a/b?q=1#t", ""}, {"http://H/%7Ea/./b;jsessionid=1", "#"}, {"data:text/plain,x", "#y"}, {"data:text/plain,x", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, base, ref string) {
		b, err := ParseBase(base)
		if err != nil {
			return
		}
		if _, ok := b.simple(ref); !ok && !strings.HasPrefix(ref, "#") && ref != "" {
			return
		}
		got, gerr := b.Resolve(ref)
		want, err := b.resolve(ref)
		if got != want || (gerr == nil) != (err == nil) {
			t.Fatalf("base %q ref %q: shortcut %q (%v), parser %q (%v)", base, ref, got, gerr, want, err)
		}
		if again, _ := b.Resolve(ref); again != got {
			t.Fatalf("base %q ref %q: %q, then %q", base, ref, got, again)
		}
	})
}

// A base taken apart without the parser has the origin and directory the
// parser gives it.
func FuzzSimpleBase(f *testing.F) {
	for _, s := range []string{"http://h/a/b", "https://h:8443/a/", "http://127.0.0.1:8080/p/1?x", "http://H/a", "http://h:80/",
		"http://1.2.3.04/", "http://0x7f.1/", "http://a.b.c.xn--pokxncvks/", "http://h/a/./b", "http://1.2.3/", "http://h:65536/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		origin, dir, ok := simpleBase(raw)
		if !ok {
			return
		}
		u, err := parser.Parse(raw)
		if err != nil {
			t.Fatalf("%q taken apart as %q %q, but the parser refuses it: %v", raw, origin, dir, err)
		}
		p := u.Pathname()
		if wo, wd := u.Scheme()+"://"+u.Host(), p[:strings.LastIndexByte(p, '/')+1]; wo != origin || wd != dir {
			t.Fatalf("%q: taken apart as %q %q, parser gives %q %q", raw, origin, dir, wo, wd)
		}
	})
}

// The shortcut for simple absolute URLs makes them canonical exactly as the
// parser does.
func FuzzSimpleCanonical(f *testing.F) {
	for _, s := range []string{"http://h/a/b", "https://h:8443/a/?x=1&y", "http://127.0.0.1:8080/p/1#s", "http://H/a", "http://h:80/",
		"http://h/a/./b/../c", "http://h/%7e", "http://h/a;jsessionid=1", "http://h/?utm_source=x&k=v", "http://h", "http://h?x", "HTTP://h/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, ok := simpleResolve("", "", raw)
		if !ok {
			return
		}
		u, err := parser.Parse(raw)
		if err != nil {
			t.Fatalf("%q made %q by the shortcut, but the parser refuses it: %v", raw, got, err)
		}
		if want, err := canonical(raw, u); err != nil || got != want {
			t.Fatalf("%q: shortcut %q, parser %q (%v)", raw, got, want, err)
		}
	})
}
