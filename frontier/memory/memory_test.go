package memory_test

import (
	"testing"

	"github.com/trawl-dev/trawl/frontier"
	"github.com/trawl-dev/trawl/frontier/frontiertest"
	"github.com/trawl-dev/trawl/frontier/memory"
)

func TestConformance(t *testing.T) {
	frontiertest.Run(t, frontiertest.Impl{
		Open: func(t *testing.T, opts frontier.Options) frontier.Frontier { return memory.New(opts) },
	})
}
