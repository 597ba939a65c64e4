package render_test

import (
	"strings"
	"testing"

	"github.com/trawl-dev/trawl/crawler/render"
)

func TestAuto(t *testing.T) {
	text := strings.Repeat("A paragraph of words that a reader reads. ", 10)
	for _, c := range []struct {
		name, html string
		want       bool
		why        string
	}{
		{"an app shell", `<html><body><div id="app"></div><script src="/app.js"></script></body></html>`, true, "mount point (#app)"},
		{"next.js", `<body><div id="__next"></div><script>boot()</script>` + text + `</body>`, true, "#__next"},
		{"angular", `<body><main ng-app></main><script src=a.js></script><p>` + text + `</p></body>`, true, "[ng-app]"},
		{"little text, a script", `<body><p>Loading…</p><script src="/app.js"></script></body>`, true, "bytes of text and 1 script"},
		{"a static page", `<body><h1>Title</h1><p>` + text + `</p></body>`, false, ""},
		{"static with analytics", `<body><p>` + text + `</p><script src="/ga.js"></script></body>`, false, ""},
		{"a filled mount point", `<body><div id="root"><p>` + text + `</p></div><script src="/app.js"></script></body>`, false, ""},
		{"no scripts at all", `<body><div id="app"></div></body>`, false, ""},
		{"JSON data is not code", `<body><div id="app"></div><script type="application/ld+json">{"a":1}</script><script></script></body>`, false, ""},
		{"text in scripts and styles is not text", `<body><style>` + text + `</style><script>var s = "` + text + `"</script></body>`, true, "0 bytes of text"},
		{"an empty inline script, then code", `<body><script></script><p>hi</p><script>run()</script></body>`, true, "2 bytes of text and 1 script"},
	} {
		got, why := render.Auto([]byte(c.html))
		if got != c.want || !strings.Contains(why, c.why) {
			t.Errorf("%s: Auto = %v, %q; want %v, with %q", c.name, got, why, c.want, c.why)
		}
	}
}

// Auto never fails on any input, and never renders a page without a
// script element.
func FuzzAuto(f *testing.F) {
	f.Add([]byte(`<div id="app"></div><script src=a.js></script>`))
	f.Add([]byte(`<script>x()</script><style>`))
	f.Add([]byte(`<p>text</p>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, why := render.Auto(body)
		if got && !strings.Contains(strings.ToLower(string(body)), "<script") {
			t.Fatalf("rendered a page without a script (%s): %q", why, body)
		}
		if got != (why != "") {
			t.Fatalf("Auto = %v with reason %q", got, why)
		}
	})
}
