package links

import (
	"net/url"
	"slices"
	"testing"
)

func TestRequisites(t *testing.T) {
	page, _ := url.Parse("http://a.test/dir/page.html")
	html := `<!doctype html><html><head>
<link rel="stylesheet" href="/s/main.css"><link rel="shortcut icon" href="fav.ico">
<link rel="next" href="page2.html"><link rel=preload href="font.woff2"><link rel=modulepreload href="m.js">
<style>@import "print.css"; body { background: url('bg.png') } /* url(commented.png) */ .x{background:url(data:image/png;base64,AAAA)}</style>
<script src="app.js"></script></head><body style="background-image: url(body.jpg)">
<a href="other.html"><img src="a.jpg" srcset="a-2x.jpg 2x, a-3x.jpg 3x"></a>
<picture><source srcset="p.webp 1x, p2.webp 2x" type="image/webp"><img src="p.jpg"></picture>
<video src="v.mp4" poster="poster.jpg"><source src="v.webm"><track src="subs.vtt"></video>
<audio src="//cdn.test/a.mp3"></audio><object data="o.swf"></object><embed src="e.swf">
<input type=image src="btn.png"><input type=text src="no.png"><img src="a.jpg">
</body></html>`
	got := Requisites(page, "text/html", []byte(html))
	want := []string{
		"http://a.test/s/main.css", "http://a.test/dir/fav.ico", "http://a.test/dir/font.woff2", "http://a.test/dir/m.js",
		"http://a.test/dir/print.css", "http://a.test/dir/bg.png", "http://a.test/dir/app.js", "http://a.test/dir/body.jpg",
		"http://a.test/dir/a.jpg", "http://a.test/dir/a-2x.jpg", "http://a.test/dir/a-3x.jpg",
		"http://a.test/dir/p.webp", "http://a.test/dir/p2.webp", "http://a.test/dir/p.jpg",
		"http://a.test/dir/v.mp4", "http://a.test/dir/poster.jpg", "http://a.test/dir/v.webm", "http://a.test/dir/subs.vtt",
		"http://cdn.test/a.mp3", "http://a.test/dir/o.swf", "http://a.test/dir/e.swf", "http://a.test/dir/btn.png",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Requisites:\n got %q\nwant %q", got, want)
	}
	css, _ := url.Parse("http://a.test/s/main.css")
	got = CSSRequisites(css, []byte(`@import url("base.css"); @import 'x.css'; a{background:URL( "../i/bg.gif" )} b{src:url(f.woff)}`))
	want = []string{"http://a.test/s/x.css", "http://a.test/s/base.css", "http://a.test/i/bg.gif", "http://a.test/s/f.woff"}
	if !slices.Equal(got, want) {
		t.Errorf("CSSRequisites:\n got %q\nwant %q", got, want)
	}
}
