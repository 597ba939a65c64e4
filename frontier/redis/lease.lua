-- Lease: the head of the readiest host's queue, or why not. ARGV[7], on a
-- shard of a crawl with a page budget, is what the crawl granted the shard
-- in all (see grant.lua).
-- Returns {'ok', token, ttl, host, entry, over}, {'drained'}, {'limit'},
-- {'budget', leased} (a shard with a host ready but no page granted),
-- {'wait', ms until something may change (-1: unknown), leased, allow}
-- or {'retry'}.
local now = now_ms()
reap(now)
flush()
local m = redis.call('HMGET', META, 'queued', 'leased', 'done', 'allow', 'recv')
local queued, leased, done = tonumber(m[1]) or 0, tonumber(m[2]) or 0, tonumber(m[3]) or 0
local allow = tonumber(m[4]) or 0
if MAXP == -1 then
  local g, recv = tonumber(ARGV[7]) or 0, tonumber(m[5]) or 0
  if g > recv then
    allow = allow + g - recv
    redis.call('HSET', META, 'recv', g)
    redis.call('HINCRBY', META, 'allow', g - recv)
  end
end
if queued <= 0 and leased <= 0 then return {'drained'} end
local limited = MAXP > 0 and done + leased >= MAXP
if limited and leased <= 0 then return {'limit'} end
local wait = -1
if not limited then
  local top = redis.call('ZRANGE', READY, 0, 0, 'WITHSCORES')
  if #top > 0 then
    local hn, r = top[1], tonumber(top[2])
    if r <= now then
      if MAXP == -1 and allow <= 0 then return {'budget', leased} end
      local h = host(hn)
      local entry = redis.call('LPOP', P .. 'q:' .. hn)
      if not entry then -- the count was wrong: trust the queue
        count('queued', -h.q)
        h.q = 0
        flush()
        return {'retry'}
      end
      local tok = redis.call('HINCRBY', META, 'token', 1)
      local over = '0'
      if MAXH > 0 then
        if h.fet >= MAXH then over = '1' else h.fet = h.fet + 1 end
      end
      h.q, h.f, h.l, h.st, h.r = h.q - 1, h.f + 1, h.l + 1, now, now + h.gap
      count('queued', -1)
      count('leased', 1)
      if MAXP == -1 then count('allow', -1) end
      redis.call('ZADD', DL, now + TTL, tok)
      redis.call('HSET', LS, tok, '0' .. over .. hn .. '\n' .. entry)
      flush()
      return {'ok', tok, TTL, hn, entry, over}
    end
    wait = r - now
  end
end
local d = redis.call('ZRANGE', DL, 0, 0, 'WITHSCORES')
if #d > 0 then
  local w = tonumber(d[2]) - now
  if wait < 0 or w < wait then wait = w end
end
return {'wait', wait, leased, allow}
