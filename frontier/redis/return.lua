-- Return: ARGV[7..8] = token, not-before (ms from now, -1 for none).
-- Returns 1, or 0 when the lease was lost.
local now = now_ms()
reap(now)
local tok, nb = ARGV[7], tonumber(ARGV[8])
local rec = redis.call('HGET', LS, tok)
if not rec then
  flush()
  return 0
end
local released, over, hn, entry = parse(rec)
local h = unlease(tok, released, over, hn, true)
requeue(h, entry)
if nb >= 0 and now + nb > h.r then h.r = now + nb end
flush()
wake()
return 1
