package store

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// marshalRecord returns r as encoding/json writes it, byte for byte
// (FuzzRecordJSON holds it to that), without reflection: a crawl saves
// thousands of records a second, and json.Marshal took a tenth of the work
// of saving one. A record with a request spec, a render, or a time json.Marshal
// refuses, goes to json.Marshal.
func marshalRecord(r *Record) ([]byte, error) {
	if len(r.Request) > 0 || r.Render != nil || badYear(r.FetchedAt) || r.WARC != nil && (badYear(r.WARC.Date) || r.WARC.Of != nil && badYear(r.WARC.Of.Date)) {
		return json.Marshal(r)
	}
	b := make([]byte, 0, 512)
	b = append(b, `{"url":`...)
	b = appendString(b, r.URL)
	b = append(b, `,"final_url":`...)
	b = appendString(b, r.FinalURL)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, `,"depth":`...)
	b = strconv.AppendInt(b, int64(r.Depth), 10)
	b = append(b, `,"content_type":`...)
	b = appendString(b, r.ContentType)
	b = append(b, `,"length":`...)
	b = strconv.AppendInt(b, r.Length, 10)
	b = append(b, `,"sha256":`...)
	b = appendString(b, r.SHA256)
	b = append(b, `,"attempts":`...)
	b = strconv.AppendInt(b, int64(r.Attempts), 10)
	b = append(b, `,"error":`...)
	b = appendString(b, r.Error)
	if r.ErrorKind != "" {
		b = append(b, `,"error_kind":`...)
		b = appendString(b, r.ErrorKind)
	}
	if r.Skipped != "" {
		b = append(b, `,"skipped":`...)
		b = appendString(b, string(r.Skipped))
	}
	b = append(b, `,"fetched_at":"`...)
	b = r.FetchedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","duration_ms":`...)
	b = strconv.AppendInt(b, r.DurationMS, 10)
	b = append(b, `,"headers":`...)
	b = appendHeader(b, r.Header)
	if r.File != "" {
		b = append(b, `,"file":`...)
		b = appendString(b, r.File)
	}
	if r.Items != 0 {
		b = append(b, `,"items":`...)
		b = strconv.AppendInt(b, int64(r.Items), 10)
	}
	if r.LinksTruncated {
		b = append(b, `,"links_truncated":true`...)
	}
	if r.ExtractError != "" {
		b = append(b, `,"extract_error":`...)
		b = appendString(b, r.ExtractError)
	}
	if r.Lastmod != "" {
		b = append(b, `,"lastmod":`...)
		b = appendString(b, r.Lastmod)
	}
	return append(appendVersion(b, r), '}'), nil
}

// appendVersion appends r's fields of a later pass and its WARC record.
func appendVersion(b []byte, r *Record) []byte {
	if r.Pass != 0 {
		b = append(b, `,"pass":`...)
		b = strconv.AppendInt(b, int64(r.Pass), 10)
	}
	if r.Change != "" {
		b = append(b, `,"change":`...)
		b = appendString(b, string(r.Change))
	}
	if r.PreviousSHA256 != "" {
		b = append(b, `,"previous_sha256":`...)
		b = appendString(b, r.PreviousSHA256)
	}
	if r.NotModified {
		b = append(b, `,"not_modified":true`...)
	}
	if len(r.Vary) > 0 { // most servers send Vary: Accept-Encoding
		b = append(b, `,"vary":`...)
		b = appendStrings(b, r.Vary)
	}
	if r.WARC != nil {
		w := r.WARC
		b = append(b, `,"warc":{"file":`...)
		b = appendString(b, w.File)
		b = append(b, `,"offset":`...)
		b = strconv.AppendInt(b, w.Offset, 10)
		b = append(b, `,"id":`...)
		b = appendString(b, w.ID)
		b = append(b, `,"digest":`...)
		b = appendString(b, w.Digest)
		b = append(b, `,"date":"`...)
		b = w.Date.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
		if w.Revisit {
			b = append(b, `,"revisit":true`...)
		}
		if o := w.Of; o != nil { // every revisit of a later pass
			b = append(b, `,"of":{"uri":`...)
			b = appendString(b, o.URI)
			b = append(b, `,"id":`...)
			b = appendString(b, o.ID)
			b = append(b, `,"date":"`...)
			b = o.Date.AppendFormat(b, time.RFC3339Nano)
			b = append(b, `"}`...)
		}
		b = append(b, '}')
	}
	return b
}

// badYear reports a time json.Marshal refuses.
func badYear(t time.Time) bool { return t.Year() < 0 || t.Year() > 9999 }

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaped as encoding/json
// escapes it: HTML's <, > and &, U+2028 and U+2029, control characters,
// and invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendStrings appends m as encoding/json writes a map of strings: keys
// in order.
func appendStrings(b []byte, m map[string]string) []byte {
	b = append(b, '{')
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, m[k])
	}
	return append(b, '}')
}

// appendHeader appends h as encoding/json writes an http.Header: keys in
// order, each with its list of values.
func appendHeader(b []byte, h http.Header) []byte {
	if h == nil {
		return append(b, "null"...)
	}
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		vs := h[k]
		if vs == nil {
			b = append(b, "null"...)
			continue
		}
		b = append(b, '[')
		for j, v := range vs {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendString(b, v)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}
