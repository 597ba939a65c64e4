package job

import (
	"context"

	"github.com/trawl-dev/trawl/crawler/cookies"
	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/frontier/bolt"
	"github.com/trawl-dev/trawl/internal/jobfile"
	"github.com/trawl-dev/trawl/store"
)

// joint saves results when the frontier is kept in the job file: the
// cookies, the pages and their completions in one transaction.
type joint struct {
	st  *store.Store
	fr  *bolt.Frontier
	jar *cookies.Jar
}

func (s joint) Save(_ context.Context, pages []*store.Page, done []frontier.Done) (lost, err error) {
	saveCookies := s.jar != nil && s.jar.Dirty()
	err = s.st.File().Update(func(tx *jobfile.Tx) error {
		if saveCookies { // with the pages that got them: a resume has its session
			if err := s.jar.SaveTx(tx); err != nil {
				return err
			}
		}
		if err := s.st.PutTx(tx, pages...); err != nil {
			return err
		}
		return s.fr.CompleteTx(tx, done, &lost)
	})
	return lost, err
}

// apart saves results when the frontier is not in the job file: cookies
// and records first, completions second. A crash in between fetches the
// pages again; it never loses them.
type apart struct {
	st  *store.Store
	fr  frontier.Frontier
	jar *cookies.Jar
}

func (s apart) Save(ctx context.Context, pages []*store.Page, done []frontier.Done) (lost, err error) {
	if s.jar != nil && s.jar.Dirty() {
		if err := s.st.File().Update(s.jar.SaveTx); err != nil {
			return nil, err
		}
	}
	if err := s.st.Put(pages...); err != nil {
		return nil, err
	}
	lost = s.fr.Complete(ctx, done)
	return lost, nil
}
