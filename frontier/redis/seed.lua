-- Seed: the counts of earlier runs of the job that created the crawl.
-- ARGV[7] = pages done, then host, pages fetched pairs.
redis.call('HINCRBY', META, 'done', tonumber(ARGV[7]))
for i = 8, #ARGV - 1, 2 do
  local h = host(ARGV[i])
  local n = tonumber(ARGV[i + 1])
  h.fet, h.adm = h.fet + n, h.adm + n
end
flush()
return 1
