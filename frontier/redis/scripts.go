package redis

import (
	_ "embed"

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
)

// scripts are the frontier's Lua scripts, each with the shared prelude
// (init stands alone: it runs before the crawl exists).
var scripts = struct {
	init, lease, extend, release, ret, hold, add, complete, stats, seed, cas *goredis.Script
}{
	init:     goredis.NewScript(initLua),
	lease:    goredis.NewScript(prelude + leaseLua),
	extend:   goredis.NewScript(prelude + extendLua),
	release:  goredis.NewScript(prelude + releaseLua),
	ret:      goredis.NewScript(prelude + returnLua),
	hold:     goredis.NewScript(prelude + holdLua),
	add:      goredis.NewScript(prelude + addLua),
	complete: goredis.NewScript(prelude + completeLua),
	stats:    goredis.NewScript(prelude + statsLua),
	seed:     goredis.NewScript(prelude + seedLua),
	cas:      goredis.NewScript(casLua),
}
