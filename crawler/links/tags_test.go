package links

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// tokenizerScan is scan written on the golang.org/x/net/html tokenizer:
// the reference the tag walker is held to. It finds the links, building no tree: several times faster than parsing a document,
// with the same results, since which elements and attributes there are
// does not depend on how the parser would nest them.
func tokenizerScan(pageURL *url.URL, contentType string, body []byte, max int) ([]string, bool) {
	z := html.NewTokenizer(decoded(contentType, body))
	base := pageURL
	baseSeen := false
	frameset := false // <frame> counts only inside one, as the parser has it
	var refs []string
	more := false
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		name, hasAttr := z.TagName()
		if string(name) == "frameset" {
			frameset = true
		}
		if !hasAttr {
			continue
		}
		var want string
		switch string(name) {
		case "a", "area", "link":
			want = "href"
		case "frame":
			if !frameset {
				continue
			}
			want = "src"
		case "iframe":
			want = "src"
		case "base":
			if baseSeen {
				continue
			}
			want = "href"
		default:
			continue
		}
		var ref, rel []byte
		found := false
		for more := true; more; {
			var k, v []byte
			k, v, more = z.TagAttr()
			switch {
			case !found && string(k) == want:
				ref, found = v, true
			case rel == nil && string(k) == "rel":
				rel = v
			}
		}
		switch {
		case !found:
		case string(name) == "base":
			baseSeen = true
			if u, err := pageURL.Parse(strings.TrimSpace(string(ref))); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
				base = u
			}
		case string(name) == "link" && !relFollowed(string(rel)):
		default:
			refs = append(refs, string(ref))
			if max > 0 && len(refs) >= 4*max { // enough, even with repeats
				more = true
			}
		}
		if more {
			break
		}
	}
	links, cut := Truncate(resolveAll(base, refs), max)
	return links, more || cut
}

// tagCases are pages where a tag walker could part from the tokenizer.
var tagCases = []string{
	"<a href=x", "<a href='x'", "<a href=\"/x\">", "<a", "<", "</", "<a href=/y>z",
	"<script><!--<script>--></script><a href=/in></script><a href=/out>",
	"<script><!--<script></script><a href=/in2></script>--></script><a href=/out2>",
	"<script><!-- --!><a href=/s1></script><a href=/s2>",
	"<script></scriptx><a href=/s3></script ><a href=/s4>",
	"<script><!--</script><a href=/s5>", "<script><!-<a href=/s6></script><a href=/s7>",
	"<script><!--<scripx></script><a href=/s8>", "<script><!--<</script><a href=/s9>",
	"<script><!--<script>-->--></script><a href=/s10>", "<script><!--<script></scr</script><a href=/s11>",
	"<title></TITLE ><a href=/t>", "<style></style<a href=/st></style/><a href=/st2>",
	"<!--><a href=/c1>", "<!---><a href=/c2>", "<!-- --!><a href=/c3>", "<!-- --!-><a href=/c4> -->",
	"<!----!x><a href=/c5>-->", "<!-x><a href=/c6>", "<!DOCTYPE html><a href=/d>", "<!doctype", "<!>",
	"<?xml ?><a href=/pi>", "</ a href=/e1><a href=/e2>", "</a href='>'><a href=/e3>", "</><a href=/e4>",
	"<a href='>' href=/second>", "<a =href=/eq href=/ok>", "<a href/=x href=/sl>", "<a/href=/slash>",
	"<a href=&amp;x&amp;>", "<a href='/?a=1&amp;b=2&copy=3'>", "<a href='/&#x41;&lt;'>", "<a href='/\r\n\x00'>",
	"<A\tHREF\f=\n/ws>", "<a href = >", "<a href=>x", "<a href\x00=/nul href=/ok2>",
	"<link REL=NEXT href=/n><link href=/n2 rel><link rel='' rel=next href=/n3>",
	"<frameset/><frame src=/f>", "<base href=><base href=/b2><a href=x>", "<iframe src=/i></iframe x><a href=/j>",
	"<plaintext/><a href=/p>", "<noscript><a href=/ns></noscript><a href=/ns2>", "<xmp><a href=/x1></xmp><a href=/x2>",
	"<textarea/><a href=/ta></textarea><a href=/ta2>", "a<<a href=/lt>", "<1<a href=/num>",
	"<a href=\"/\u212a\"><a hre\u212af=/kelvin><a \u017frc=x>",
}

