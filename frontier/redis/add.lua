-- Add (ARGV[7] = '0') or Requeue (ARGV[7] = '1'): entries from ARGV[8] in
-- groups of five (see add). Returns how many were queued.
local n = add(8, ARGV[7] == '1')
flush()
if n > 0 then wake() end
return n
