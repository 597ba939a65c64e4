package links

import (
	"net/url"
	"slices"
	"testing"
)

var linkCases = []string{
	`<base href="http://o/"><a href="x">x</a><a href=y><area href="/z"><iframe src="//c/d">`,
	`<a href="/before">b</a><base href="http://o/sub/"><a href="after">a</a>`,
	`<html><body><base href="/first/"><base href="/second/"><a href=x>`,
	`<script>var s = '<a href="/in-script">';</script><a href="/out">`,
	`<noscript><a href="/in-noscript"></a></noscript><template><a href="/in-template"></a></template>`,
	`<!-- <a href="/in-comment"> --><![CDATA[<a href="/cdata">]]><a href=/after-comment>`,
	`<svg><a href="/svg-link"><text>x</text></a></svg><math><a href="/math"></a></math>`,
	`<A HREF="/upper" HREF="/second">x</A><a href="/dup" href="/dup2">`,
	`<table><a href="/in-table"><tr><td><a href=/cell></table>`,
	`<link rel="next" href="/n"><link rel=stylesheet href=/s.css><link rel="Alternate x" href=/alt>`,
	`<a href="/a b/ü?q=ä#frag">u</a><a href="mailto:x"><a href="javascript:1"><a href="http://[::1">`,
	`<textarea><a href="/in-textarea"></textarea><title><a href="/in-title"></title><a href=/ok>`,
	`<frameset><frame src="/f1"><frame src=/f2></frameset>`,
	"<meta charset=shift_jis><a href=\"/\x82\xa0\">",
	`<p><a href=/p1><div><a href='/p2'>y<table><tr><td><a href=/p3 class=z>z`,
	`<plaintext><a href="/after-plaintext">`,
	`<a href="/x">one<a href="/x">two</a>`,
	`<select><a href="/in-select"></select><iframe src="/i"><a href="/in-iframe"></iframe>`,
	`<base target=_blank><base href="http://other/"><a href=q>`,
	`<a href = " /spaced " >`,
}

// The tokenizer finds the same links as a query on the parsed document.
func TestScanLinksMatchesDOM(t *testing.T) {
	page, _ := url.Parse("http://h/dir/page")
	for _, body := range linkCases {
		for _, ct := range []string{"text/html", "text/html; charset=iso-8859-1"} {
			var dom []string
			if doc := Parse(ct, []byte(body)); doc != nil {
				dom = In(doc.Selection, Base(doc, page))
			}
			scan := scanAll(page, ct, []byte(body))
			slices.Sort(dom)
			slices.Sort(scan)
			if !slices.Equal(dom, scan) {
				t.Errorf("%q (%s):\n  document %q\n  scanner  %q", body, ct, dom, scan)
			}
		}
	}
}

// FuzzScanLinksMatchesDOM looks for pages where the two disagree (run by
// hand: go test -fuzz FuzzScanLinksMatchesDOM ./crawler/).
func FuzzScanLinksMatchesDOM(f *testing.F) {
	for _, c := range linkCases {
		f.Add([]byte(c))
	}
	page, _ := url.Parse("http://h/dir/page")
	f.Fuzz(func(t *testing.T, body []byte) {
		var dom []string
		if doc := Parse("text/html", body); doc != nil {
			dom = In(doc.Selection, Base(doc, page))
		}
		scan := scanAll(page, "text/html", body)
		slices.Sort(dom)
		slices.Sort(scan)
		if !slices.Equal(dom, scan) {
			t.Fatalf("document %q, scanner %q", dom, scan)
		}
	})
}

func scanAll(pageURL *url.URL, contentType string, body []byte) []string {
	links, _ := scan(pageURL, contentType, body, 0, nil)
	return links
}
