-- Init: KEYS[1] = prefix; ARGV[1] = the epoch the caller knows ('' for
-- none), ARGV[2] = a new epoch. Returns the crawl's epoch, creating the
-- crawl when it does not exist and the caller knows none; 'gone' when the
-- caller knows an epoch that Redis does not hold; 'none' when there is no
-- crawl and ARGV[2] is empty; and 1 when it created it. ARGV[3] is the
-- crawl's kind and ARGV[4] its settings, kept when it is created and
-- returned (with the kind) to every caller.
local META = KEYS[1] .. 'meta'
local e = redis.call('HMGET', META, 'epoch', 'kind', 'settings')
if e[1] then return {e[1], 0, e[2] or '', e[3] or ''} end
if ARGV[1] ~= '' then return {'gone', 0, '', ''} end
if ARGV[2] == '' then return {'none', 0, '', ''} end
local t = redis.call('TIME')
redis.call('HSET', META, 'epoch', ARGV[2], 'kind', ARGV[3], 'settings', ARGV[4] or '', 'created', t[1], 'token', 0, 'queued', 0, 'leased', 0, 'done', 0,
  'lost', 0, 'seen', 0, 'filtered', 0, 'over', 0)
return {ARGV[2], 1, ARGV[3], ARGV[4] or ''}
