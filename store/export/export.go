// Package export writes what a job holds in the formats people read:
// records as JSON Lines (one job, or the merged jobs of a shared crawl),
// bodies as files (named as downloads are, see store/layout), items as
// JSON Lines or CSV.
package export

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/trawl-dev/trawl/store"
	"github.com/trawl-dev/trawl/store/layout"
)

// exportRecord is a Record as written by JSONL.
type exportRecord struct {
	*store.Record
	Body       *string `json:"body,omitempty"`
	BodyBase64 []byte  `json:"body_base64,omitempty"`
	Rendered   *string `json:"rendered,omitempty"` // the DOM after the page's scripts, with --render
}

// JSONL writes every record of s as one JSON object a line, with its body
// as "body" when it is UTF-8 text, else as "body_base64", and a rendered
// page's DOM as "rendered"; withBody false leaves bodies and DOMs out.
func JSONL(w io.Writer, s *store.Store, withBody bool) (int, error) {
	return jsonl(w, s, s.Each, withBody, nil)
}

// Versions writes records as JSONL does: with pass 0 every version of
// every URL (each pass's record), else each URL's record of that pass.
func Versions(w io.Writer, s *store.Store, pass int, withBody bool) (int, error) {
	each := func(fn func(*store.Record) error) error { return s.Versions(pass, fn) }
	return jsonl(w, s, each, withBody, nil)
}

func jsonl(w io.Writer, s *store.Store, each func(func(*store.Record) error) error, withBody bool, keep func(*store.Record) bool) (int, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	n := 0
	err := each(func(rec *store.Record) error {
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
		if withBody && rec.Render != nil && rec.Render.DOM != nil {
			dom, err := s.Blob(rec.Render.DOM)
			if err != nil {
				return err
			}
			str := string(dom)
			out.Rendered = &str
		}
		n++
		return enc.Encode(&out)
	})
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// MergedJSONL writes the records of several jobs (the job files of
// the processes of one shared crawl) as JSONL does, one record per
// request: where two jobs hold the same request (fetched again after a
// process died), the answered one, else the later, is written.
func MergedJSONL(w io.Writer, withBody bool, stores ...*store.Store) (int, error) {
	type pick struct {
		job int
		at  time.Time
		ok  bool
	}
	picks := make(map[string]pick)
	better := func(a, b pick) bool { return a.ok != b.ok && a.ok || a.ok == b.ok && a.at.After(b.at) }
	for i, s := range stores {
		err := s.Each(func(r *store.Record) error {
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
		m, err := jsonl(w, s, s.Each, withBody, func(r *store.Record) bool { return picks[r.ID()].job == i })
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Files writes the body of every successful record to a file under
// dir named by layout (see Dir), with clashes resolved so that no body is
// lost. It returns how many files it wrote.
func Files(s *store.Store, dir string, mode layout.Mode) (int, error) {
	d, err := layout.Open(dir, mode)
	if err != nil {
		return 0, err
	}
	defer os.Remove(filepath.Join(d.Root(), layout.PartialDir))
	n := 0
	err = s.Each(func(rec *store.Record) error {
		if rec.Error != "" || rec.SHA256 == "" || rec.Status < 200 || rec.Status > 299 {
			return nil
		}
		body, err := s.Body(rec)
		if err != nil {
			return err
		}
		key := rec.ID()
		if _, err := d.WriteFile(key, d.Name(key, rec.URL, ""), body); err != nil {
			return err
		}
		n++
		return nil
	})
	return n, err
}

// Items writes the items of s items as JSON Lines, one flat object each, and returns
// how many it wrote. typ, when not empty, keeps one item type.
func Items(w io.Writer, s *store.Store, typ string) (int, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	n := 0
	err := s.Items(typ, func(it *store.Item) error {
		data, err := it.MarshalJSON()
		if err != nil {
			return err
		}
		n++
		bw.Write(data)
		return bw.WriteByte('\n')
	})
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// CSV writes the items of one type as CSV: a header row of type, url,
// fetched_at and the field names in name order, then a row an item. Lists
// and other non-scalar values are written as JSON; missing ones are empty.
func CSV(w io.Writer, s *store.Store, typ string) (int, error) {
	names := map[string]bool{}
	err := s.Items(typ, func(it *store.Item) error {
		for k := range it.Fields {
			names[k] = true
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	cols := slices.Sorted(maps.Keys(names))
	cw := csv.NewWriter(w)
	if err := cw.Write(append([]string{"type", "url", "fetched_at"}, cols...)); err != nil {
		return 0, err
	}
	n := 0
	row := make([]string, 3+len(cols))
	err = s.Items(typ, func(it *store.Item) error {
		row[0], row[1], row[2] = it.Type, it.URL, it.FetchedAt.Format(time.RFC3339)
		for i, c := range cols {
			row[3+i] = csvValue(it.Fields[c])
		}
		n++
		return cw.Write(row)
	})
	if err != nil {
		return n, err
	}
	cw.Flush()
	return n, cw.Error()
}

func csvValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	default:
		data, _ := json.Marshal(v)
		return string(data)
	}
}
