-- Release: ARGV[7..11] = token, host, gap (ms), limit (0 keeps it),
-- not-before (ms from now, -1 for none). Returns 1, or 0 when lost.
local now = now_ms()
reap(now)
local tok, h = ARGV[7], host(ARGV[8])
local gap, lim, nb = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
h.gap = gap
if lim > 0 then h.lim = lim end
if nb >= 0 and now + nb > h.r then h.r = now + nb end
if h.st + h.gap > h.r then h.r = h.st + h.gap end
local rec = redis.call('HGET', LS, tok)
if rec and string.sub(rec, 1, 1) == '0' then
  redis.call('HSET', LS, tok, '1' .. string.sub(rec, 2))
  h.f = h.f - 1
end
flush()
wake()
if rec then return 1 end
return 0
