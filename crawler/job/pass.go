package job

import (
	"context"
	"errors"
	"fmt"

	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/frontier/bolt"
	"github.com/trawl-dev/trawl/internal/jobfile"
	"github.com/trawl-dev/trawl/store"
)

// ErrUnfinished is returned by StartPass when the job's current pass has
// URLs still queued: it is resumed, not followed by another.
var ErrUnfinished = errors.New("the job's current pass is not finished")

// StartPass begins the next pass over the job in st, kept with its own
// frontier: in one transaction, each URL's latest record becomes its
// previous one (store.StartPassTx), the frontier forgets what it saw, and
// every URL the job holds is queued again, at its depth and with its
// request. It returns the new pass and how many URLs it queued. A job
// with URLs still queued is left as it is (ErrUnfinished), and so is an
// empty one (pass 1, nothing queued).
func StartPass(ctx context.Context, st *store.Store) (pass, queued int, err error) {
	if pass, err = st.Pass(); err != nil {
		return 0, 0, err
	}
	if n, err := bolt.Queued(st.File()); err != nil {
		return 0, 0, err
	} else if n > 0 {
		return pass, 0, ErrUnfinished
	}
	if _, err := st.CatchUp(ctx); err != nil {
		return 0, 0, err
	}
	fr, err := bolt.Open(st.File(), frontier.Options{})
	if err != nil {
		return 0, 0, err
	}
	err = st.File().Update(func(tx *jobfile.Tx) error {
		var reqs []frontier.Request
		err := st.EachTx(tx, func(r *store.Record) error {
			reqs = append(reqs, frontier.Request{URL: r.URL, Depth: r.Depth, Spec: string(r.Request)})
			return nil
		})
		if err != nil || len(reqs) == 0 {
			return err
		}
		if pass, err = st.StartPassTx(tx); err != nil {
			return err
		}
		queued, err = fr.NewPassTx(tx, reqs)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("starting a new pass: %w", err)
	}
	return pass, queued, nil
}
