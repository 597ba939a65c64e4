-- Grant, on the crawl's own keys of a sharded crawl: KEYS[1] = its
-- prefix; ARGV[1] = epoch, ARGV[2] = max pages, ARGV[3] = a shard. Grants
-- the shard one page of the crawl's budget if any is left. Returns {1 or
-- 0, the pages granted to the shard in all}: a shard's lease script adds
-- what it was granted since it last looked, so a grant whose caller died
-- before telling the shard is not lost.
local META = KEYS[1] .. 'meta'
if redis.call('HGET', META, 'epoch') ~= ARGV[1] then
  return redis.error_reply('TRAWLGONE the crawl state in Redis is gone or was replaced')
end
local f = 'g:' .. ARGV[3]
if tonumber(redis.call('HGET', META, 'granted') or '0') >= tonumber(ARGV[2]) then
  return {0, tonumber(redis.call('HGET', META, f) or '0')}
end
redis.call('HINCRBY', META, 'granted', 1)
return {1, redis.call('HINCRBY', META, f, 1)}
