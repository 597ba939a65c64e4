-- The Redis frontier's scripts share this prelude: the crawl's keys, the
-- host records, the ready set and the lease table. Every script runs with
-- KEYS[1] = the crawl's prefix ("trawl:{NAME}:", one hash slot), or of
-- one shard of a sharded crawl ("trawl:{NAME/k}:"), and ARGV[1..6] =
-- epoch, lease TTL (ms), default host limit, default gap (ms), max pages,
-- max per host; its own arguments follow from ARGV[7]. Max pages is the
-- crawl's page budget on one slot (0: none); on a shard it is -1 when the
-- crawl has a budget (the shard leases the pages it was granted, 'allow'
-- in its meta) and -2 when not.
--
-- Keys under the prefix:
--   meta        hash: epoch, token, queued, leased, done, lost, seen, filtered, over;
--               on a shard also allow, recv (pages of the budget it holds, was granted)
--   s:XXXX      hash: seen request fingerprints (bucketed; small listpacks)
--   q:HOST      list: HOST's queued entries ("depth\0url\0spec")
--   h:HOST      hash: HOST's counts and pace (q f l lim gap st r adm fet)
--   ready       zset: hosts with queued entries and a free slot, by ready time
--   active      set: hosts with queued or leased entries
--   dl          zset: lease tokens by deadline
--   leases      hash: token -> released flag, over-budget flag, host "\n" entry
--   wake        pub/sub channel: something may be leasable now
local P = KEYS[1]
local EPOCH, TTL, DLIM, DGAP = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local MAXP, MAXH = tonumber(ARGV[5]), tonumber(ARGV[6])
local META, READY, ACTIVE, DL, LS = P .. 'meta', P .. 'ready', P .. 'active', P .. 'dl', P .. 'leases'

if redis.call('HGET', META, 'epoch') ~= EPOCH then
  return redis.error_reply('TRAWLGONE the crawl state in Redis is gone or was replaced')
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local hosts = {}   -- host records loaded by this script, saved by flush
local counts = {}  -- meta counter deltas

local function count(name, d)
  counts[name] = (counts[name] or 0) + d
end

local function host(name)
  local h = hosts[name]
  if h then return h end
  local k = P .. 'h:' .. name
  local v = redis.call('HMGET', k, 'q', 'f', 'l', 'lim', 'gap', 'st', 'r', 'adm', 'fet')
  if not v[4] then
    h = {name = name, k = k, q = 0, f = 0, l = 0, lim = DLIM, gap = DGAP, st = 0, r = 0, adm = 0, fet = 0}
  else
    h = {name = name, k = k, q = tonumber(v[1]), f = tonumber(v[2]), l = tonumber(v[3]), lim = tonumber(v[4]),
      gap = tonumber(v[5]), st = tonumber(v[6]), r = tonumber(v[7]), adm = tonumber(v[8]), fet = tonumber(v[9])}
  end
  hosts[name] = h
  return h
end

-- flush saves the hosts touched, places each in or out of the ready and
-- active sets, and applies the counter deltas.
local function flush()
  for name, h in pairs(hosts) do
    redis.call('HSET', h.k, 'q', h.q, 'f', h.f, 'l', h.l, 'lim', h.lim, 'gap', h.gap, 'st', h.st, 'r', h.r,
      'adm', h.adm, 'fet', h.fet)
    if h.q > 0 and h.f < h.lim then
      redis.call('ZADD', READY, h.r, name)
    else
      redis.call('ZREM', READY, name)
    end
    if h.q > 0 or h.l > 0 then
      redis.call('SADD', ACTIVE, name)
    else
      redis.call('SREM', ACTIVE, name)
    end
  end
  for name, d in pairs(counts) do
    if d ~= 0 then redis.call('HINCRBY', META, name, d) end
  end
  hosts, counts = {}, {}
end

-- lease record: released flag, over-budget flag, host, "\n", entry.
local function parse(rec)
  local nl = string.find(rec, '\n', 3, true)
  return string.sub(rec, 1, 1) == '1', string.sub(rec, 2, 2) == '1', string.sub(rec, 3, nl - 1), string.sub(rec, nl + 1)
end

-- unlease forgets a lease: its slot is freed unless it was released, and
-- its budget unit given back when it was not fetched.
local function unlease(tok, released, over, hn, unfetched)
  redis.call('HDEL', LS, tok)
  redis.call('ZREM', DL, tok)
  local h = host(hn)
  if not released then h.f = h.f - 1 end
  h.l = h.l - 1
  count('leased', -1)
  if unfetched and MAXH > 0 and not over then h.fet = h.fet - 1 end
  if unfetched and MAXP < 0 then count('allow', 1) end
  return h
end

-- requeue puts an entry back at the head of its host's queue.
local function requeue(h, entry)
  redis.call('LPUSH', P .. 'q:' .. h.name, entry)
  h.q = h.q + 1
  count('queued', 1)
end

-- reap returns expired leases to their queues.
local function reap(now)
  local exp = redis.call('ZRANGEBYSCORE', DL, '-inf', now, 'LIMIT', 0, 500)
  for _, tok in ipairs(exp) do
    local rec = redis.call('HGET', LS, tok)
    if rec then
      local released, over, hn, entry = parse(rec)
      requeue(unlease(tok, released, over, hn, true), entry)
      count('lost', 1)
    else
      redis.call('ZREM', DL, tok)
    end
  end
end

-- add queues entries given as groups of five arguments from index i:
-- bucket, fingerprint, host, depth, entry. With again, seen ones too.
local function add(i, again)
  local added = 0
  while i + 4 <= #ARGV do
    local sk, fp, hn, depth, entry = P .. 's:' .. ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3]), ARGV[i + 4]
    i = i + 5
    local new = redis.call('HSETNX', sk, fp, '') == 1
    local ok = new or again
    if not ok then count('filtered', 1) end
    if new and MAXH > 0 then
      local h = host(hn)
      if depth > 0 and h.adm >= MAXH then
        redis.call('HDEL', sk, fp)
        count('over', 1)
        ok = false
      else
        h.adm = h.adm + 1
      end
    end
    if ok then
      local h = host(hn)
      redis.call('RPUSH', P .. 'q:' .. hn, entry)
      h.q = h.q + 1
      count('queued', 1)
      if new then count('seen', 1) end
      added = added + 1
    end
  end
  return added
end

local function wake()
  redis.call('PUBLISH', P .. 'wake', '1')
end
