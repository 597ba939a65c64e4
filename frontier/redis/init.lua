-- Init: KEYS[1] = prefix; ARGV[1] = the epoch the caller knows ('' for
-- none), ARGV[2] = a new epoch. Returns the crawl's epoch, creating the
-- crawl when it does not exist and the caller knows none; 'gone' when the
-- caller knows an epoch that Redis does not hold; 'none' when there is no
-- crawl and ARGV[2] is empty; and 1 when it created it. ARGV[3] is the
-- crawl's kind, ARGV[4] its settings, ARGV[5] its number of shards (0:
-- one hash slot) and ARGV[6] their tags ("\n" between), kept when it is
-- created and returned to every caller, with whether its shards are
-- ready: {epoch, created, kind, settings, shards, tags, ready}.
local META = KEYS[1] .. 'meta'
local e = redis.call('HMGET', META, 'epoch', 'kind', 'settings', 'shards', 'tags', 'ready')
if e[1] then return {e[1], 0, e[2] or '', e[3] or '', e[4] or '0', e[5] or '', e[6] or ''} end
if ARGV[1] ~= '' then return {'gone', 0, '', '', '0', '', ''} end
if ARGV[2] == '' then return {'none', 0, '', '', '0', '', ''} end
local t = redis.call('TIME')
redis.call('HSET', META, 'epoch', ARGV[2], 'kind', ARGV[3], 'settings', ARGV[4] or '', 'created', t[1], 'token', 0, 'queued', 0, 'leased', 0, 'done', 0,
  'lost', 0, 'seen', 0, 'filtered', 0, 'over', 0)
if tonumber(ARGV[5] or '0') > 1 then
  redis.call('HSET', META, 'shards', ARGV[5], 'tags', ARGV[6], 'granted', 0, 'gen', 0)
end
return {ARGV[2], 1, ARGV[3], ARGV[4] or '', ARGV[5] or '0', ARGV[6] or '', ''}
