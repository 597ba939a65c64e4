package links

import (
	"bytes"
	"io"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
)

// The shortcut for a page declared UTF-8 decodes as DetermineEncoding
// does: a UTF-16 byte order mark still wins, and invalid UTF-8 is still
// decoded (its bad bytes replaced).
func TestDecodedBytesShortcut(t *testing.T) {
	reference := func(contentType string, body []byte) []byte {
		if enc, name, _ := charset.DetermineEncoding(body[:min(len(body), 1024)], contentType); name != "utf-8" || !utf8.Valid(body) {
			if b, err := io.ReadAll(enc.NewDecoder().Reader(bytes.NewReader(body))); err == nil {
				return b
			}
		}
		return body
	}
	bodies := [][]byte{
		[]byte(`<a href="/é">x</a>`),
		[]byte("\xef\xbb\xbf<a href=/x>"),             // UTF-8 BOM
		[]byte("\xfe\xff\x00<\x00a\x00>"),             // UTF-16BE BOM
		[]byte("\xff\xfe<\x00a\x00>\x00"),             // UTF-16LE BOM
		[]byte("<a href=\"/\xe9\">latin-1 bytes</a>"), // not UTF-8
		{},
	}
	for _, ct := range []string{"text/html; charset=utf-8", "TEXT/HTML;CHARSET=UTF-8", "text/html", "text/html; charset=iso-8859-1"} {
		for _, b := range bodies {
			if got, want := decodedBytes(ct, b), reference(ct, b); !bytes.Equal(got, want) {
				t.Errorf("%q, %q: %q, want %q", ct, b, got, want)
			}
		}
	}
}
