package redis

import (
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	goredis "github.com/redis/go-redis/v9"
)

var (
	//go:embed frontier.lua
	prelude string
	//go:embed init.lua
	initLua string
	//go:embed lease.lua
	leaseLua string
	//go:embed extend.lua
	extendLua string
	//go:embed release.lua
	releaseLua string
	//go:embed return.lua
	returnLua string
	//go:embed hold.lua
	holdLua string
	//go:embed add.lua
	addLua string
	//go:embed complete.lua
	completeLua string
	//go:embed seed.lua
	seedLua string
	//go:embed cas.lua
	casLua string
	//go:embed stats.lua
	statsLua string
	//go:embed shardinit.lua
	shardInitLua string
	//go:embed grant.lua
	grantLua string
)

// scriptSet is the frontier's Lua scripts, each with the shared prelude
// (init, shardInit and grant stand alone: they run before a shard exists,
// or on the crawl's own keys), and their names by SHA, for errors a
// person reads.
type scriptSet struct {
	init, lease, extend, release, ret, hold, add, complete, stats, seed, cas, shardInit, grant *goredis.Script

	names map[string]string
	where *regexp.Regexp // where Redis says a script failed: its SHA and line
}

// scripts returns the scripts, made (and hashed) on first use, not when
// every trawl command starts.
var scripts = sync.OnceValue(func() *scriptSet {
	s := &scriptSet{
		init:      goredis.NewScript(initLua),
		lease:     goredis.NewScript(prelude + leaseLua),
		extend:    goredis.NewScript(prelude + extendLua),
		release:   goredis.NewScript(prelude + releaseLua),
		ret:       goredis.NewScript(prelude + returnLua),
		hold:      goredis.NewScript(prelude + holdLua),
		add:       goredis.NewScript(prelude + addLua),
		complete:  goredis.NewScript(prelude + completeLua),
		stats:     goredis.NewScript(prelude + statsLua),
		seed:      goredis.NewScript(prelude + seedLua),
		cas:       goredis.NewScript(casLua),
		shardInit: goredis.NewScript(shardInitLua),
		grant:     goredis.NewScript(grantLua),
		where:     regexp.MustCompile(`\s*script: [0-9a-f]{40}, on @user_script:\d+\.?|\s*@user_script:\d+:?|f_[0-9a-f]{40}`),
	}
	s.names = map[string]string{
		s.init.Hash(): "init", s.lease.Hash(): "lease", s.extend.Hash(): "extend",
		s.release.Hash(): "release", s.ret.Hash(): "return", s.hold.Hash(): "hold",
		s.add.Hash(): "add", s.complete.Hash(): "complete", s.stats.Hash(): "stats",
		s.seed.Hash(): "seed", s.cas.Hash(): "cas", s.shardInit.Hash(): "shard init",
		s.grant.Hash(): "grant",
	}
	return s
})

// scriptError turns the error of script s, as Redis words it (with the
// script's SHA and line), into one naming the frontier's operation.
func scriptError(s *goredis.Script, err error) error {
	var re goredis.Error
	if !errors.As(err, &re) || !strings.Contains(err.Error(), s.Hash()) && !strings.Contains(err.Error(), "user_script") {
		return err
	}
	msg := strings.TrimSpace(scripts().where.ReplaceAllString(err.Error(), ""))
	return fmt.Errorf("redis: the frontier's %s script failed in Redis: %s (was a key of the crawl changed outside trawl?)", scripts().names[s.Hash()], msg)
}
