-- Complete: ARGV[7] = number of leases, then token, host, entry for each,
-- then the requests found, in groups of five (see add). Returns the tokens
-- of the leases that were lost.
local now = now_ms()
reap(now)
local n, i, lost = tonumber(ARGV[7]), 8, {}
for _ = 1, n do
  local tok, hn, entry = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  i = i + 3
  local rec = redis.call('HGET', LS, tok)
  if rec then
    local released, over = parse(rec)
    unlease(tok, released, over, hn, false)
    count('done', 1)
  else
    -- Lost: its entry went back to the queue; the result is saved, so
    -- it is not fetched again.
    if redis.call('LREM', P .. 'q:' .. hn, 1, entry) > 0 then
      local h = host(hn)
      h.q = h.q - 1
      count('queued', -1)
    end
    lost[#lost + 1] = tok
  end
end
add(i, false)
flush()
wake()
return lost
