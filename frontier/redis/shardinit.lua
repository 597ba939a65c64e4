-- Shard init: KEYS[1] = a shard's prefix; ARGV[1] = the crawl's epoch.
-- Creates the shard's meta, or checks that the one it has is the crawl's.
local META = KEYS[1] .. 'meta'
local e = redis.call('HGET', META, 'epoch')
if e then
  if e ~= ARGV[1] then
    return redis.error_reply('TRAWLGONE a shard of the crawl holds another crawl')
  end
  return 0
end
redis.call('HSET', META, 'epoch', ARGV[1], 'token', 0, 'queued', 0, 'leased', 0, 'done', 0, 'lost', 0, 'seen', 0,
  'filtered', 0, 'over', 0, 'allow', 0, 'recv', 0)
return 1
