package export

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"

	"github.com/trawl-dev/trawl/store"
)

// A ChangeLine is one line of the change feed: what a pass found for one
// URL.
type ChangeLine struct {
	URL            string         `json:"url"`
	Change         store.Change   `json:"change"`
	Pass           int            `json:"pass"`
	Status         int            `json:"status"` // as the server answered: 304 for a revisit it found not modified
	SHA256         string         `json:"sha256"`
	PreviousSHA256 string         `json:"previous_sha256"`
	FetchedAt      string         `json:"fetched_at"`
	WARC           *store.WARCRef `json:"warc,omitempty"`
}

// Change returns r's line of the change feed.
func Change(r *store.Record) ChangeLine {
	l := ChangeLine{URL: r.URL, Change: r.Kind(), Pass: r.PassOf(), Status: r.Status, SHA256: r.SHA256,
		PreviousSHA256: r.PreviousSHA256, FetchedAt: r.FetchedAt.Format("2006-01-02T15:04:05.000Z07:00"), WARC: r.WARC}
	if r.NotModified {
		l.Status = http.StatusNotModified
	}
	if l.Change == store.ChangeUnchanged {
		l.PreviousSHA256 = r.SHA256
	}
	return l
}

// Changes writes the change feed of pass (see Store.Versions): one JSON
// object a line for each URL the pass visited. It returns how many lines
// it wrote.
func Changes(w io.Writer, s *store.Store, pass int) (int, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	n := 0
	err := s.Versions(pass, func(r *store.Record) error {
		n++
		return enc.Encode(Change(r))
	})
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// An ItemChange is one line of the items' change feed: what a pass found
// for one item, known by its type and key.
type ItemChange struct {
	Item   string       `json:"item"` // its type
	Key    string       `json:"key"`  // its key field's value (see rules.Rule.Key)
	Change store.Change `json:"change"`
	Pass   int          `json:"pass"`
	URL    string       `json:"url"` // the page it was found on (for a gone item, last found on)
	// Changed names the fields whose values differ from the pass before.
	Changed []string       `json:"changed,omitempty"`
	Fields  map[string]any `json:"fields"`
}

// ItemChanges writes the items' change feed of pass: each item of a type
// keys names (type → key field), compared by its key with the items of
// the pass before: new, changed (with the fields that changed), unchanged,
// or gone (found in the pass before, not in this one). Items without
// their key field are left out. It returns how many lines it wrote.
func ItemChanges(w io.Writer, s *store.Store, pass int, keys map[string]string) (int, error) {
	before, err := keyedItems(s, pass-1, keys)
	if err != nil {
		return 0, err
	}
	now, err := keyedItems(s, pass, keys)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	n := 0
	for _, k := range now.order {
		it := now.items[k]
		c := ItemChange{Item: it.Type, Key: k.key, Change: store.ChangeNew, Pass: pass, URL: it.URL, Fields: it.Fields}
		if old, ok := before.items[k]; ok {
			c.Change, c.Changed = store.ChangeUnchanged, changedFields(old.Fields, it.Fields)
			if len(c.Changed) > 0 {
				c.Change = store.ChangeChanged
			}
		}
		if err := enc.Encode(&c); err != nil {
			return n, err
		}
		n++
	}
	for _, k := range before.order {
		if _, ok := now.items[k]; !ok {
			it := before.items[k]
			if err := enc.Encode(&ItemChange{Item: it.Type, Key: k.key, Change: store.ChangeGone, Pass: pass, URL: it.URL, Fields: it.Fields}); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, bw.Flush()
}

type itemKey struct{ typ, key string }

// keyed is a pass's items by type and key, in the order they were saved.
type keyed struct {
	items map[itemKey]store.Item
	order []itemKey
}

// keyedItems returns the items of pass (none for pass 0) of the types
// keys names.
func keyedItems(s *store.Store, pass int, keys map[string]string) (keyed, error) {
	k := keyed{items: map[itemKey]store.Item{}}
	if pass < 1 {
		return k, nil
	}
	err := s.Versions(pass, func(r *store.Record) error {
		items, err := s.ItemsOf(r)
		for _, it := range items {
			field, ok := keys[it.Type]
			v, has := it.Fields[field]
			if !ok || !has || v == nil {
				continue
			}
			key := itemKey{it.Type, fmt.Sprint(v)}
			if _, dup := k.items[key]; !dup {
				k.order = append(k.order, key)
			}
			k.items[key] = it
		}
		return err
	})
	return k, err
}

// changedFields names the fields whose values differ between a and b.
func changedFields(a, b map[string]any) []string {
	var out []string
	for name := range a {
		if _, ok := b[name]; !ok {
			out = append(out, name)
		}
	}
	for name, v := range b {
		if !reflect.DeepEqual(a[name], v) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
