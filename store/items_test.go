package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/store"
	"github.com/trawl-dev/trawl/store/export"
)

func putPage(t *testing.T, st *store.Store, url, body string, items ...store.Item) {
	t.Helper()
	p, err := st.NewPage(store.Record{URL: url, FinalURL: url, Status: 200, FetchedAt: time.Now()}, []byte(body), items...)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(p); err != nil {
		t.Fatal(err)
	}
}

func collect(t *testing.T, st *store.Store, typ string) []store.Item {
	t.Helper()
	var out []store.Item
	if err := st.Items(typ, func(it *store.Item) error { out = append(out, *it); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// Items come back as saved, in page order; a page saved again replaces its
// items; RewriteItems replaces them all and records the errors.
func TestItems(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "job.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := store.Item{Type: "p", URL: "http://h/a", FetchedAt: at, Fields: map[string]any{"n": 1.5, "tags": []any{"x", "y"}, "s": "<b>&"}}
	putPage(t, st, "http://h/a", "A", a, store.Item{Type: "q", URL: "http://h/a", FetchedAt: at, Fields: map[string]any{"m": nil}})
	putPage(t, st, "http://h/b", "B", store.Item{Type: "p", URL: "http://h/b", FetchedAt: at, Fields: map[string]any{"n": 2.0}})
	putPage(t, st, "http://h/b", "B2", store.Item{Type: "p", URL: "http://h/b", FetchedAt: at, Fields: map[string]any{"n": 3.0}})

	got := collect(t, st, "p")
	if len(got) != 2 || !reflect.DeepEqual(got[0], a) || got[1].Fields["n"] != 3.0 {
		t.Fatalf("items %+v", got)
	}
	if n := len(collect(t, st, "")); n != 3 {
		t.Errorf("%d items of all types, want 3", n)
	}
	var sb strings.Builder
	if n, err := export.Items(&sb, st, "q"); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	if want := `{"type":"q","url":"http://h/a","fetched_at":"2026-01-02T03:04:05Z","m":null}` + "\n"; sb.String() != want {
		t.Errorf("jsonl %q, want %q", sb.String(), want)
	}
	sb.Reset()
	if _, err := export.CSV(&sb, st, "p"); err != nil {
		t.Fatal(err)
	}
	if want := "type,url,fetched_at,n,s,tags\np,http://h/a,2026-01-02T03:04:05Z,1.5,<b>&,\"[\"\"x\"\",\"\"y\"\"]\"\np,http://h/b,2026-01-02T03:04:05Z,3,,\n"; sb.String() != want {
		t.Errorf("csv\n%s\nwant\n%s", sb.String(), want)
	}

	n, err := st.RewriteItems(context.Background(), func(rec *store.Record, body []byte) ([]store.Item, error) {
		if string(body) == "A" {
			return nil, errors.New("no luck")
		}
		return []store.Item{{Type: "r", URL: rec.URL, Fields: map[string]any{"body": string(body)}}}, nil
	})
	if err != nil || n != 2 {
		t.Fatalf("rewrite: %d pages, %v", n, err)
	}
	got = collect(t, st, "")
	if len(got) != 1 || got[0].Fields["body"] != "B2" {
		t.Errorf("after rewrite: %+v", got)
	}
	rec, _ := st.Get("http://h/a")
	if rec.ExtractError != "no luck" || rec.Items != 0 {
		t.Errorf("record a: %+v", rec)
	}
	sum, _ := st.Summarize()
	if sum.Items["r"] != 1 || sum.ExtractErrors["no luck"] != 1 || sum.Records != 2 {
		t.Errorf("summary items %v, errors %v, records %d", sum.Items, sum.ExtractErrors, sum.Records)
	}
}

// RewriteItems goes over more pages than one batch.
func TestRewriteItemsBatches(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "job.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := range 700 {
		putPage(t, st, fmt.Sprintf("http://h/%d", i), fmt.Sprint(i))
	}
	n, err := st.RewriteItems(context.Background(), func(rec *store.Record, body []byte) ([]store.Item, error) {
		return []store.Item{{Type: "t", URL: rec.URL, Fields: map[string]any{"b": string(body)}}}, nil
	})
	if err != nil || n != 700 {
		t.Fatalf("%d pages, %v", n, err)
	}
	if got := collect(t, st, "t"); len(got) != 700 || got[699].Fields["b"] != "699" {
		t.Errorf("%d items", len(got))
	}
}

func TestItemReservedField(t *testing.T) {
	it := store.Item{Type: "p", Fields: map[string]any{"url": "x"}}
	if _, err := it.MarshalJSON(); err == nil {
		t.Error("a field named url was accepted")
	}
}

// An interrupted rewrite of the items (a kill -9 during trawl extract)
// leaves the job marked incomplete until a rewrite finishes.
func TestRewriteItemsInterrupted(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "job.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := range 600 {
		p, err := st.NewPage(store.Record{URL: fmt.Sprintf("http://h/%d", i), Status: 200}, []byte(fmt.Sprintf("page %d", i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Put(p); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	one := func(rec *store.Record, body []byte) ([]store.Item, error) {
		cancel() // the process dies during the first batch
		return []store.Item{{Type: "t", URL: rec.URL, Fields: map[string]any{"b": string(body)}}}, nil
	}
	if _, err := st.RewriteItems(ctx, one); err == nil {
		t.Fatal("the interrupted rewrite reported success")
	}
	if bad, err := st.ItemsIncomplete(); err != nil || !bad {
		t.Fatalf("after an interrupted rewrite: incomplete = %v, %v; want true", bad, err)
	}
	if _, err := st.RewriteItems(context.Background(), one); err != nil {
		t.Fatal(err)
	}
	if bad, _ := st.ItemsIncomplete(); bad {
		t.Error("a finished rewrite left the items marked incomplete")
	}
}