// The tag walker finds exactly what the tokenizer finds, in order.
func TestTagsMatchTokenizer(t *testing.T) {
	page, _ := url.Parse("http://h/dir/page")
	for _, body := range append(slices.Clone(linkCases), tagCases...) {
		for _, ct := range []string{"text/html", "text/html; charset=iso-8859-1"} {
			for _, max := range []int{0, 1} {
				want, wantMore := tokenizerScan(page, ct, []byte(body), max)
				got, more := scan(page, ct, []byte(body), max, nil)
				if !slices.Equal(got, want) || more != wantMore {
					t.Errorf("%q (%s, max %d):\n  tokenizer %q %v\n  tags      %q %v", body, ct, max, want, wantMore, got, more)
				}
			}
		}
	}
}

// Every start tag and attribute the tokenizer sees, the walker sees.
func TestTagsAttributes(t *testing.T) {
	for _, body := range append(slices.Clone(linkCases), tagCases...) {
		z := html.NewTokenizer(strings.NewReader(body))
		w := tags{b: []byte(body)}
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				break
			}
			if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
				continue
			}
			name, _ := z.TagName()
			if !w.next() {
				t.Fatalf("%q: tokenizer has <%s>, walker is done", body, name)
			}
			if got := strings.ToLower(string(w.b[w.name.start:w.name.end])); got != string(name) && !strings.ContainsRune(got, 0) {
				t.Fatalf("%q: tokenizer has <%s>, walker <%s>", body, name, got)
			}
			for more := true; more; {
				var k, v []byte
				k, v, more = z.TagAttr()
				if k == nil {
					break
				}
				if strings.ContainsRune(string(k), '\uFFFD') { // a NUL in the key: never one we look up
					continue
				}
				if got, ok := w.attr(string(k)); !ok || string(got) != string(v) {
					t.Fatalf("%q <%s>: tokenizer %s=%q, walker %q %v", body, name, k, v, got, ok)
				}
			}
		}
		if w.next() {
			t.Fatalf("%q: walker has <%s> after the tokenizer's last tag", body, w.b[w.name.start:w.name.end])
		}
	}
}

// FuzzTagsMatchTokenizer looks for pages where the walker and the
// tokenizer disagree (go test -fuzz FuzzTagsMatchTokenizer ./crawler/links/).
func FuzzTagsMatchTokenizer(f *testing.F) {
	for _, c := range append(slices.Clone(linkCases), tagCases...) {
		f.Add([]byte(c))
	}
	page, _ := url.Parse("http://h/dir/page")
	f.Fuzz(func(t *testing.T, body []byte) {
		want, wantMore := tokenizerScan(page, "text/html", body, 0)
		got, more := scan(page, "text/html", body, 0, nil)
		if !slices.Equal(got, want) || more != wantMore {
			t.Fatalf("tokenizer %q %v, tags %q %v", want, wantMore, got, more)
		}
	})
}

// A tag of a million attributes keeps only the few the scan looks up.
func TestTagsManyAttributes(t *testing.T) {
	body := "<a " + strings.Repeat("x y ", 500000) + "href=/last>"
	w := tags{b: []byte(body), only: []string{"href", "src", "rel"}}
	if !w.next() {
		t.Fatal("no tag")
	}
	if v, ok := w.attr("href"); !ok || string(v) != "/last" || len(w.attrs) != 1 {
		t.Fatalf("href %q %v, %d attributes kept", v, ok, len(w.attrs))
	}
}
