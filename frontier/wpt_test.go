package frontier_test

import (
	"encoding/json"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/trawl-dev/trawl/frontier"
)

type wptCase struct {
	Input   string  `json:"input"`
	Base    *string `json:"base"`
	Href    string  `json:"href"`
	Failure bool    `json:"failure"`
}

// wptDeviations are the WHATWG cases trawl answers otherwise, and why.
// Each must still disagree, so that the list stays true.
var wptDeviations = map[string]string{
	// The parser trawl uses (nlnwa/whatwg-url) runs the IDNA step of an
	// earlier edition of the standard, which refuses a host label that
	// starts "xn--" but is not valid punycode; the current edition lets it
	// through unchanged. Such a host cannot be a registered domain, so the
	// link is dropped instead of fetched.
	"http://a.b.c.xn--pokxncvks":  "invalid punycode label refused",
	"http://10.0.0.xn--pokxncvks": "invalid punycode label refused",
	"http://a.b.c.XN--pokxncvks":  "invalid punycode label refused",
	"http://a.b.c.Xn--pokxncvks":  "invalid punycode label refused",
	"http://10.0.0.XN--pokxncvks": "invalid punycode label refused",
	"http://10.0.0.xN--pokxncvks": "invalid punycode label refused",
	"https://xn--/":               "invalid punycode label refused",
	// Browsers accept these punctuation marks in a host name; no DNS name
	// holds them, and an HTTP client cannot ask for one (Go's refuses), so
	// trawl refuses the URL instead of failing on it later.
	"http://!\"$&'()*+,-.;=_`{}~/": "host name of punctuation refused",
}

// TestWHATWG runs the http(s) cases of web-platform-tests' urltestdata.json:
// trawl must resolve each as a browser does (then make it canonical), and
// refuse what a browser refuses or what is not http(s).
func TestWHATWG(t *testing.T) {
	data, err := os.ReadFile("testdata/wpt_urltestdata_http.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []wptCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	agree := 0
	var report []string
	for _, c := range cases {
		got, gerr := resolveCase(c)
		want, wantOK := expected(c)
		ok := (gerr != nil) == !wantOK && (!wantOK || got == want)
		key := c.Input
		if c.Base != nil {
			key += " @ " + *c.Base
		}
		_, listed := wptDeviations[key]
		switch {
		case ok && listed:
			t.Errorf("%q agrees but is listed as a deviation", key)
		case ok:
			agree++
		case !listed:
			report = append(report, strings.Join([]string{key, "got " + got + " " + errString(gerr), "want " + want}, "\n\t"))
		}
	}
	pct := 100 * float64(agree) / float64(len(cases))
	t.Logf("%d of %d http(s) cases agree (%.1f%%), %d documented deviations", agree, len(cases), pct, len(cases)-agree-len(report))
	if n := len(cases) - agree - len(report); n != len(wptDeviations) {
		t.Errorf("%d deviations met, %d listed", n, len(wptDeviations))
	}
	for _, r := range report {
		t.Errorf("undocumented disagreement: %s", r)
	}
	if pct < 97 {
		t.Errorf("%.1f%% agree, want ≥ 97%%", pct)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return "(" + err.Error() + ")"
}

// resolveCase resolves the case's input against its base, as a link on a
// page at base.
func resolveCase(c wptCase) (string, error) {
	if c.Base == nil {
		return frontier.Canonical(c.Input)
	}
	b, err := url.Parse(*c.Base)
	if err != nil {
		return "", err
	}
	return frontier.Resolve(b, c.Input)
}

// expected is the canonical form of the case's result, and whether trawl
// should accept it at all (an http(s) URL).
func expected(c wptCase) (string, bool) {
	if c.Failure || !(strings.HasPrefix(c.Href, "http:") || strings.HasPrefix(c.Href, "https:")) {
		return "", false
	}
	want, err := frontier.Canonical(c.Href)
	if err != nil { // a URL browsers accept that trawl cannot hold: a disagreement
		return "(refused by trawl: " + err.Error() + ")", true
	}
	return want, true
}
