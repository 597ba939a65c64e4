package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/trawl-dev/trawl/internal/jobfile"
)

// An Item is one structured result extracted from a page. It is saved with
// its page, in the same transaction, so a resumed job neither loses nor
// repeats items.
//
// As JSON it is one flat object: "type", "url" and "fetched_at", then the
// fields by name.
type Item struct {
	Type      string         // the rule (item type) that made it
	URL       string         // the page it came from (its final URL)
	FetchedAt time.Time      // when the page was fetched
	Fields    map[string]any // field values: string, float64, bool, nil, or []any of them
	// WARC is where the page's response is archived (its "warc" in
	// JSON): set for the items of a job crawled with --warc as they are
	// read, and for items extracted from WARC files.
	WARC *WARCRef
}

// Reserved names an item's fields cannot take.
var reservedFields = map[string]bool{"type": true, "url": true, "fetched_at": true, "warc": true}

// IsReservedField reports whether name is kept for an item's own keys.
func IsReservedField(name string) bool { return reservedFields[name] }

// MarshalJSON writes the item as one flat object, fields in name order.
func (it *Item) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"type":`)
	writeJSON(&b, it.Type)
	b.WriteString(`,"url":`)
	writeJSON(&b, it.URL)
	b.WriteString(`,"fetched_at":`)
	writeJSON(&b, it.FetchedAt)
	if it.WARC != nil {
		b.WriteString(`,"warc":`)
		if err := writeJSON(&b, it.WARC); err != nil {
			return nil, err
		}
	}
	for _, name := range sortedKeys(it.Fields) {
		if reservedFields[name] {
			return nil, fmt.Errorf("item field %q: name is reserved", name)
		}
		b.WriteByte(',')
		writeJSON(&b, name)
		b.WriteByte(':')
		if err := writeJSON(&b, it.Fields[name]); err != nil {
			return nil, fmt.Errorf("item field %q: %w", name, err)
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (it *Item) UnmarshalJSON(data []byte) error {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	it.Type, _ = m["type"].(string)
	it.URL, _ = m["url"].(string)
	if s, ok := m["fetched_at"].(string); ok {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fmt.Errorf("item fetched_at: %w", err)
		}
		it.FetchedAt = t
	}
	if w, ok := m["warc"]; ok {
		data, _ := json.Marshal(w)
		it.WARC = new(WARCRef)
		if err := json.Unmarshal(data, it.WARC); err != nil {
			return fmt.Errorf("item warc: %w", err)
		}
	}
	for k := range reservedFields {
		delete(m, k)
	}
	it.Fields = m
	return nil
}

func writeJSON(b *bytes.Buffer, v any) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// itemKey is the key of item i of the record at recKey.
func itemKey(recKey []byte, i int) []byte {
	return binary.BigEndian.AppendUint32(bytes.Clone(recKey), uint32(i))
}

func putItems(b *bolt.Bucket, recKey []byte, items [][]byte) error {
	for i, data := range items {
		if err := b.Put(itemKey(recKey, i), data); err != nil {
			return err
		}
	}
	return nil
}

// Items calls fn for every item of the latest record of every URL, in the
// order the pages were saved, until fn returns an error. typ, when not
// empty, keeps only items of that type.
func (s *Store) Items(typ string, fn func(*Item) error) error {
	return s.file.View(func(tx *jobfile.Tx) error {
		items := tx.Bucket(jobfile.Items)
		if items == nil {
			return nil
		}
		c := items.Cursor()
		return eachLatest(tx, nil, func(key []byte, rec *Record) error {
			if rec.Items == 0 {
				return nil
			}
			for k, v := c.Seek(key); k != nil && bytes.HasPrefix(k, key) && len(k) == len(key)+4; k, v = c.Next() {
				it := new(Item)
				if err := json.Unmarshal(v, it); err != nil {
					return fmt.Errorf("store: item %x: %w", k, err)
				}
				if typ != "" && it.Type != typ {
					continue
				}
				it.WARC = rec.WARC // provenance: the archived bytes it came from
				if err := fn(it); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// ExtractFunc extracts the items of a stored page, as RewriteItems needs:
// the error, if any, is saved as the record's ExtractError.
type ExtractFunc func(rec *Record, body []byte) ([]Item, error)

// RewriteItems replaces every item in the job with those fn extracts from
// the stored pages, and each record's Items and ExtractError with fn's
// results. Pages are read and written in batches, fn running outside any
// transaction; an interrupted rewrite leaves some pages with their new
// items and the rest with none, and running it again completes it. It
// returns how many pages it passed to fn.
func (s *Store) RewriteItems(ctx context.Context, fn ExtractFunc) (int, error) {
	// Indexed first, so that each batch does not read the log again.
	if _, err := s.CatchUp(ctx); err != nil {
		return 0, err
	}
	err := s.file.Update(func(tx *jobfile.Tx) error {
		if _, err := tx.Recreate(jobfile.Items); err != nil {
			return err
		}
		// Marked until the last batch: an interrupted rewrite leaves the
		// items visibly incomplete.
		return tx.Bucket(jobfile.StoreMeta).Put(keyRewriting, []byte{1})
	})
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	var after []byte
	n := 0
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		pages, err := s.nextPages(after, 256)
		if err != nil {
			return n, err
		}
		if len(pages) == 0 {
			err := s.file.Update(func(tx *jobfile.Tx) error { return tx.Bucket(jobfile.StoreMeta).Delete(keyRewriting) })
			if err != nil {
				return n, fmt.Errorf("store: %w", err)
			}
			return n, nil
		}
		for _, p := range pages {
			done, err := s.extractPage(p, fn)
			n += done
			if err != nil {
				return n, err
			}
		}
		if err := s.file.Update(func(tx *jobfile.Tx) error { return rewriteTx(tx, pages) }); err != nil {
			return n, fmt.Errorf("store: %w", err)
		}
		after = pages[len(pages)-1].key
	}
}

// rewritten is a record whose items are being made again.
type rewritten struct {
	key   []byte
	rec   *Record
	data  []byte
	items [][]byte
}

// nextPages returns up to n latest records after the key after.
func (s *Store) nextPages(after []byte, n int) ([]*rewritten, error) {
	var pages []*rewritten
	err := s.file.View(func(tx *jobfile.Tx) error {
		return eachLatest(tx, after, func(key []byte, rec *Record) error {
			if len(pages) == n {
				return errStop
			}
			pages = append(pages, &rewritten{key: bytes.Clone(key), rec: rec})
			return nil
		})
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	return pages, nil
}

// extractPage runs fn over p's body and keeps its items and record; it
// returns 1 when fn ran.
func (s *Store) extractPage(p *rewritten, fn ExtractFunc) (int, error) {
	ran := 0
	if p.rec.Status < 200 || p.rec.Status > 299 || p.rec.SHA256 == "" {
		p.rec.Items, p.rec.ExtractError = 0, ""
	} else {
		body, err := s.Body(p.rec)
		if err != nil {
			return 0, err
		}
		items, xerr := fn(p.rec, body)
		ran = 1
		p.rec.Items, p.rec.ExtractError = len(items), ""
		if xerr != nil {
			p.rec.ExtractError = xerr.Error()
		}
		for i := range items {
			data, err := json.Marshal(&items[i])
			if err != nil {
				return ran, fmt.Errorf("store: item of %s: %w", p.rec.URL, err)
			}
			p.items = append(p.items, data)
		}
	}
	var err error
	if p.data, err = marshalRecord(p.rec); err != nil {
		return ran, fmt.Errorf("store: %w", err)
	}
	return ran, nil
}

// rewriteTx saves rewritten records and their items in place, with the
// tallies they change.
func rewriteTx(tx *jobfile.Tx, pages []*rewritten) error {
	recs, items := tx.Bucket(jobfile.Records), tx.Bucket(jobfile.Items)
	t := newTally() // extraction errors change
	for _, p := range pages {
		if v := recs.Get(p.key); v != nil {
			if old, err := decodeRecord(p.key, v); err == nil {
				t.add(old, -1)
				t.add(p.rec, 1)
			}
		}
		if err := recs.Put(p.key, recordValue(p.rec.body, p.data)); err != nil {
			return err
		}
		if err := putItems(items, p.key, p.items); err != nil {
			return err
		}
	}
	return t.apply(tx.Bucket(jobfile.StoreMeta))
}

var errStop = errors.New("stop")

var keyRewriting = []byte("items-rewriting")

// ItemsIncomplete reports whether a rewrite of the items (RewriteItems,
// "trawl extract") was interrupted: the job then holds the items of only
// some of its pages, until the rewrite is run again.
func (s *Store) ItemsIncomplete() (bool, error) {
	incomplete := false
	err := s.file.View(func(tx *jobfile.Tx) error {
		if meta := tx.Bucket(jobfile.StoreMeta); meta != nil {
			incomplete = meta.Get(keyRewriting) != nil
		}
		return nil
	})
	return incomplete, err
}
