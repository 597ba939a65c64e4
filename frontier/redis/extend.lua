-- Extend: ARGV[7] = token. Returns 1, or 0 when the lease is lost.
local now = now_ms()
reap(now)
flush()
if redis.call('ZSCORE', DL, ARGV[7]) then
  redis.call('ZADD', DL, 'XX', now + TTL, ARGV[7])
  return 1
end
return 0
