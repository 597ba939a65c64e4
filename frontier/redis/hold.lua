-- Hold: ARGV[7..8] = host, until (ms from now).
local now = now_ms()
if redis.call('EXISTS', P .. 'h:' .. ARGV[7]) == 0 then return 0 end
local h = host(ARGV[7])
local untl = now + tonumber(ARGV[8])
if untl > h.r then h.r = untl end
flush()
return 1
