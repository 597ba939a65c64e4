package store

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// recordOf builds a record with every field set from the fuzzer's input.
func recordOf(s, t string, n int64, flags uint8) *Record {
	r := &Record{URL: s, FinalURL: t, Status: int(n % 1000), Depth: int(n >> 3), ContentType: t + s, Length: n,
		SHA256: s, Attempts: int(flags), Error: t, FetchedAt: time.Unix(n%(1<<34), n%1e9).In(time.FixedZone(s, int(n%86400))),
		DurationMS: -n, Header: http.Header{s: {t, s}, t: nil, "X-Empty": {}}}
	if flags&1 != 0 {
		r.Skipped, r.File, r.Items, r.LinksTruncated = Skip(s), t, int(n), true
	}
	if flags&2 != 0 {
		r.ExtractError, r.Lastmod = s, t
	}
	if flags&4 != 0 {
		r.Header = nil
	}
	if flags&8 != 0 {
		r.Request = json.RawMessage(`{"method": "POST"}`)
	}
	if flags&16 != 0 {
		r.Pass, r.Change, r.PreviousSHA256, r.NotModified = int(n%7), Change(s), t, true
		r.WARC = &WARCRef{File: s, Offset: n, ID: t, Digest: s, Date: r.FetchedAt, Revisit: flags&32 != 0}
	}
	if flags&64 != 0 {
		r.Vary = map[string]string{s: t}
	}
	if r.WARC != nil && flags&64 != 0 {
		r.WARC.Of = &WARCOrigin{URI: s, ID: t, Date: r.FetchedAt}
	}
	return r
}

func checkRecordJSON(t *testing.T, r *Record) {
	t.Helper()
	want, werr := json.Marshal(r)
	got, gerr := marshalRecord(r)
	if (werr != nil) != (gerr != nil) || !bytes.Equal(got, want) {
		t.Fatalf("marshalRecord:\n%s, %v\njson.Marshal:\n%s, %v", got, gerr, want, werr)
	}
}

func TestRecordJSON(t *testing.T) {
	for _, s := range []string{"", "http://h.test/a?b=<c>&d", "\x00\x01\b\f\n\r\t\x1f\x7f\"\\", "\xff\xfe bad \xc3", "\u2028\u2029 é 日本 🎉",
		"</script>", "a\u00a0b"} {
		for flags := range uint8(128) {
			checkRecordJSON(t, recordOf(s, "text/html; charset=utf-8", 123456789, flags))
		}
	}
	checkRecordJSON(t, &Record{})
	checkRecordJSON(t, &Record{URL: "x", FetchedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
}

func FuzzRecordJSON(f *testing.F) {
	f.Add("http://h.test/", "text/html", int64(200), uint8(0))
	f.Add("\xff<\u2028>", "\x00", int64(-1), uint8(15))
	f.Fuzz(func(t *testing.T, s, u string, n int64, flags uint8) {
		checkRecordJSON(t, recordOf(s, u, n, flags))
	})
}
