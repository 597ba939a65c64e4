package store_test

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/internal/jobfile"
	"github.com/trawl-dev/trawl/store"
)

func TestClassify(t *testing.T) {
	ok := &store.Record{Status: 200, SHA256: "a"}
	for _, c := range []struct {
		name      string
		prev, cur *store.Record
		want      store.Change
	}{
		{"first", nil, ok, store.ChangeNew},
		{"first, failed", nil, &store.Record{Status: 500}, store.ChangeFailed},
		{"same body", ok, &store.Record{Status: 200, SHA256: "a"}, store.ChangeUnchanged},
		{"304", ok, &store.Record{Status: 200, SHA256: "a", NotModified: true}, store.ChangeUnchanged},
		{"new body", ok, &store.Record{Status: 200, SHA256: "b"}, store.ChangeChanged},
		{"404", ok, &store.Record{Status: 404}, store.ChangeGone},
		{"410", ok, &store.Record{Status: 410}, store.ChangeGone},
		{"still 404", &store.Record{Status: 404}, &store.Record{Status: 404}, store.ChangeGone},
		{"503", ok, &store.Record{Status: 503}, store.ChangeFailed},
		{"back", &store.Record{Status: 503}, ok, store.ChangeChanged},
		{"robots, still", &store.Record{Skipped: store.SkipRobots}, &store.Record{Skipped: store.SkipRobots}, store.ChangeUnchanged},
		{"robots, now", ok, &store.Record{Skipped: store.SkipRobots}, store.ChangeChanged},
	} {
		if got := store.Classify(c.prev, c.cur); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

// putRendered saves a rendered page: its DOM kept beside its body.
func putRendered(t *testing.T, st *store.Store, url, body string, items ...store.Item) *store.Rendering {
	t.Helper()
	ren := &store.Rendering{DOM: []byte("<html>built by script</html>")}
	ren.Render = store.Render{Reason: "render: every page", DOM: store.BlobOf(ren.DOM)}
	p, err := st.NewVersion(nil, store.Record{URL: url, Status: 200, FetchedAt: time.Now(), Render: &ren.Render}, []byte(body), items...)
	if err == nil {
		err = st.Attach(p, ren)
	}
	if err == nil {
		err = st.Put(p)
	}
	if err != nil {
		t.Fatal(err)
	}
	return ren
}

// TestPasses saves two passes of three URLs in a real job file and reads
// back their versions, counts and previous records.
func TestPasses(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "j.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	put := func(prev *store.Record, rec store.Record, body string, items ...store.Item) {
		t.Helper()
		p, err := st.NewVersion(prev, rec, []byte(body), items...)
		if err == nil {
			err = st.Put(p)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	item := store.Item{Type: "t", Fields: map[string]any{"k": "v"}}
	for _, u := range []string{"http://h/b", "http://h/c"} {
		put(nil, store.Record{URL: u, Status: 200, FetchedAt: time.Now()}, "body of "+u, item)
	}
	ren := putRendered(t, st, "http://h/a", "body of http://h/a", item)
	if _, err := st.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	err = st.File().Update(func(tx *jobfile.Tx) error { _, err := st.StartPassTx(tx); return err })
	if pass, _ := st.Pass(); err != nil || pass != 2 {
		t.Fatalf("StartPassTx: pass %d, %v", pass, err)
	}
	prevA, _ := st.Previous("http://h/a")
	prevB, _ := st.Previous("http://h/b")
	if prevA == nil || prevB == nil || prevA.SHA256 == "" {
		t.Fatalf("previous records: %v %v", prevA, prevB)
	}
	p, err := st.NewUnchanged(store.Record{URL: "http://h/a", Status: 200, NotModified: true, FetchedAt: time.Now()}, prevA)
	if err == nil {
		err = st.Put(p)
	}
	if err != nil {
		t.Fatal(err)
	}
	put(prevB, store.Record{URL: "http://h/b", Status: 404, FetchedAt: time.Now()}, "")
	put(nil, store.Record{URL: "http://h/d", Status: 200, Pass: 2, FetchedAt: time.Now()}, "d")
	if _, err := st.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	counts, _ := st.PassCounts()
	if c := counts[2]; c[store.ChangeUnchanged] != 1 || c[store.ChangeGone] != 1 || c[store.ChangeNew] != 1 || counts[1][store.ChangeNew] != 3 {
		t.Errorf("pass counts %v", counts)
	}
	var all, second int
	st.Versions(0, func(*store.Record) error { all++; return nil })
	st.Versions(2, func(*store.Record) error { second++; return nil })
	if all != 6 || second != 3 {
		t.Errorf("%d versions, %d of pass 2; want 6 and 3", all, second)
	}
	// The unchanged page keeps its body and items; the replaced record of
	// pass 1 keeps its items as a version.
	a, _ := st.Get("http://h/a")
	if body, err := st.Body(a); err != nil || string(body) != "body of http://h/a" || a.Pass != 2 || a.Change != store.ChangeUnchanged {
		t.Errorf("a after a 304: %+v, body %q, %v", a, body, err)
	}
	if a.Render == nil {
		t.Fatal("a after a 304: its rendering is gone")
	}
	if dom, err := st.Blob(a.Render.DOM); err != nil || string(dom) != string(ren.DOM) {
		t.Errorf("a's rendered DOM after a 304: %q, %v", dom, err)
	}
	for _, r := range []*store.Record{a, prevA} {
		if items, err := st.ItemsOf(r); err != nil || len(items) != 1 || items[0].Fields["k"] != "v" {
			t.Errorf("items of a, pass %d: %v, %v", r.PassOf(), items, err)
		}
	}
	if r, _ := st.Revisits(); r.NotModified != 1 || r.BytesSaved != int64(len("body of http://h/a")) {
		t.Errorf("revisits %+v", r)
	}
}

// TestSchedule checks a continuous job's intervals, and that Due gives
// URLs back in time order, once.
func TestSchedule(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "j.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.SetSchedule(&store.Schedule{First: time.Hour, Min: time.Minute, Max: 10 * time.Hour})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	save := func(u string, h http.Header) {
		p, err := st.NewPage(store.Record{URL: u, Status: 200, FetchedAt: now, Header: h}, []byte(u))
		if err == nil {
			err = st.Put(p)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	save("http://h/plain", nil)
	save("http://h/fresh", http.Header{"Cache-Control": {"public, max-age=600"}})
	save("http://h/stale", http.Header{"Expires": {"Thu, 01 Jan 2026 00:00:10 GMT"}, "Date": {"Thu, 01 Jan 2026 00:00:00 GMT"}})
	due := func(at time.Time) []string {
		var urls []string
		err := st.File().Update(func(tx *jobfile.Tx) error {
			reqs, _, err := st.DueTx(tx, at, 100)
			for _, r := range reqs {
				urls = append(urls, r.URL)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return urls
	}
	if got := due(now.Add(30 * time.Second)); len(got) != 0 {
		t.Errorf("due at 30s: %v", got)
	}
	// Expires says 10 s, but no interval is below the minute; max-age 600
	// makes 10 minutes; the plain page waits its hour.
	if got := due(now.Add(2 * time.Minute)); len(got) != 1 || got[0] != "http://h/stale" {
		t.Errorf("due at 2 min: %v, want the stale page", got)
	}
	if got := due(now.Add(time.Hour)); len(got) != 2 || got[0] != "http://h/fresh" || got[1] != "http://h/plain" {
		t.Errorf("due at 1 h: %v, want fresh then plain", got)
	}
	if got := due(now.Add(100 * time.Hour)); len(got) != 0 {
		t.Errorf("due again: %v", got)
	}
	// Revisited: unchanged, its hour grows by half; changed, it halves.
	prev, _ := st.Previous("http://h/plain")
	p, _ := st.NewVersion(prev, store.Record{URL: "http://h/plain", Status: 200, FetchedAt: now}, []byte("http://h/plain"))
	st.Put(p)
	if got := due(now.Add(89 * time.Minute)); len(got) != 0 {
		t.Errorf("unchanged page due before 90 min: %v", got)
	}
	if got := due(now.Add(90 * time.Minute)); len(got) != 1 {
		t.Errorf("unchanged page not due at 90 min: %v", got)
	}
}
