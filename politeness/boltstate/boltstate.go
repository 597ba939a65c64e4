// Package boltstate is the politeness.State of a job on one machine: the
// robots.txt cache is kept in the job file, so a resumed job does not ask
// again for a day; what the policy learns of hosts' pace is kept in memory.
package boltstate

import (
	"context"
	"encoding/json"

	"github.com/trawl-dev/trawl/internal/jobfile"
	"github.com/trawl-dev/trawl/politeness"
)

// State is a politeness.State whose robots.txt cache lives in a job file.
type State struct {
	*politeness.MemoryState
	file *jobfile.File
}

var _ politeness.State = (*State)(nil)

// New returns a State keeping its robots.txt cache in f.
func New(f *jobfile.File) *State {
	return &State{MemoryState: politeness.NewMemoryState(), file: f}
}

// Robots returns host's cached robots.txt.
func (s *State) Robots(_ context.Context, host string) (politeness.Robots, bool, error) {
	var r politeness.Robots
	found := false
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

// PutRobots caches host's robots.txt in the job file.
func (s *State) PutRobots(_ context.Context, host string, r politeness.Robots) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return s.file.Update(func(tx *jobfile.Tx) error {
		return tx.Bucket(jobfile.RobotsTxts).Put([]byte(host), data)
	})
}
