-- Stats: the crawl's counts, after reaping.
local now = now_ms()
reap(now)
flush()
local m = redis.call('HMGET', META, 'queued', 'leased', 'seen', 'filtered', 'over', 'done', 'lost')
for i = 1, 7 do m[i] = tonumber(m[i]) or 0 end
m[8] = redis.call('SCARD', ACTIVE)
m[9] = now
return m
