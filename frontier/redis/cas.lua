-- Host state compare-and-set: KEYS[1] = the host's politeness state,
-- KEYS[2] = the crawl's down set; ARGV = the state read ('' for none),
-- the new state, the host, when its circuit opened (ms; -1 closed).
-- Returns 1, or 0 when another process changed the state first.
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
if tonumber(ARGV[4]) < 0 then
  redis.call('ZREM', KEYS[2], ARGV[3])
else
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
end
return 1
