package cookies

import (
	"bytes"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trawl-dev/trawl/internal/jobfile"
)

func TestJarSavedAndNetscape(t *testing.T) {
	f, err := jobfile.Open(filepath.Join(t.TempDir(), "j.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	j := New()
	shop, _ := url.Parse("https://shop.example.co.uk/cart")
	j.SetCookies(shop, []*http.Cookie{
		{Name: "sid", Value: "1", Path: "/", HttpOnly: true, Secure: true, MaxAge: 3600},
		{Name: "all", Value: "x", Domain: "co.uk"}, // a public suffix: refused
		{Name: "site", Value: "2", Domain: "example.co.uk", Path: "/"},
	})
	if err := f.Update(j.SaveTx); err != nil {
		t.Fatal(err)
	}
	// A new jar, as a resumed job opens it.
	k, err := Open(f, "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range k.Cookies(shop) {
		got[c.Name] = c.Value
	}
	if got["sid"] != "1" || got["site"] != "2" || got["all"] != "" {
		t.Errorf("resumed jar sends %v; want sid and site, not the public-suffix cookie", got)
	}
	other, _ := url.Parse("https://other.co.uk/")
	if cs := k.Cookies(other); len(cs) != 0 {
		t.Errorf("another site of the suffix gets %v", cs)
	}
	var txt bytes.Buffer
	if _, err := WriteNetscape(&txt, f); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(txt.String(), "#HttpOnly_shop.example.co.uk\tFALSE\t/\tTRUE\t") || !strings.Contains(txt.String(), ".example.co.uk\tTRUE\t/\tFALSE\t0\tsite\t2") {
		t.Errorf("cookies.txt:\n%s", txt.String())
	}
	l := New()
	if n, err := l.ReadNetscape(strings.NewReader(txt.String())); err != nil || n != 2 {
		t.Fatalf("read back %d cookies: %v", n, err)
	}
	if cs := l.Cookies(shop); len(cs) != 2 {
		t.Errorf("cookies read back from cookies.txt: %v", cs)
	}
	if _, err := l.ReadNetscape(strings.NewReader("bad line\n")); err == nil {
		t.Error("a bad cookies.txt line was accepted")
	}
}
