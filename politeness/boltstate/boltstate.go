// Package boltstate is the politeness.State of a job on one machine: the
// robots.txt cache is kept in the job file, so a resumed job does not ask
// again for a day; what the policy learns of hosts' pace is kept in memory.
package boltstate

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/trawl-dev/trawl/internal/jobfile"
	"github.com/trawl-dev/trawl/politeness"
)

// State is a politeness.State whose robots.txt cache lives in a job file.
// A robots.txt put is written with the job's next commit (jobfile.Later),
// and read from memory until then.
type State struct {
	*politeness.MemoryState
	file *jobfile.File

	mu      sync.Mutex
	pending map[string]politeness.Robots // put, not yet committed
}

var _ politeness.State = (*State)(nil)

// New returns a State keeping its robots.txt cache in f.
func New(f *jobfile.File) *State {
	return &State{MemoryState: politeness.NewMemoryState(), file: f, pending: map[string]politeness.Robots{}}
}

// Robots returns host's cached robots.txt.
func (s *State) Robots(_ context.Context, host string) (politeness.Robots, bool, error) {
	s.mu.Lock()
	r, found := s.pending[host]
	s.mu.Unlock()
	if found {
		return r, true, nil
	}
	err := s.file.View(func(tx *jobfile.Tx) error {
		if b := tx.Bucket(jobfile.RobotsTxts); b != nil {
			if v := b.Get([]byte(host)); v != nil {
				found = json.Unmarshal(v, &r) == nil
			}
		}
		return nil
	})
	return r, found, err
}

// PutRobots caches host's robots.txt in the job file, with its next
// commit: a robots.txt lost to a kill before then is only asked again.
func (s *State) PutRobots(_ context.Context, host string, r politeness.Robots) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.pending[host] = r
	s.mu.Unlock()
	s.file.Later(func(tx *jobfile.Tx) error {
		tx.OnCommit(func() {
			s.mu.Lock()
			if p, ok := s.pending[host]; ok && p.FetchedAt.Equal(r.FetchedAt) {
				delete(s.pending, host)
			}
			s.mu.Unlock()
		})
		return tx.Bucket(jobfile.RobotsTxts).Put([]byte(host), data)
	})
	return nil
}
