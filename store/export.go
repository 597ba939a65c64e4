package store

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"
)

// exportRecord is a Record as written by ExportJSONL.
type exportRecord struct {
	*Record
	Body       *string `json:"body,omitempty"`
	BodyBase64 []byte  `json:"body_base64,omitempty"`
}

// ExportJSONL writes every record as one JSON object a line, with its body
// as "body" when it is UTF-8 text, else as "body_base64"; withBody false
// leaves bodies out.
func (s *Store) ExportJSONL(w io.Writer, withBody bool) (int, error) {
	return s.exportJSONL(w, withBody, nil)
}

func (s *Store) exportJSONL(w io.Writer, withBody bool, keep func(*Record) bool) (int, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	n := 0
	err := s.Each(func(rec *Record) error {
		if keep != nil && !keep(rec) {
			return nil
		}
		out := exportRecord{Record: rec}
		if withBody && rec.SHA256 != "" {
			body, err := s.Body(rec)
			if err != nil {
				return err
			}
			if utf8.Valid(body) {
				str := string(body)
				out.Body = &str
			} else {
				out.BodyBase64 = body
			}
		}
		n++
		return enc.Encode(&out)
	})
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// ExportMergedJSONL writes the records of several jobs (the job files of
// the processes of one shared crawl) as ExportJSONL does, one record per
// request: where two jobs hold the same request (fetched again after a
// process died), the answered one, else the later, is written.
func ExportMergedJSONL(w io.Writer, withBody bool, stores ...*Store) (int, error) {
	type pick struct {
		job int
		at  time.Time
		ok  bool
	}
	picks := make(map[string]pick)
	better := func(a, b pick) bool { return a.ok != b.ok && a.ok || a.ok == b.ok && a.at.After(b.at) }
	for i, s := range stores {
		err := s.Each(func(r *Record) error {
			p := pick{i, r.FetchedAt, r.Status != 0}
			if old, seen := picks[r.ID()]; !seen || better(p, old) {
				picks[r.ID()] = p
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	n := 0
	for i, s := range stores {
		m, err := s.exportJSONL(w, withBody, func(r *Record) bool { return picks[r.ID()].job == i })
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// ExportFiles writes the body of every successful record to a file under
// dir named by layout (see Dir), with clashes resolved so that no body is
// lost. It returns how many files it wrote.
func (s *Store) ExportFiles(dir, layout string) (int, error) {
	d, err := OpenDir(dir, layout)
	if err != nil {
		return 0, err
	}
	defer os.Remove(filepath.Join(d.Root(), PartialDir))
	n := 0
	err = s.Each(func(rec *Record) error {
		if rec.Error != "" || rec.SHA256 == "" || rec.Status < 200 || rec.Status > 299 {
			return nil
		}
		body, err := s.Body(rec)
		if err != nil {
			return err
		}
		key := string(rec.key())
		if _, err := d.WriteFile(key, d.Name(key, rec.URL, ""), body); err != nil {
			return err
		}
		n++
		return nil
	})
	return n, err
}

// maxSegment is the longest file name FileName makes, below the 255 bytes
// most file systems allow.
const maxSegment = 200

// FileName maps a URL to a relative file path: host, then the path
// segments, with "index.html" for a directory and the query folded into the
// last name after '@'. Every segment is decoded and made safe: no "." or
// "..", no separators, NUL or control bytes, no Windows-reserved names, and
// at most 200 bytes (longer ones end in a hash). The result never leaves
// the directory it is joined to.
func FileName(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return filepath.Join("_invalid", safeSegment(rawURL))
	}
	parts := []string{safeSegment(u.Host)}
	segs := strings.Split(u.EscapedPath(), "/")
	last := segs[len(segs)-1]
	for _, seg := range segs[:len(segs)-1] {
		if seg == "" {
			continue
		}
		parts = append(parts, safeSegment(unescape(seg)))
	}
	name := unescape(last)
	if name == "" {
		name = "index.html"
	}
	if u.RawQuery != "" {
		name += "@" + unescape(u.RawQuery)
	}
	parts = append(parts, safeSegment(name))
	return filepath.Join(parts...)
}

func unescape(s string) string {
	if d, err := url.PathUnescape(s); err == nil {
		return d
	}
	return s
}

var windowsReserved = map[string]bool{"CON": true, "PRN": true, "AUX": true, "NUL": true,
	"COM1": true, "COM2": true, "COM3": true, "COM4": true, "COM5": true, "COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true, "LPT5": true, "LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true}

// safeSegment makes s usable as one file name.
func safeSegment(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
			b.WriteByte('_')
		case strings.ContainsRune(`/\:*?"<>|`, r):
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	out := b.String()
	switch {
	case out == "" || out == "." || out == "..":
		out = "_" + out
	case windowsReserved[strings.ToUpper(strings.TrimRight(strings.SplitN(out, ".", 2)[0], " "))]:
		out = "_" + out
	}
	if strings.HasSuffix(out, ".") || strings.HasSuffix(out, " ") {
		out += "_" // Windows drops trailing dots and spaces
	}
	if len(out) > maxSegment {
		sum := sha256.Sum256([]byte(s))
		cut := maxSegment - 17
		for cut > 0 && !utf8.RuneStart(out[cut]) {
			cut--
		}
		out = out[:cut] + "~" + hex.EncodeToString(sum[:8])
	}
	return out
}

// Summary is a job's overall counts, as "trawl stats" prints them.
type Summary struct {
	Records  int
	Bytes    int64
	ByStatus map[int]int  // records of fetched URLs, by status (0: no answer)
	Skipped  map[Skip]int // records of URLs not fetched on purpose, by why
	Hosts    map[string]int
	Errors   map[string]int
	Attempts int
	First    string // RFC 3339 time of the earliest fetch
	Last     string // RFC 3339 time of the latest fetch
	Span     float64

	Failed   int       // records that Failed
	Failures []*Record // the first 20 of them

	Items         map[string]int // items by type
	ExtractErrors map[string]int // pages whose extraction failed, by error
}

// Summarize reads every record and counts them.
func (s *Store) Summarize() (*Summary, error) {
	if sum, ok, err := s.summaryFromTallies(); ok || err != nil {
		return sum, err
	}
	return s.scanSummary()
}

// scanSummary makes the Summary by reading every record.
func (s *Store) scanSummary() (*Summary, error) {
	sum := &Summary{ByStatus: map[int]int{}, Skipped: map[Skip]int{}, Hosts: map[string]int{}, Errors: map[string]int{},
		Items: map[string]int{}, ExtractErrors: map[string]int{}}
	var first, last = "", ""
	var firstT, lastT int64
	err := s.Each(func(r *Record) error {
		sum.Records++
		sum.Bytes += r.Length
		if r.Skipped != "" {
			sum.Skipped[r.Skipped]++
		} else {
			sum.ByStatus[r.Status]++
		}
		sum.Attempts += r.Attempts
		if u, err := url.Parse(r.URL); err == nil {
			sum.Hosts[u.Host]++
		}
		if r.Error != "" {
			sum.Errors[ErrorKind(r.Error)]++
		}
		if r.Failed() {
			sum.Failed++
			if len(sum.Failures) < 20 {
				sum.Failures = append(sum.Failures, r)
			}
		}
		if r.ExtractError != "" {
			sum.ExtractErrors[ErrorKind(r.ExtractError)]++
		}
		t := r.FetchedAt.UnixNano()
		if first == "" || t < firstT {
			first, firstT = r.FetchedAt.Format("2006-01-02T15:04:05Z07:00"), t
		}
		if last == "" || t > lastT {
			last, lastT = r.FetchedAt.Format("2006-01-02T15:04:05Z07:00"), t
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	err = s.Items("", func(it *Item) error {
		sum.Items[it.Type]++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	sum.First, sum.Last = first, last
	sum.Span = float64(lastT-firstT) / 1e9
	return sum, nil
}

// ErrorKind shortens an error message to a key for counting errors: its
// first 60 bytes, cut on a rune boundary.
func ErrorKind(msg string) string {
	n := 60
	if len(msg) <= n {
		return msg
	}
	for n > 0 && !utf8.RuneStart(msg[n]) {
		n--
	}
	return msg[:n]
}
