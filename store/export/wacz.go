package export

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/trawl-dev/trawl/store"
	"github.com/trawl-dev/trawl/store/wacz"
)

// ErrNoArchive is returned by WACZ for a job that wrote no WARC files.
var ErrNoArchive = errors.New("the job wrote no WARC files (crawl it with --warc DIR)")

// WACZ writes the WACZ of the jobs in stores (the job files of one crawl,
// or of a shared crawl's processes) to w: the WARC files their records
// name, from the folder each job wrote them to, and their pages (2xx HTML
// pages, not requisites) with their titles. It returns how many pages it
// listed.
func WACZ(w io.Writer, software string, stores ...*store.Store) (int, error) {
	var files []string
	var pages []wacz.Page
	for _, s := range stores {
		dir, err := s.WARCDir()
		if err != nil {
			return 0, err
		}
		if dir == "" {
			return 0, fmt.Errorf("%s: %w", s.Path(), ErrNoArchive)
		}
		f, p, err := archived(s, dir)
		if err != nil {
			return 0, err
		}
		files, pages = append(files, f...), append(pages, p...)
	}
	slices.Sort(files)
	files = slices.Compact(files)
	if len(files) == 0 {
		return 0, fmt.Errorf("%w: no record names a WARC file", ErrNoArchive)
	}
	err := wacz.Write(w, wacz.Options{WARCs: files, Pages: pages, Title: filepath.Base(stores[0].Path()),
		Software: software, Created: time.Now()})
	return len(pages), err
}

// archived returns the WARC files (under dir) the records of s name, and
// its pages.
func archived(s *store.Store, dir string) ([]string, []wacz.Page, error) {
	named := map[string]bool{}
	err := s.Versions(0, func(r *store.Record) error {
		if r.WARC != nil {
			named[r.WARC.File] = true
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	var files []string
	for name := range named {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			return nil, nil, fmt.Errorf("the job's WARC file %s: %w", name, err)
		}
		files = append(files, p)
	}
	var pages []wacz.Page
	err = s.Each(func(r *store.Record) error {
		if !archivedPage(r) {
			return nil
		}
		body, err := s.Body(r)
		if err != nil {
			return err
		}
		// A revisit replays at its own time, resolved to what it refers to.
		pages = append(pages, wacz.Page{URL: r.FinalURL, TS: r.WARC.Date, Title: title(body)})
		return nil
	})
	return files, pages, err
}

// title returns the text of an HTML page's first title element.
func title(page []byte) string {
	z := html.NewTokenizer(bytes.NewReader(page))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken:
			if name, _ := z.TagName(); atom.Lookup(name) == atom.Title {
				if z.Next() == html.TextToken {
					return strings.Join(strings.Fields(string(z.Text())), " ")
				}
				return ""
			}
		}
	}
}

// archivedPage reports whether r is a page a replayer lists: archived, a
// 2xx HTML answer, and not a requisite of another page.
func archivedPage(r *store.Record) bool {
	return r.WARC != nil && r.Status >= 200 && r.Status <= 299 && strings.HasPrefix(r.ContentType, "text/html") &&
		!strings.Contains(string(r.Request), `"requisite":true`)
}
